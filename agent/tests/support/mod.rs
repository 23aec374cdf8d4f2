//! Helpers of the agent's namespace tests: network namespaces the test makes and always deletes,
//! `ip` in them, and the project's skip rule.

#![allow(dead_code)] // each test binary uses a different part

pub mod netns;

use govcloud_tests::require;

pub use netns::Namespace;

/// Whether the test can run: it needs root (to make namespaces) and `ip`. Otherwise it skips with
/// the reason printed, or fails when `GOVCLOUD_REQUIRE_ALL=1`.
pub fn can_make_namespaces(test: &str) -> bool {
    if !require::is_root() {
        require::skip(test, "making network namespaces needs root");
        return false;
    }
    let ip = std::process::Command::new("ip").arg("-V").output();
    if !ip.is_ok_and(|output| output.status.success()) {
        require::skip(test, "the `ip` command (iproute2) is not installed");
        return false;
    }
    true
}
