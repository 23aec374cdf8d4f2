//! `govctl ipv6 status` against the real API of local mode (the Ankang seed, the controllers
//! running, no agent reporting): every router counts as a site, none ready, each with why;
//! grouped by county; refused to tokens that are not the city's. The lab's end-to-end test
//! (`agent/tests/lab.rs`) sees sites turn ready once real agents converge.

/// Support shared with govctl's other test files.
mod support {
    pub mod command;
    pub mod local;
    pub mod process;
}

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use govcloud_crds::Router;
use govcloud_crds::api::{Ipv6Status, RouterSummary};
use kube::Api;
use kube::api::ListParams;
use support::command::{issue_token, json, ok, run};
use support::process::Plane;

fn plane() -> &'static Plane {
    static PLANE: OnceLock<Plane> = OnceLock::new();
    PLANE.get_or_init(|| Plane::start("govctl-ipv6-tests").0)
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

#[test]
fn every_router_is_a_site_counted_in_its_county() {
    let home = tempfile::tempdir().expect("home");
    let routers: Vec<RouterSummary> = json(govctl(home.path(), None).args(["router", "list"]));
    let status: Ipv6Status = json(govctl(home.path(), None).args(["ipv6", "status"]));
    assert_eq!(status.total as usize, routers.len());
    let declared = plane()
        .block_on(Api::<Router>::all(plane().local.client.clone()).list(&ListParams::default()))
        .expect("list the routers");
    assert_eq!(status.total as usize, declared.items.len());
    assert_eq!(status.ready, 0, "no agent has reported: {status:?}");
    assert_eq!(status.sites.len(), routers.len());
    assert!(
        status.sites.iter().all(|s| s.reason.is_some()),
        "{status:?}"
    );
    // Each county counts itself and its townships; the counties' totals add up.
    let upstream: BTreeMap<&str, Option<&str>> = routers
        .iter()
        .map(|r| (r.name.as_str(), r.upstream.as_deref()))
        .collect();
    for site in &status.sites {
        let expected = match site.level {
            govcloud_crds::common::SiteLevel::Township => {
                upstream[site.router.as_str()].expect("a township has an upstream")
            }
            _ => site.router.as_str(),
        };
        assert_eq!(site.county, expected, "{site:?}");
    }
    assert_eq!(
        status.counties.iter().map(|c| c.total).sum::<u32>(),
        status.total
    );
    let hanyin = status
        .counties
        .iter()
        .find(|c| c.county == "hanyin-core")
        .expect("hanyin-core is a county");
    let townships = routers
        .iter()
        .filter(|r| r.upstream.as_deref() == Some("hanyin-core"))
        .count();
    assert_eq!(hanyin.total as usize, townships + 1);

    let table = ok(govctl(home.path(), None).args(["ipv6", "status"]));
    assert!(table.starts_with("COUNTY"), "{table}");
    let all = table
        .lines()
        .find(|line| line.starts_with("all "))
        .expect("a total line");
    assert!(
        all.contains(&format!("0/{} (0.0 %)", status.total)),
        "{all}"
    );
    assert!(table.contains("Not ready:"), "{table}");
}

#[test]
fn only_tokens_of_the_city_read_the_rollout() {
    let home = tempfile::tempdir().expect("home");
    let department = issue_token(
        &mut govctl(home.path(), None),
        "city-finance",
        "viewer",
        "finance clerk",
    )
    .token;
    let (code, _, stderr) = run(govctl(home.path(), Some(&department)).args(["ipv6", "status"]));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("read with a token of a root tenant"),
        "{stderr}"
    );
}
