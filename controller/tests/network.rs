//! The `Router` and `ExtranetLink` controllers end to end against the embedded API server over
//! real HTTPS with real watches, with telemetry stored as the agent listener stores it (each
//! report checked and turned into samples by `agents::report::check_report`, then
//! `store_report`): both members up → `Compliant`; one member down → `Degraded` with a
//! `RedundancyLost` event; both down → `Down`; up again → `Compliant` with `RedundancyRestored`;
//! the agents silent → `Unknown`, and the routers' `Connected` turns `False`. The agents here
//! report every second (the report's own interval decides staleness), so each phase takes
//! seconds.

#![allow(clippy::too_many_lines, clippy::missing_panics_doc)]

use crate::controllers_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use controllers_support::{Harness, eventually};
use govcloud_controller::agents::report::check_report;
use govcloud_crds::api::{LinkCounters, LinkObservation, TelemetryReport};
use govcloud_crds::network::extranet_link::Compliance;
use govcloud_crds::{ExtranetLink, Router};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

/// The interfaces each test agent reports, by router: `true` when up.
type Links = BTreeMap<&'static str, BTreeMap<&'static str, bool>>;

/// Agents that report every second what `links` says, until `silent` is set.
#[derive(Clone, Default)]
struct Agents {
    links: Arc<Mutex<Links>>,
    silent: Arc<Mutex<bool>>,
}

impl Agents {
    fn set(&self, router: &'static str, interface: &'static str, up: bool) {
        let mut links = self.links.lock().expect("links");
        links.entry(router).or_default().insert(interface, up);
    }

    fn silence(&self, silent: bool) {
        *self.silent.lock().expect("silent") = silent;
    }

