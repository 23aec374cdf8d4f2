//! The network lab end to end: five routers as network namespaces joined by veth
//! pairs, local mode with the Ankang seed, each router enrolled through the controller's API and
//! one real `govcloud-agent run` per router, observing its namespace and reporting over mutual
//! TLS. Every link becomes `Compliant`; one member down makes it `Degraded`, both `Down`, both
//! up again `Compliant`; a stopped agent makes its links `Unknown`; and while the controller is
//! stopped the agents spool, so no report is missing once it is back. Needs root (skips with a
//! reason otherwise, fails under `GOVCLOUD_REQUIRE_ALL=1`); touches only its own namespaces.

#![allow(clippy::too_many_lines)]

mod lab_support;

use std::time::{Duration, Instant};

use govcloud_crds::network::extranet_link::Compliance;
use govcloud_crds::{ExtranetLink, Router};
use govcloud_tests::lab::{Lab, Topology};
use govcloud_tests::workspace_root;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{ListParams, PostParams};
use lab_support::{Agents, enroll, spawn_agent, start_plane};

/// The agents' reporting interval in the lab, in seconds.
const INTERVAL: u64 = 1;

/// Waits until every link in `expected` has its compliance; panics after `seconds`, naming what
/// each link showed last.
async fn wait_for(
    links: &Api<ExtranetLink>,
    expected: &[(&str, Compliance)],
    seconds: u64,
    what: &str,
) -> Duration {
    let started = Instant::now();
    let mut last = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        last.clear();
        let mut all = true;
        for (name, compliance) in expected {
            let link = links.get(name).await.expect("the link");
            let status = link.status.unwrap_or_default();
            all &= status.compliance == *compliance;
            last.push(format!(
                "{name}: {:?} {:?}",
                status.compliance, status.reasons
            ));
        }
        if all {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out after {seconds} s waiting for {what}; last seen: {last:#?}");
}

/// When the controller announced `reason` about `name` (the event's own time, which it takes as
/// it publishes the event, after writing the status); waits up to 30 s for the event.
async fn announced(client: &kube::Client, name: &str, reason: &str) -> Timestamp {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let started = Instant::now();
    loop {
        let list = events.list(&ListParams::default()).await.expect("events");
        let found = list.items.into_iter().find_map(|event| {
            let about = event.regarding.as_ref()?.name.as_deref() == Some(name);
            (about && event.reason.as_deref() == Some(reason)).then_some(event.event_time?.0)
        });
        if let Some(at) = found {
            return at;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no {reason} event about {name}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_follow_their_members_and_no_report_is_lost_while_the_controller_is_away() {
    if !govcloud_tests::require::is_root() {
        govcloud_tests::require::skip(
            "links_follow_their_members_and_no_report_is_lost_while_the_controller_is_away",
            "the lab creates network namespaces, which needs root",
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let seed = workspace_root().join("examples/ankang");
    let mut plane = start_plane(&data, &seed, "127.0.0.1:0".parse().expect("address")).await;
    let agent_api = plane.operator.agent_api.address;
    let topology = Topology::ankang();
    for object in topology.objects(5) {
        let kind = object["kind"].as_str().expect("a kind").to_owned();
        if kind == "Router" {
            let router: Router = serde_json::from_value(object).expect("a Router");
            Api::<Router>::all(plane.client.clone())
                .create(&PostParams::default(), &router)
                .await
                .expect("create the Router");
        } else {
            let link: ExtranetLink = serde_json::from_value(object).expect("a link");
            Api::<ExtranetLink>::all(plane.client.clone())
                .create(&PostParams::default(), &link)
                .await
                .expect("create the link");
        }
    }
    let lab = Lab::up(topology.clone(), &format!("gcl{}", std::process::id())).expect("the lab");
    let mut agents = Agents::default();
    // The city's agent serves its own metrics on a free loopback port.
    let city_metrics = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    for router in &topology.routers {
        let metrics = if router.name == "lab-city" {
            format!("metrics_address = \"{city_metrics}\"\n")
        } else {
            String::new()
        };
        let config = enroll(
            &plane,
            dir.path(),
            &router.name,
            &lab.namespace_of(&router.name),
            INTERVAL,
            &metrics,
        )
        .await;
        let log = dir.path().join(format!("{}.log", router.name));
        agents
            .children
            .push((router.name.clone(), spawn_agent(&config, &log)));
    }
    let links: Api<ExtranetLink> = Api::all(plane.client.clone());
    let names: Vec<String> = topology.links.iter().map(|l| l.name.clone()).collect();
    let all = |compliance| {
        names
            .iter()
            .map(|n| (n.as_str(), compliance))
            .collect::<Vec<_>>()
    };
    wait_for(
        &links,
        &all(Compliance::Compliant),
        60,
        "every link to be Compliant",
    )
    .await;

    // One member of the city–Hanbin link down at the city: redundancy lost.
    let link = &topology.links[0];
    let down_at = Timestamp::now();
    lab.set_link(&link.upstream, &link.upstream_members[0], false)
        .expect("set a member down");
    let observed = wait_for(
        &links,
        &[(link.name.as_str(), Compliance::Degraded)],
        30,
        "Degraded",
    )
    .await;
    // Timed by the controller's own announcement (its `RedundancyLost` event, published once the
    // status is written), not by when this test's polling, on a loaded machine, got to see it.
    let at = announced(&plane.client, &link.name, "RedundancyLost").await;
    let took = Duration::try_from(at.duration_since(down_at)).unwrap_or_default();
    eprintln!(
        "Degraded {took:?} after the member went down, observed after {observed:?} (interval \
         {INTERVAL} s)"
    );
    // Within three intervals, with a second's grace for the reconcile to run.
    assert!(
        took <= Duration::from_secs(3 * INTERVAL + 1),
        "Degraded only after {took:?}"
    );
    lab.set_link(&link.upstream, &link.upstream_members[1], false)
        .expect("set the other member down");
    wait_for(
        &links,
        &[(link.name.as_str(), Compliance::Down)],
        30,
        "Down",
    )
    .await;
    for member in &link.upstream_members {
        lab.set_link(&link.upstream, member, true)
            .expect("set a member up");
    }
    wait_for(
        &links,
        &[(link.name.as_str(), Compliance::Compliant)],
        30,
        "Compliant again",
    )
    .await;

    // An agent stops: its links are Unknown.
    let township = &topology.links[3];
    agents.stop(&township.downstream);
    wait_for(
        &links,
        &[(township.name.as_str(), Compliance::Unknown)],
        30,
        "Unknown",
    )
    .await;

    // The controller stops for a while; the agents spool, and nothing is missing afterwards.
    let before = plane
        .operator
        .storage
        .telemetry()
        .report_sequences("lab-city")
        .await
        .expect("sequences");
    plane.shutdown().await;
    tokio::time::sleep(Duration::from_secs(4 * INTERVAL)).await;
    plane = start_plane(&data, &seed, agent_api).await;
    let sequences = {
        let started = Instant::now();
        loop {
            let sequences = plane
                .operator
                .storage
                .telemetry()
                .report_sequences("lab-city")
                .await
                .expect("sequences");
            // The reports spooled while away (at least three) are all in.
            if sequences.len() >= before.len() + 3 || started.elapsed() > Duration::from_secs(30) {
                break sequences;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let expected: Vec<u64> = (1..=sequences.len() as u64).collect();
    assert_eq!(sequences, expected, "every report, in order, once");
    assert!(
        sequences.len() >= before.len() + 3,
        "{} reports before the stop, {} after",
        before.len(),
        sequences.len()
    );
    let alive: Vec<(&str, Compliance)> = names[..3]
        .iter()
        .map(|n| (n.as_str(), Compliance::Compliant))
        .collect();
    let links: Api<ExtranetLink> = Api::all(plane.client.clone());
    wait_for(
        &links,
        &alive,
        60,
        "the links with running agents to be Compliant again",
    )
    .await;
    // The agent's own metrics saw the controller go away and come back.
    let text = reqwest::get(format!("http://{city_metrics}/metrics"))
        .await
        .expect("the agent's metrics")
        .text()
        .await
        .expect("a body");
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series).map(str::trim))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{series} missing from {text}"))
    };
    assert!(value("govcloud_agent_reports_total{outcome=\"stored\"}") >= 1.0);
    assert!(value("govcloud_agent_reports_total{outcome=\"unreachable\"}") >= 1.0);
    assert!(value("govcloud_agent_spool_dropped_total") == 0.0);
    drop(agents);
    lab.down().expect("tear the lab down");
    plane.shutdown().await;
}
