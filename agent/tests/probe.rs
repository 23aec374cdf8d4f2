//! The ICMPv6 reachability probes against the real kernel, in fresh network namespaces joined by a
//! veth pair (addresses added with `nodad`, so they are usable at once): a neighbour answers; an
//! address nobody has, or a prefix without a route, is unreachable within the timeout; a source
//! address the router does not have is an error naming it. The probes run from the test's own
//! namespace into the router's, as the agent does with `netns`. Needs root (skips with a reason
//! otherwise, fails under `GOVCLOUD_REQUIRE_ALL=1`).

use crate::support;

use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use govcloud_agent::probe::{self, ProbeOptions};
use govcloud_crds::api::ProbeConfig;
use support::Namespace;

const NEAR: &str = "2001:db8:7::1";
const FAR: &str = "2001:db8:7::2";

/// Two namespaces, `near` (the router the agent observes) and `far`, joined by a veth pair.
fn pair() -> (Namespace, Namespace) {
    let near = Namespace::create("gcprobe");
    let far = Namespace::create("gcprobe");
    near.ip(&[
        "link",
        "add",
        "veth0",
        "type",
        "veth",
        "peer",
        "name",
        "veth1",
        "netns",
        far.name(),
    ]);
    near.ip(&[
        "address",
        "add",
        &format!("{NEAR}/64"),
        "dev",
        "veth0",
        "nodad",
    ]);
    far.ip(&[
        "address",
        "add",
        &format!("{FAR}/64"),
        "dev",
        "veth1",
        "nodad",
    ]);
    near.ip(&["link", "set", "veth0", "up"]);
    far.ip(&["link", "set", "veth1", "up"]);
    // The global addresses skip DAD (`nodad`), the link-local ones do not: until theirs is done,
    // neighbour discovery on the link is slow to answer.
    let deadline = Instant::now() + Duration::from_secs(10);
    while [&near, &far].iter().any(|namespace| {
        !namespace
            .ip(&["-6", "address", "show", "tentative"])
            .trim()
            .is_empty()
    }) {
        assert!(Instant::now() < deadline, "DAD did not finish in 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    (near, far)
}

fn path_of(namespace: &Namespace) -> PathBuf {
    PathBuf::from("/run/netns").join(namespace.name())
}

fn config(name: &str, target: &str, source: Option<&str>) -> ProbeConfig {
    ProbeConfig {
        name: name.to_owned(),
        target: target.parse().expect("target"),
        source: source.map(|s| s.parse().expect("source")),
    }
}

const FAST: ProbeOptions = ProbeOptions {
    timeout: Duration::from_millis(500),
    attempts: 2,
};

#[test]
fn a_neighbour_is_reachable_with_and_without_a_source() {
    if !support::can_make_namespaces("a_neighbour_is_reachable_with_and_without_a_source") {
        return;
    }
    let (near, _far) = pair();
    let outcomes = probe::run(
        Some(&path_of(&near)),
        &[
            config("far", FAR, None),
            config("far-from-lan", FAR, Some(NEAR)),
        ],
        &ProbeOptions::default(),
    )
    .expect("enter the namespace");
    assert_eq!(outcomes.len(), 2);
    for outcome in &outcomes {
        assert!(outcome.result.reachable, "{outcome:?}");
        assert_eq!(outcome.error, None, "{outcome:?}");
        assert_eq!(outcome.result.target, FAR.parse::<Ipv6Addr>().expect("ip"));
    }
    assert_eq!(outcomes[0].result.name, "far");
    assert_eq!(outcomes[1].result.name, "far-from-lan");
}

#[test]
fn nobody_answering_is_unreachable_within_the_timeout() {
    if !support::can_make_namespaces("nobody_answering_is_unreachable_within_the_timeout") {
        return;
    }
    let (near, _far) = pair();
    let started = Instant::now();
    let outcomes = probe::run(
        Some(&path_of(&near)),
        &[
            // On the link, but nobody has it: no neighbour answers.
            config("nobody", "2001:db8:7::99", Some(NEAR)),
            // No route at all.
            config("no-route", "2001:db8:ffff::1", None),
            config("nobody-either", "2001:db8:7::98", None),
        ],
        &FAST,
    )
    .expect("enter the namespace");
    let elapsed = started.elapsed();
    for outcome in &outcomes {
        assert!(!outcome.result.reachable, "{outcome:?}");
        assert_eq!(
            outcome.error, None,
            "unreachable is a result, not an error: {outcome:?}"
        );
    }
    // Two attempts of 500 ms, the probes waiting at the same time.
    assert!(
        elapsed >= Duration::from_millis(900),
        "waited the timeout: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_millis(2500),
        "probes wait in parallel: {elapsed:?}"
    );
}

#[test]
fn a_source_address_the_router_does_not_have_is_an_error_naming_it() {
    if !support::can_make_namespaces(
        "a_source_address_the_router_does_not_have_is_an_error_naming_it",
    ) {
        return;
    }
    let (near, _far) = pair();
    let outcomes = probe::run(
        Some(&path_of(&near)),
        &[config("far-from-elsewhere", FAR, Some("2001:db8:9::1"))],
        &FAST,
    )
    .expect("enter the namespace");
    let outcome = &outcomes[0];
    assert!(!outcome.result.reachable, "{outcome:?}");
    let error = outcome.error.as_deref().expect("an error");
    assert_eq!(
        error,
        "probe far-from-elsewhere: failed to probe from 2001:db8:9::1: no such source address on this router"
    );
    // The far end has that address, which does not make it the router's.
    let error = probe::probe(
        FAR.parse().expect("ip"),
        Some("2001:db8:9::1".parse().expect("ip")),
        &FAST,
    )
    .expect_err("not in this namespace either");
    assert!(error.to_string().contains("2001:db8:9::1"), "{error}");
}

#[test]
fn a_namespace_that_does_not_exist_is_named() {
    let error = probe::run(
        Some(std::path::Path::new("/run/netns/gcprobe-does-not-exist")),
        &[config("x", FAR, None)],
        &FAST,
    )
    .expect_err("no namespace")
    .to_string();
    assert!(
        error.starts_with("failed to open the network namespace /run/netns/gcprobe-does-not-exist"),
        "{error}"
    );
}
