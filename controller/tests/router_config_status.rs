//! The `Router` controller's configuration status end to end, against the embedded API server
//! with real watches: the generation served (`router_configs`) and what the agent reports of
//! applying it (`TelemetryReport.config`, stored with the latest report) become
//! `desiredConfigGeneration`, `appliedConfigGeneration`, `drift`, `ConfigApplied` and
//! `Ipv6Ready`, with events and metrics — and the controller's server-side apply never claims
//! the prefix another field manager wrote.

#![allow(clippy::too_many_lines, clippy::missing_panics_doc)]

use crate::controllers_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use controllers_support::{Harness, eventually};
use govcloud_core::routing::etag::{canonical_json, etag};
use govcloud_crds::Router;
use govcloud_crds::api::{
    ConfigReport, LinkObservation, NextHopConfig, ProbeConfig, ProbeResult, RouteConfig,
    RouteSummary, RouterConfig, TelemetryReport,
};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

const COUNTY: &str = "hanyin-core";
const TARGET: &str = "2001:db8:a00:1::1";

/// Records the county's configuration with `addresses` addresses and a route to the pool over
/// two uplinks; returns its generation.
async fn serve(h: &Harness, addresses: usize) -> i64 {
    let config = RouterConfig {
        router: COUNTY.to_owned(),
        generation: 0,
        addresses: (0..addresses)
            .map(|i| govcloud_crds::api::AddressConfig {
                interface: "lan0".to_owned(),
                address: format!("2001:db8:a00:10{i}::1/64"),
            })
            .collect(),
        routes: vec![RouteConfig {
            destination: "2001:db8:a00::/48".to_owned(),
            next_hops: ["up0", "up1"]
                .iter()
                .zip(["2001:db8:a00:1f0::1", "2001:db8:a00:1f1::1"])
                .map(|(interface, via)| NextHopConfig {
                    via: via.parse().expect("address"),
                    interface: (*interface).to_owned(),
                })
                .collect(),
        }],
        probes: vec![ProbeConfig {
            name: "city-lan".to_owned(),
            target: TARGET.parse().expect("address"),
            source: None,
        }],
        ..RouterConfig::default()
    };
    h.storage
        .router_configs()
        .record(COUNTY, &etag(&config), &canonical_json(&config), Utc::now())
        .await
        .expect("record")
        .config
        .generation
}

/// What the test's agent reports: its configuration report, and the kernel it observes —
/// the addresses on `lan0` and how many routes of the agent's protocol the main table holds.
#[derive(Clone, Default)]
struct Reported {
    config: ConfigReport,
    lan: Vec<String>,
    routes: u64,
}