    /// Reports every second on behalf of every router, as an agent with a 1 s interval.
    fn start(&self, h: &Harness) -> tokio::task::JoinHandle<()> {
        let agents = self.clone();
        let storage = h.storage.clone();
        tokio::spawn(async move {
            let mut sequence = 0_u64;
            let mut bytes = 0_u64;
            loop {
                sequence += 1;
                bytes += 12_500_000; // 100 Mbit/s for a second: 10 % of a gigabit member.
                let links = agents.links.lock().expect("links").clone();
                if !*agents.silent.lock().expect("silent") {
                    for (router, interfaces) in links {
                        let report = report(router, sequence, bytes, &interfaces);
                        let samples = check_report(&report, Utc::now()).expect("a valid report");
                        storage
                            .telemetry()
                            .store_report(&report, Utc::now(), &samples)
                            .await
                            .expect("store the report");
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }
}

fn report(
    router: &str,
    sequence: u64,
    bytes: u64,
    interfaces: &BTreeMap<&'static str, bool>,
) -> TelemetryReport {
    TelemetryReport {
        router: router.to_owned(),
        agent_version: "0.1.0-test".to_owned(),
        sequence,
        observed_at: Utc::now(),
        interval_seconds: 1,
        links: interfaces
            .iter()
            .enumerate()
            .map(|(index, (name, up))| LinkObservation {
                name: (*name).to_owned(),
                index: u32::try_from(index + 2).expect("small"),
                kind: Some("veth".to_owned()),
                oper_state: if *up { "up" } else { "down" }.to_owned(),
                carrier: *up,
                mtu: 1500,
                speed_mbps: Some(1000),
                counters: LinkCounters {
                    rx_bytes: bytes,
                    tx_bytes: bytes / 2,
                    ..LinkCounters::default()
                },
                ..LinkObservation::default()
            })
            .collect(),
        routes: Vec::new(),
        config: None,
    }
}

async fn create_network(h: &Harness) {
    let routers: Api<Router> = Api::all(h.client.clone());
    for router in [
        json!({
            "apiVersion": "govcloud.io/v1alpha1", "kind": "Router",
            "metadata": {"name": "ankang-core"},
            "spec": {
                "displayName": "安康市电子政务外网核心路由器",
                "site": {"level": "City", "divisionCode": "610900", "name": "安康市"},
                "interfaces": [
                    {"name": "cc-hanbin-a", "role": "Downlink"},
                    {"name": "cc-hanbin-b", "role": "Downlink"}
                ],
                "reportIntervalSeconds": 5
            }
        }),
        json!({
            "apiVersion": "govcloud.io/v1alpha1", "kind": "Router",
            "metadata": {"name": "hanbin-core"},
            "spec": {
                "displayName": "汉滨区政务外网汇聚路由器",
                "site": {"level": "County", "divisionCode": "610902", "name": "汉滨区"},
                "upstream": "ankang-core",
                "interfaces": [
                    {"name": "up-a", "role": "Uplink"},
                    {"name": "up-b", "role": "Uplink"}
                ],
                "reportIntervalSeconds": 5
            }
        }),
    ] {
        let router: Router = serde_json::from_value(router).expect("a router");
        routers
            .create(&PostParams::default(), &router)
            .await
            .expect("create a router");
    }
    let link: ExtranetLink = serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "ExtranetLink",
        "metadata": {"name": "cc-hanbin"},
        "spec": {
            "tier": "CityCounty",
            "upstream": {"router": "ankang-core", "members": ["cc-hanbin-a", "cc-hanbin-b"]},
            "downstream": {"router": "hanbin-core", "members": ["up-a", "up-b"]},
            "maxErrorsPerMinute": 5,
            "utilisationWindow": "1h"
        }
    }))
    .expect("a link");
    Api::<ExtranetLink>::all(h.client.clone())
        .create(&PostParams::default(), &link)
        .await
        .expect("create the link");
}

/// Waits until the link's compliance is `compliance`; returns its status.
async fn wait_for(
    h: &Harness,
    compliance: Compliance,
) -> govcloud_crds::network::extranet_link::ExtranetLinkStatus {
    let links: Api<ExtranetLink> = Api::all(h.client.clone());
    eventually(&format!("cc-hanbin to be {compliance:?}"), 30, || {
        let links = links.clone();
        async move {
            let status = links.get("cc-hanbin").await.ok()?.status?;
            (status.compliance == compliance).then_some(status)
        }
    })
    .await
}

/// Waits for an event of `reason` about `name`.
async fn wait_for_event(h: &Harness, name: &str, reason: &str, warning: bool) -> Event {
    let events: Api<Event> = Api::namespaced(h.client.clone(), "default");
    let type_ = if warning { "Warning" } else { "Normal" };
    eventually(&format!("a {reason} event about {name}"), 30, || {
        let events = events.clone();
        async move {
            let list = events.list(&ListParams::default()).await.ok()?;
            list.items.into_iter().find(|e| {
                e.reason.as_deref() == Some(reason)
                    && e.type_.as_deref() == Some(type_)
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
            })
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_compliance_follows_the_members_and_the_agents() {
    let mut h = Harness::start().await;
    create_network(&h).await;
    let agents = Agents::default();
    for (router, interface) in [
        ("ankang-core", "cc-hanbin-a"),
        ("ankang-core", "cc-hanbin-b"),
        ("hanbin-core", "up-a"),
        ("hanbin-core", "up-b"),
    ] {
        agents.set(router, interface, true);
    }
    let reporting = agents.start(&h);
    h.run();

    let compliant = wait_for(&h, Compliance::Compliant).await;
    assert_eq!(compliant.members_up, 2);
    assert_eq!(compliant.contracted_speed_mbps, Some(1000));
    assert_eq!(compliant.members.len(), 4);
    assert!(compliant.reasons.is_empty(), "{:?}", compliant.reasons);
    // Reconciled every second, an unchanged link is not written again (once there are two
    // samples of each member for an error rate).
    let links: Api<ExtranetLink> = Api::all(h.client.clone());
    eventually("error rates of every member", 30, || {
        let links = links.clone();
        async move {
            let status = links.get("cc-hanbin").await.ok()?.status?;
            status
                .members
                .iter()
                .all(|m| m.errors_per_minute == Some(0.0))
                .then_some(())
        }
    })
    .await;
    let version = |link: ExtranetLink| {
        let status = serde_json::to_string_pretty(&link.status).unwrap_or_default();
        (link.metadata.resource_version, status)
    };
    let before = version(links.get("cc-hanbin").await.expect("the link"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = version(links.get("cc-hanbin").await.expect("the link"));
    assert_eq!(
        before.0, after.0,
        "the link's status was rewritten without a change:\n{}\n{}",
        before.1, after.1
    );

    // One member down at the county end: redundancy lost.
    agents.set("hanbin-core", "up-a", false);
    let degraded = wait_for(&h, Compliance::Degraded).await;
    assert_eq!(degraded.members_up, 1);
    assert_eq!(
        degraded.reasons,
        ["member 1 at the downstream end (hanbin-core up-a) is down"]
    );
    let event = wait_for_event(&h, "cc-hanbin", "RedundancyLost", true).await;
    assert!(
        event
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("hanbin-core up-a"),
        "{event:?}"
    );
    // The metrics are set after the status is written.
    let members_up = "govcloud_extranet_link_members_up{link=\"cc-hanbin\"} 1";
    let metrics = eventually("the members-up metric", 30, || async {
        let metrics = h.metrics.render();
        metrics.contains(members_up).then_some(metrics)
    })
    .await;
    assert!(metrics.contains(members_up), "{metrics}");

    // The other member down too, at the city end: the link is down.
    agents.set("ankang-core", "cc-hanbin-b", false);
    let down = wait_for(&h, Compliance::Down).await;
    assert_eq!(down.members_up, 0);
    wait_for_event(&h, "cc-hanbin", "LinkDown", true).await;

    // Both back: compliant again, redundancy restored.
    agents.set("hanbin-core", "up-a", true);
    agents.set("ankang-core", "cc-hanbin-b", true);
    wait_for(&h, Compliance::Compliant).await;
    wait_for_event(&h, "cc-hanbin", "RedundancyRestored", false).await;

    // The routers' status comes from their agents' reports.
    // The router controller writes them, apart from the link controller: wait for them.
    let routers: Api<Router> = Api::all(h.client.clone());
    let status = eventually("hanbin-core's status from its agent", 30, || {
        let routers = routers.clone();
        async move {
            let status = routers.get("hanbin-core").await.ok()?.status?;
            let connected = status
                .conditions
                .iter()
                .any(|c| c.type_ == "Connected" && c.status == "True");
            (connected && status.agent_version.is_some() && status.interfaces.len() == 2)
                .then_some(status)
        }
    })
    .await;
    assert_eq!(status.agent_version.as_deref(), Some("0.1.0-test"));
    assert!(status.last_seen.is_some());
    let names: Vec<&str> = status.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["up-a", "up-b"]);
    assert_eq!(status.interfaces[0].mtu, 1500);
    let connected = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Connected")
        .expect("Connected");
    assert_eq!(connected.status, "True");

    // The agents fall silent: three intervals later nothing is known.
    agents.silence(true);
    let unknown = wait_for(&h, Compliance::Unknown).await;
    assert_eq!(unknown.members_up, 0);
    assert!(
        unknown
            .reasons
            .iter()
            .any(|r| r.contains("no telemetry from the")),
        "{:?}",
        unknown.reasons
    );
    wait_for_event(&h, "cc-hanbin", "TelemetryStale", true).await;
    eventually("hanbin-core to be disconnected", 30, || {
        let routers = routers.clone();
        async move {
            let status = routers.get("hanbin-core").await.ok()?.status?;
            status
                .conditions
                .iter()
                .any(|c| c.type_ == "Connected" && c.status == "False" && c.reason == "AgentSilent")
                .then_some(())
        }
    })
    .await;
    wait_for_event(&h, "hanbin-core", "AgentSilent", true).await;
    // The metrics are set after the statuses are written: wait for all of them.
    let expected = [
        "govcloud_extranet_links{compliance=\"Unknown\",tier=\"CityCounty\"} 1",
        "govcloud_extranet_links{compliance=\"Compliant\",tier=\"CityCounty\"} 0",
        "govcloud_agent_report_interval_seconds{router=\"hanbin-core\"} 1",
    ];
    let metrics = eventually("the metrics of the silent agents", 30, || async {
        let metrics = h.metrics.render();
        (expected.iter().all(|line| metrics.contains(line))
            && !metrics.contains("govcloud_extranet_link_member_up{"))
        .then_some(metrics)
    })
    .await;
    for line in expected {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
    assert!(
        !metrics.contains("govcloud_extranet_link_member_up{"),
        "{metrics}"
    );

    // They come back: compliant, and connected again.
    agents.silence(false);
    wait_for(&h, Compliance::Compliant).await;
    wait_for_event(&h, "hanbin-core", "AgentConnected", false).await;

    reporting.abort();
    h.shutdown().await;
}
