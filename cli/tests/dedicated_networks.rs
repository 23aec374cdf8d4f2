//! `govctl network list|show` against the real API of local mode (the Ankang seed, the
//! controllers running), started once for the whole file: the consolidation controller gives
//! each seeded dedicated network its disposition and phase (the retired `samr-legacy-vpn`,
//! confirmed, is decommissioned with its savings; `medins-net` gets VLAN 210 at `ankang-core`,
//! pinned); tables with the total savings, JSON, and a department that sees only its own.

/// Support shared with govctl's other test files.
#[allow(dead_code)] // not every suite uses every part of the support
mod support {
    pub mod command;
    pub mod local;
    pub mod process;
}

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use govcloud_crds::api::{DedicatedNetworkSummary, DedicatedNetworkView};
use govcloud_crds::network::dedicated_network::{ConsolidationPhase, Disposition};
use support::command::{issue_token, json, ok, run};
use support::process::Plane;

fn plane() -> &'static Plane {
    static PLANE: OnceLock<Plane> = OnceLock::new();
    PLANE.get_or_init(|| Plane::start("govctl-dedicated-network-tests").0)
}

/// `govctl` with local mode's settings (the root operations token), or `token` instead.
fn govctl(home: &Path, token: Option<&str>) -> Command {
    let plane = plane();
    let mut command = support::command::govctl(home);
    command.arg("--config").arg(&plane.local.govctl_config);
    if let Some(token) = token {
        command.env("GOVCTL_TOKEN", token);
    }
    command
}

/// Waits until `name` passes `check`; returns it.
fn network_until(
    home: &Path,
    name: &str,
    check: impl Fn(&DedicatedNetworkView) -> bool,
) -> DedicatedNetworkView {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let network: DedicatedNetworkView =
            json(govctl(home, None).args(["network", "show", name]));
        if check(&network) {
            return network;
        }
        assert!(Instant::now() < deadline, "{name} stays {network:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn networks_show_their_consolidation_and_the_savings() {
    let home = tempfile::tempdir().expect("home");
    let samr = network_until(home.path(), "samr-legacy-vpn", |n| {
        n.summary.phase == ConsolidationPhase::Decommissioned
    });
    assert_eq!(samr.summary.disposition, Some(Disposition::Retire));
    assert_eq!(samr.summary.annual_savings_yuan, Some(120_000));
    assert!(samr.decommissioned_at.is_some());
    let medins = network_until(home.path(), "medins-net", |n| {
        n.sites.first().is_some_and(|s| s.vlan_id.is_some())
    });
    assert_eq!(medins.sites[0].router, "ankang-core");
    assert_eq!(medins.sites[0].vlan_id, Some(210));
    assert_eq!(
        medins.summary.disposition,
        Some(Disposition::MigrateToExtranet)
    );

    // Each network is reconciled apart: poll the listing until the rows asserted below show
    // their status (police-video-net's disposition, the savings).
    let total = "8 dedicated networks, 1 decommissioned: annual savings 120,000 yuan of 6,340,000 \
                 yuan.\n";
    let deadline = Instant::now() + Duration::from_secs(60);
    let listed = loop {
        let listed = ok(govctl(home.path(), None).args(["network", "list"]));
        let police_shown = listed.lines().any(|line| {
            line.starts_with("police-video-net ") && line.contains("MigrateToIntranet")
        });
        if police_shown && listed.ends_with(total) {
            break listed;
        }
        assert!(Instant::now() < deadline, "the listing stays\n{listed}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let lines: Vec<&str> = listed.lines().collect();
    assert!(
        lines[0].starts_with("NETWORK ")
            && lines[0].contains("DEPARTMENT")
            && lines[0].contains("DISPOSITION")
            && lines[0].ends_with("SAVINGS"),
        "{listed}"
    );
    let row = |name: &str| {
        lines
            .iter()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not listed in\n{listed}"))
            .to_string()
    };
    let samr_row = row("samr-legacy-vpn");
    assert!(
        samr_row.contains("Retire")
            && samr_row.contains("Decommissioned")
            && samr_row.matches("120,000 yuan").count() == 2,
        "{samr_row}"
    );
    let police = row("police-video-net");
    assert!(
        police.contains("Classified") && police.contains("MigrateToIntranet"),
        "{police}"
    );
    assert!(listed.ends_with(total), "{listed}");
    let all: Vec<DedicatedNetworkSummary> =
        json(govctl(home.path(), None).args(["network", "list"]));
    assert_eq!(all.len(), 8);

    let shown = ok(govctl(home.path(), None).args(["network", "show", "medins-net"]));
    for expected in [
        "Department:      city-medins",
        "Disposition:     MigrateToExtranet",
        "Annual cost:     1,260,000 yuan",
        "Old network:     Mpls, 100 Mbit/s",
        "ankang-core    vlan210",
        "CutoverComplete",
    ] {
        assert!(shown.contains(expected), "missing {expected:?} in\n{shown}");
    }
}

#[test]
fn a_department_sees_only_its_own_networks() {
    let home = tempfile::tempdir().expect("home");
    let medins = issue_token(
        &mut govctl(home.path(), None),
        "city-medins",
        "viewer",
        "medins clerk",
    )
    .token;
    let own: Vec<DedicatedNetworkSummary> =
        json(govctl(home.path(), Some(&medins)).args(["network", "list"]));
    let names: Vec<&str> = own.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["medins-net"]);
    ok(govctl(home.path(), Some(&medins)).args(["network", "show", "medins-net"]));
    let (code, _, stderr) =
        run(govctl(home.path(), Some(&medins)).args(["network", "show", "hrss-net"]));
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("failed to show dedicated network hrss-net"),
        "{stderr}"
    );
    let (code, _, stderr) = run(govctl(home.path(), None).args(["network", "show", "nope"]));
    assert_eq!(code, 4, "{stderr}");
}
