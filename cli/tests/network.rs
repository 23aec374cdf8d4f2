//! `govctl router list|show` and `govctl link list|show` against the real API of local mode
//! (the Ankang seed, the controllers running), started once for the whole file. Two routers'
//! agents report (stored as the agent listener stores reports), so `cc-hanbin` turns
//! `Compliant` while the other links stay `Unknown`; tables, JSON, filters, and refusals for
//! tokens that are not the city's.

/// Support shared with govctl's other test files.
mod support {
    pub mod command;
    pub mod local;
    pub mod process;
}

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::Utc;
use govcloud_controller::agents::report::check_report;
use govcloud_crds::Router;
use govcloud_crds::api::{
    LinkCounters, LinkObservation, LinkSummary, LinkView, RouterView, TelemetryReport,
};
use govcloud_crds::network::extranet_link::Compliance;
use kube::Api;
use kube::api::{Patch, PatchParams};
use support::command::{issue_token, json, ok, run};
use support::process::Plane;

/// Local mode with the Ankang seed, where `ankang-core` and `hanbin-core` have reported, and
/// `cc-hanbin` between them is `Compliant`.
fn plane() -> &'static Plane {
    static PLANE: OnceLock<Plane> = OnceLock::new();
    PLANE.get_or_init(|| {
        let plane = Plane::start("govctl-network-tests").0;
        report(&plane, "ankang-core", &["cc-hanbin-a", "cc-hanbin-b"]);
        report(&plane, "hanbin-core", &["up-a", "up-b"]);
        plane
    })
}

