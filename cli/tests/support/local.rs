//! Starting local mode for a test: the embedded API server, the controllers and their API on
//! free loopback ports, with the Ankang seed or none.

use std::path::Path;

use govcloud_controller::local::{self, LocalControlPlane, LocalOptions};
use govcloud_tests::workspace_root;

/// Starts local mode in `data_dir` on free loopback ports, with the Ankang seed or none.
pub async fn start_local(data_dir: &Path, seed: bool) -> LocalControlPlane {
    local::start(&LocalOptions {
        data_dir: data_dir.to_path_buf(),
        seed: seed.then(|| workspace_root().join("examples/ankang")),
        api_address: "127.0.0.1:0".parse().expect("address"),
        controller_api_address: "127.0.0.1:0".parse().expect("address"),
        metrics_address: "127.0.0.1:0".parse().expect("address"),
        agent_api_address: "127.0.0.1:0".parse().expect("address"),
        telemetry_retention: govcloud_controller::network::retention::DEFAULT_RETENTION,
        operations_tenant: None,
        audit_log: None,
    })
    .await
    .expect("start local mode")
}