/// An agent reporting every second what `reported` holds.
fn agent(h: &Harness, reported: Arc<Mutex<Reported>>) -> tokio::task::JoinHandle<()> {
    let storage = h.storage.clone();
    tokio::spawn(async move {
        for sequence in 1_u64.. {
            let now = reported.lock().expect("reported").clone();
            let report = TelemetryReport {
                router: COUNTY.to_owned(),
                agent_version: "0.1.0-test".to_owned(),
                sequence,
                observed_at: Utc::now(),
                interval_seconds: 1,
                links: vec![LinkObservation {
                    name: "lan0".to_owned(),
                    index: 2,
                    oper_state: "up".to_owned(),
                    carrier: true,
                    mtu: 1500,
                    addresses: now.lan,
                    ..LinkObservation::default()
                }],
                routes: vec![RouteSummary {
                    table: 254,
                    family: "inet6".to_owned(),
                    routes: now.routes + 2,
                    has_default: false,
                    by_protocol: [("kernel".to_owned(), 2), ("241".to_owned(), now.routes)].into(),
                }],
                config: Some(now.config),
            };
            storage
                .telemetry()
                .store_report(&report, Utc::now(), &[])
                .await
                .expect("store the report");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

fn condition(router: &Router, kind: &str) -> Option<(String, String, String)> {
    let condition = router
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == kind)?;
    Some((
        condition.status.clone(),
        condition.reason.clone(),
        condition.message.clone(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_status_follows_what_is_served_and_what_the_agent_applies() {
    let mut h = Harness::start().await;
    let routers: Api<Router> = Api::all(h.client.clone());
    for (name, level, upstream) in [
        ("ankang-core", "City", None),
        (COUNTY, "County", Some("ankang-core")),
    ] {
        let router: Router = serde_json::from_value(json!({
            "apiVersion": "govcloud.io/v1alpha1", "kind": "Router",
            "metadata": {"name": name},
            "spec": {
                "displayName": name,
                "site": {"level": level, "divisionCode": "610921", "name": name},
                "upstream": upstream,
                "interfaces": [{"name": "lan0", "role": "Lan"}],
                "reportIntervalSeconds": 5
            }
        }))
        .expect("a router");
        routers
            .create(&PostParams::default(), &router)
            .await
            .expect("create");
    }
    // The prefix, as the address pool controller writes it: under its own field manager.
    routers
        .patch_status(
            COUNTY,
            &PatchParams::apply("test-address-pool-controller").force(),
            &Patch::Apply(json!({
                "apiVersion": "govcloud.io/v1alpha1", "kind": "Router",
                "status": {"prefix": "2001:db8:a00:100::/56"}
            })),
        )
        .await
        .expect("write the prefix");
    assert_eq!(serve(&h, 1).await, 1);
    let report = Arc::new(Mutex::new(Reported {
        config: ConfigReport {
            applied_generation: Some(1),
            attempted_generation: Some(1),
            probes: vec![ProbeResult {
                name: "city-lan".to_owned(),
                target: TARGET.parse().expect("address"),
                reachable: true,
            }],
            ..ConfigReport::default()
        },
        lan: vec!["2001:db8:a00:100::1/64".to_owned()],
        routes: 1,
    }));
    let reporting = agent(&h, report.clone());
    h.run();

    // Readiness, the generations and `ConfigApplied`: everything asserted below, in one snapshot.
    let ready = eventually(
        "hanyin-core IPv6-ready with generation 1 applied",
        30,
        || async {
            let router = routers.get(COUNTY).await.ok()?;
            let status = router.status.as_ref()?;
            let settled = condition(&router, "Ipv6Ready")?.0 == "True"
                && condition(&router, "ConfigApplied")?.1 == "Applied"
                && status.desired_config_generation == Some(1)
                && status.applied_config_generation == Some(1);
            settled.then_some(router)
        },
    )
    .await;
    let status = ready.status.clone().expect("status");
    assert_eq!(status.desired_config_generation, Some(1));
    assert_eq!(status.applied_config_generation, Some(1));
    assert_eq!(
        condition(&ready, "ConfigApplied").expect("ConfigApplied"),
        (
            "True".to_owned(),
            "Applied".to_owned(),
            "generation 1 applied".to_owned()
        )
    );
    assert_eq!(
        status
            .prefix
            .as_ref()
            .map(govcloud_crds::common::Prefix::as_str),
        Some("2001:db8:a00:100::/56")
    );
    // The controller's apply holds no prefix: the other manager still owns it alone.
    let managers = ready.metadata.managed_fields.clone().unwrap_or_default();
    let ours = managers
        .iter()
        .find(|m| m.manager.as_deref() == Some("govcloud-router-controller"))
        .expect("the router controller's entry");
    let ours = serde_json::to_string(&ours.fields_v1).expect("json");
    assert!(!ours.contains("f:prefix"), "{ours}");
    assert!(ours.contains("f:desiredConfigGeneration"), "{ours}");
    // The readiness and the configuration metrics are set by different reconciles: wait for
    // all of them.
    let lines = [
        "govcloud_ipv6_sites{county=\"hanyin-core\",ready=\"true\"} 1",
        "govcloud_router_config_generation_lag{router=\"hanyin-core\"} 0",
        "govcloud_routers_with_drift 0",
    ];
    eventually("the readiness and configuration metrics", 10, || async {
        let text = h.metrics.render();
        lines.iter().all(|line| text.contains(line)).then_some(())
    })
    .await;
    // The city is reconciled apart from the county: wait for its own condition.
    let city = eventually("ankang-core's ConfigApplied", 30, || async {
        let city = routers.get("ankang-core").await.ok()?;
        condition(&city, "ConfigApplied").is_some().then_some(city)
    })
    .await;
    assert_eq!(
        condition(&city, "ConfigApplied").map(|c| c.1),
        Some("NotServed".to_owned())
    );

    // Someone deletes the route: drift, and the site is no longer ready, naming what is
    // missing; counted.
    {
        let mut reported = report.lock().expect("report");
        reported.config.drift = vec!["route 2001:db8:a00::/48 missing".to_owned()];
        reported.routes = 0;
    }
    let drifting = eventually(
        "hanyin-core drifting with its route missing",
        30,
        || async {
            let router = routers.get(COUNTY).await.ok()?;
            let (status, reason, message) = condition(&router, "Ipv6Ready")?;
            let drift = !router.status.as_ref()?.drift.is_empty();
            (status == "False" && reason == "RouteMissing" && drift)
                .then_some((reason, message, router))
        },
    )
    .await;
    assert_eq!(drifting.0, "RouteMissing");
    assert_eq!(drifting.1, "0 of 1 routes installed");
    assert_eq!(
        drifting.2.status.expect("status").drift,
        ["route 2001:db8:a00::/48 missing"]
    );
    eventually("the drift metric", 10, || async {
        h.metrics
            .render()
            .contains("govcloud_routers_with_drift 1")
            .then_some(())
    })
    .await;

    // A new generation served: applied lags behind until the agent reports it.
    {
        let mut reported = report.lock().expect("report");
        reported.config.drift.clear();
        reported.routes = 1;
    }
    assert_eq!(serve(&h, 2).await, 2);
    let pending = eventually("generation 2 pending", 30, || async {
        let router = routers.get(COUNTY).await.ok()?;
        let applied = condition(&router, "ConfigApplied")?;
        (applied.1 == "Pending").then_some(applied.2)
    })
    .await;
    assert_eq!(pending, "generation 1 of 2 applied");
    eventually("the lag metric", 10, || async {
        h.metrics
            .render()
            .contains("govcloud_router_config_generation_lag{router=\"hanyin-core\"} 1")
            .then_some(())
    })
    .await;
    {
        let mut reported = report.lock().expect("report");
        reported.config.applied_generation = Some(2);
        reported.lan.push("2001:db8:a00:101::1/64".to_owned());
    }
    eventually("generation 2 applied", 30, || async {
        let router = routers.get(COUNTY).await.ok()?;
        let applied = router.status.as_ref()?.applied_config_generation;
        (condition(&router, "Ipv6Ready")?.0 == "True" && applied == Some(2)).then_some(())
    })
    .await;
    reporting.abort();

    // A deleted router's served configuration is forgotten; the others' are kept.
    routers
        .delete(COUNTY, &kube::api::DeleteParams::default())
        .await
        .expect("delete the county's router");
    let forgotten =
        govcloud_controller::network::runtime::forget_deleted_router_configs(&h.client, &h.storage)
            .await
            .expect("forget");
    assert_eq!(forgotten, [COUNTY]);
    assert!(
        h.storage
            .router_configs()
            .find(COUNTY)
            .await
            .expect("read")
            .is_none()
    );
    h.shutdown().await;
}