/// Stores one report of `router` (every interface up, an hour's interval so that it stays
/// fresh during the tests) as the agent listener would, then touches the router so that its
/// links are evaluated now rather than at their next requeue.
fn report(plane: &Plane, router: &str, interfaces: &[&str]) {
    let report = TelemetryReport {
        router: router.to_owned(),
        agent_version: "0.1.0-test".to_owned(),
        sequence: 1,
        observed_at: Utc::now(),
        interval_seconds: 3600,
        links: interfaces
            .iter()
            .zip(2..)
            .map(|(name, index)| LinkObservation {
                name: (*name).to_owned(),
                index,
                oper_state: "up".to_owned(),
                carrier: true,
                mtu: 1500,
                speed_mbps: Some(1000),
                counters: LinkCounters::default(),
                ..LinkObservation::default()
            })
            .collect(),
        routes: Vec::new(),
        config: None,
    };
    let samples = check_report(&report, Utc::now()).expect("a valid report");
    let storage = &plane.local.operator.storage;
    plane
        .block_on(
            storage
                .telemetry()
                .store_report(&report, Utc::now(), &samples),
        )
        .expect("store the report");
    let routers: Api<Router> = Api::all(plane.local.client.clone());
    let touch =
        serde_json::json!({"metadata": {"annotations": {"test.govcloud.io/reported": "yes"}}});
    plane
        .block_on(routers.patch(router, &PatchParams::default(), &Patch::Merge(&touch)))
        .expect("touch the router");
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

/// Waits until `cc-hanbin` is compliant; returns it.
fn compliant_link(home: &Path) -> LinkView {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let link: LinkView = json(govctl(home, None).args(["link", "show", "cc-hanbin"]));
        if link.summary.compliance == Compliance::Compliant {
            return link;
        }
        assert!(Instant::now() < deadline, "cc-hanbin stays {link:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn links_show_their_compliance_in_tables_and_json() {
    let home = tempfile::tempdir().expect("home");
    let link = compliant_link(home.path());
    assert_eq!(link.summary.members_up, 2);
    assert_eq!(link.members.len(), 4);
    let shown = ok(govctl(home.path(), None).args(["link", "show", "cc-hanbin"]));
    for expected in [
        "Tier:             CityCounty (2 × 1000 Mbit/s)",
        "Compliance:       Compliant",
        "Members up:       2/2",
        "upstream    ankang-core  cc-hanbin-a  yes",
        "downstream  hanbin-core  up-b         yes",
    ] {
        assert!(shown.contains(expected), "missing {expected:?} in\n{shown}");
    }
    let listed = ok(govctl(home.path(), None).args(["link", "list"]));
    let row = listed
        .lines()
        .find(|line| line.starts_with("cc-hanbin "))
        .expect("cc-hanbin listed");
    assert!(row.contains("2/2") && row.contains("Compliant"), "{row}");
    assert!(
        listed.ends_with("151 links: 1 compliant, 0 degraded, 0 down, 150 unknown.\n"),
        "{listed}"
    );
    let unknown: Vec<LinkSummary> =
        json(govctl(home.path(), None).args(["link", "list", "--compliance", "Unknown"]));
    assert_eq!(unknown.len(), 150);
    let at_hanbin: Vec<LinkSummary> =
        json(govctl(home.path(), None).args(["link", "list", "--router", "hanbin-core"]));
    assert!(at_hanbin.iter().any(|l| l.name == "cc-hanbin"));
    assert!(
        at_hanbin
            .iter()
            .all(|l| l.upstream == "hanbin-core" || l.downstream == "hanbin-core")
    );
    let started = Instant::now();
    while json::<LinkView>(govctl(home.path(), None).args(["link", "show", "ct-hanyin-t01"]))
        .last_evaluated
        .is_none()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never evaluated"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let stale = ok(govctl(home.path(), None).args(["link", "show", "ct-hanyin-t01"]));
    assert!(stale.contains("Compliance:       Unknown"), "{stale}");
    assert!(stale.contains("its agent has never reported"), "{stale}");
}

#[test]
fn routers_show_their_agents() {
    let home = tempfile::tempdir().expect("home");
    compliant_link(home.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    let router = loop {
        let router: RouterView =
            json(govctl(home.path(), None).args(["router", "show", "hanbin-core"]));
        if router.summary.connected == Some(true) {
            break router;
        }
        assert!(Instant::now() < deadline, "hanbin-core stays {router:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(router.summary.agent_version.as_deref(), Some("0.1.0-test"));
    assert!(router.links.contains(&"cc-hanbin".to_owned()));
    let shown = ok(govctl(home.path(), None).args(["router", "show", "hanbin-core"]));
    for expected in [
        "Connected:        yes",
        "Agent:            0.1.0-test",
        "up-a       Uplink",
    ] {
        assert!(shown.contains(expected), "missing {expected:?} in\n{shown}");
    }
    let listed = ok(govctl(home.path(), None).args(["router", "list"]));
    assert!(listed.starts_with("ROUTER"), "{listed}");
    let hanbin = listed
        .lines()
        .find(|line| line.starts_with("hanbin-core "))
        .expect("hanbin-core listed");
    assert!(
        hanbin.contains("County") && hanbin.contains("yes"),
        "{hanbin}"
    );
    let silent = listed
        .lines()
        .find(|line| line.starts_with("hanyin-core "))
        .expect("hanyin-core listed");
    assert!(silent.contains("never reported"), "{silent}");
}

#[test]
fn only_tokens_of_the_city_read_the_network_and_mistakes_have_exit_codes() {
    let home = tempfile::tempdir().expect("home");
    let department = issue_token(
        &mut govctl(home.path(), None),
        "city-finance",
        "viewer",
        "finance clerk",
    )
    .token;
    for args in [["link", "list"], ["router", "list"]] {
        let (code, _, stderr) = run(govctl(home.path(), Some(&department)).args(args));
        assert_eq!(code, 3, "{stderr}");
        assert!(
            stderr.contains("read with a token of a root tenant"),
            "{stderr}"
        );
    }
    let (code, _, stderr) = run(govctl(home.path(), None).args(["link", "show", "nope"]));
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("failed to show extranet link nope"),
        "{stderr}"
    );
    let (code, _, stderr) =
        run(govctl(home.path(), None).args(["link", "list", "--compliance", "degraded"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not a compliance"), "{stderr}");
}
