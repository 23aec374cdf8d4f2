//! The configuration part of a `Router`'s status, pure: the desired generation (what the
//! controller serves), the applied generation and drift (from the agent's newest report), and
//! the conditions `ConfigApplied` (the agent applied the generation served, every batch,
//! without errors) and `Ipv6Ready`; plus the events their changes deserve.
//!
//! `Ipv6Ready` is what the plan counts (IPv6应用): the site has its prefix, the agent reports,
//! the kernel holds every address and route of the IPv6 configuration served (from the agent's
//! newest observation), and every reachability probe answered. A consolidated network's
//! segment that fails (a kernel without VRF support) makes `ConfigApplied` false, not the site
//! any less IPv6-ready.

use std::net::Ipv6Addr;

use govcloud_crds::api::{AddressConfig, ConfigReport, LinkObservation, ProbeConfig, RouteSummary};
use govcloud_crds::network::router::RouterStatus;
use k8s_openapi::jiff::Timestamp;

use super::readiness::IPV6_READY;
use crate::conditions::{self, Desired};

/// The condition that says whether the agent applied the configuration served.
pub const CONFIG_APPLIED: &str = "ConfigApplied";
/// Most drift lines kept in the status (the schema's limit).
pub const MAX_DRIFT: usize = 100;
/// Most error lines quoted in the `ConfigApplied` message.
const MAX_ERRORS_QUOTED: usize = 3;
/// The agent's routing protocol as its route summaries name it (`proto 241`).
const AGENT_PROTOCOL: &str = "241";
/// The main routing table.
const MAIN_TABLE: u32 = 254;

/// The configuration served to the router's agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// Its generation.
    pub generation: i64,
    /// The addresses of the router's own interfaces.
    pub addresses: Vec<AddressConfig>,
    /// How many routes of the main table.
    pub routes: usize,
    /// Its probes.
    pub probes: Vec<ProbeConfig>,
}

/// What the configuration status is computed from.
#[derive(Clone, Copy, Debug)]
pub struct ConfigObservation<'a> {
    /// The configuration served, if one was.
    pub served: Option<&'a Served>,
    /// What the agent's newest report says of it.
    pub report: Option<&'a ConfigReport>,
    /// Whether the agent reports (its newest report is fresh).
    pub reporting: bool,
    /// The links (with their addresses) of the agent's newest report.
    pub links: &'a [LinkObservation],
    /// The route summaries of the agent's newest report.
    pub routes: &'a [RouteSummary],
}

/// `address/length` as an IPv6 address and length.
fn parse_address(text: &str) -> Option<(Ipv6Addr, u8)> {
    let (address, length) = text.split_once('/')?;
    Some((address.parse().ok()?, length.parse().ok()?))
}

/// Whether the newest report shows `wanted` on its interface.
fn holds(links: &[LinkObservation], wanted: &AddressConfig) -> bool {
    let Some(wanted_address) = parse_address(&wanted.address) else {
        return false;
    };
    links
        .iter()
        .filter(|link| link.name == wanted.interface)
        .flat_map(|link| &link.addresses)
        .any(|held| parse_address(held) == Some(wanted_address))
}

/// The agent's IPv6 routes in the main table, from the newest report's summary.
fn agent_routes(routes: &[RouteSummary]) -> u64 {
    routes
        .iter()
        .filter(|r| r.table == MAIN_TABLE && r.family == "inet6")
        .filter_map(|r| r.by_protocol.get(AGENT_PROTOCOL))
        .sum()
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The `ConfigApplied` condition.
fn config_applied(observation: ConfigObservation<'_>) -> Desired<'static> {
    let condition = |status, reason, message| Desired {
        kind: CONFIG_APPLIED,
        status,
        reason,
        message,
    };
    let Some(served) = observation.served else {
        return condition(
            "Unknown",
            "NotServed",
            "no configuration has been served yet: the agent has not fetched one".to_owned(),
        );
    };
    let Some(report) = observation.report else {
        return condition(
            "False",
            "NotReported",
            format!(
                "generation {} is served; the agent has not reported applying it",
                served.generation
            ),
        );
    };
    if !report.errors.is_empty() {
        let mut quoted: Vec<&str> = report
            .errors
            .iter()
            .take(MAX_ERRORS_QUOTED)
            .map(|e| first_line(e))
            .collect();
        let more = report.errors.len().saturating_sub(MAX_ERRORS_QUOTED);
        let more = format!("and {more} more");
        if report.errors.len() > MAX_ERRORS_QUOTED {
            quoted.push(&more);
        }
        return condition("False", "ApplyFailed", quoted.join("; "));
    }
    let applied = report.applied_generation.unwrap_or(0);
    if applied == served.generation {
        condition("True", "Applied", format!("generation {applied} applied"))
    } else {
        condition(
            "False",
            "Pending",
            format!("generation {applied} of {} applied", served.generation),
        )
    }
}

/// What keeps the site from being IPv6-ready, one item each (empty when ready).
fn missing(observation: ConfigObservation<'_>, has_prefix: bool) -> Vec<(&'static str, String)> {
    let mut missing = Vec::new();
    if !observation.reporting {
        missing.push(("AgentSilent", "the agent does not report".to_owned()));
    }
    if !has_prefix {
        missing.push(("NoPrefix", "no IPv6 prefix allocated".to_owned()));
    }
    let Some(served) = observation.served else {
        missing.push((
            "NotServed",
            "no configuration has been served yet: the agent has not fetched one".to_owned(),
        ));
        return missing;
    };
    let absent: Vec<String> = served
        .addresses
        .iter()
        .filter(|wanted| !holds(observation.links, wanted))
        .map(|wanted| format!("{} on {}", wanted.address, wanted.interface))
        .collect();
    if let Some(first) = absent.first() {
        missing.push((
            "AddressMissing",
            format!(
                "{} of {} addresses missing (first: {first})",
                absent.len(),
                served.addresses.len()
            ),
        ));
    }
    let installed = agent_routes(observation.routes);
    if installed < u64::try_from(served.routes).unwrap_or(u64::MAX) {
        missing.push((
            "RouteMissing",
            format!("{installed} of {} routes installed", served.routes),
        ));
    }
    let report = observation.report;
    for probe in &served.probes {
        let result = report.and_then(|r| {
            r.probes
                .iter()
                .find(|p| p.name == probe.name && p.target == probe.target)
        });
        match result {
            Some(result) if result.reachable => {}
            Some(_) => missing.push((
                "ProbeFailed",
                format!("probe {}: {} unreachable", probe.name, probe.target),
            )),
            None => missing.push((
                "ProbeNotReported",
                format!("probe {} not reported", probe.name),
            )),
        }
    }
    missing
}

/// Sets the configuration fields and conditions of `status` for `observation`; `has_prefix`
/// says whether the router has its IPv6 prefix.
pub fn apply(
    status: &mut RouterStatus,
    observation: ConfigObservation<'_>,
    has_prefix: bool,
    generation: Option<i64>,
    now: Timestamp,
) {
    status.desired_config_generation = observation.served.map(|s| s.generation);
    status.applied_config_generation = observation.report.and_then(|r| r.applied_generation);
    status.drift = observation
        .report
        .map(|r| r.drift.iter().take(MAX_DRIFT).cloned().collect())
        .unwrap_or_default();
    let applied = config_applied(observation);
    let missing = missing(observation, has_prefix);
    let ready = match missing.first() {
        None => Desired {
            kind: IPV6_READY,
            status: "True",
            reason: "Ready",
            message: "prefix allocated, addresses and routes in place, probes answered".to_owned(),
        },
        Some((reason, _)) => Desired {
            kind: IPV6_READY,
            status: "False",
            reason,
            message: missing
                .iter()
                .map(|(_, what)| what.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        },
    };
    conditions::set(&mut status.conditions, &applied, generation, now);
    conditions::set(&mut status.conditions, &ready, generation, now);
}

/// The events the configuration conditions' changes deserve, `(warning, reason, note)`:
/// `ConfigApplied` / `ConfigApplyFailed` and `Ipv6Ready` / `Ipv6NotReady`, on transitions only.
pub fn announcements(
    before: &RouterStatus,
    after: &RouterStatus,
) -> Vec<(bool, &'static str, String)> {
    let mut events = Vec::new();
    let was = |kind| conditions::status_of(&before.conditions, kind);
    let now = |kind| after.conditions.iter().find(|c| c.type_ == kind);
    if let Some(applied) = now(CONFIG_APPLIED) {
        let changed = was(CONFIG_APPLIED) != Some(applied.status.as_str());
        let reason_changed = before
            .conditions
            .iter()
            .find(|c| c.type_ == CONFIG_APPLIED)
            .is_none_or(|c| c.reason != applied.reason);
        if applied.status == "True" && changed {
            events.push((false, "ConfigApplied", applied.message.clone()));
        } else if applied.reason == "ApplyFailed" && reason_changed {
            events.push((true, "ConfigApplyFailed", applied.message.clone()));
        }
    }
    if let Some(ready) = now(IPV6_READY) {
        match (was(IPV6_READY), ready.status.as_str()) {
            (Some("True"), "True") => {}
            (_, "True") => events.push((false, "Ipv6Ready", ready.message.clone())),
            (Some("True"), _) => events.push((true, "Ipv6NotReady", ready.message.clone())),
            _ => {}
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use govcloud_crds::api::ProbeResult;

    use super::*;

    fn served(generation: i64) -> Served {
        Served {
            generation,
            addresses: vec![AddressConfig {
                interface: "lan0".to_owned(),
                address: "2001:db8:a00:100::1/64".to_owned(),
            }],
            routes: 1,
            probes: vec![ProbeConfig {
                name: "city-lan".to_owned(),
                target: "2001:db8:a00:1::1".parse().expect("address"),
                source: None,
            }],
        }
    }

    /// The kernel as the agent observed it: `lan0` with `addresses`, `routes` of proto 241.
    fn kernel(addresses: &[&str], routes: u64) -> (Vec<LinkObservation>, Vec<RouteSummary>) {
        let links = vec![LinkObservation {
            name: "lan0".to_owned(),
            addresses: addresses.iter().map(|a| (*a).to_owned()).collect(),
            ..LinkObservation::default()
        }];
        let summary = RouteSummary {
            table: MAIN_TABLE,
            family: "inet6".to_owned(),
            routes: routes + 3,
            has_default: false,
            by_protocol: [
                ("kernel".to_owned(), 3),
                (AGENT_PROTOCOL.to_owned(), routes),
            ]
            .into(),
        };
        (links, vec![summary])
    }

    fn report(applied: Option<i64>, reachable: Option<bool>) -> ConfigReport {
        ConfigReport {
            applied_generation: applied,
            attempted_generation: applied,
            probes: reachable
                .map(|reachable| ProbeResult {
                    name: "city-lan".to_owned(),
                    target: "2001:db8:a00:1::1".parse().expect("address"),
                    reachable,
                })
                .into_iter()
                .collect(),
            ..ConfigReport::default()
        }
    }

    fn status_of(
        served: Option<&Served>,
        report: Option<&ConfigReport>,
        has_prefix: bool,
    ) -> RouterStatus {
        let mut status = RouterStatus::default();
        let (links, routes) = kernel(&["2001:db8:a00:100::1/64", "fe80::1/64"], 1);
        let observation = ConfigObservation {
            served,
            report,
            reporting: true,
            links: &links,
            routes: &routes,
        };
        apply(
            &mut status,
            observation,
            has_prefix,
            Some(1),
            Timestamp::UNIX_EPOCH,
        );
        status
    }

    fn condition<'a>(status: &'a RouterStatus, kind: &str) -> (&'a str, &'a str, &'a str) {
        let c = status
            .conditions
            .iter()
            .find(|c| c.type_ == kind)
            .expect("condition");
        (c.status.as_str(), c.reason.as_str(), c.message.as_str())
    }

    #[test]
    fn applied_without_drift_with_a_prefix_and_probes_answered_is_ready() {
        let served = served(3);
        let report = report(Some(3), Some(true));
        let status = status_of(Some(&served), Some(&report), true);
        assert_eq!(status.desired_config_generation, Some(3));
        assert_eq!(status.applied_config_generation, Some(3));
        assert_eq!(
            condition(&status, CONFIG_APPLIED),
            ("True", "Applied", "generation 3 applied")
        );
        assert_eq!(condition(&status, IPV6_READY).0, "True");
        let events = announcements(&RouterStatus::default(), &status);
        let reasons: Vec<&str> = events.iter().map(|e| e.1).collect();
        assert_eq!(reasons, ["ConfigApplied", "Ipv6Ready"]);
        assert!(announcements(&status, &status).is_empty());
    }

    #[test]
    fn a_lagging_generation_errors_drift_and_failed_probes_are_named() {
        let served = served(4);
        let status = status_of(Some(&served), Some(&report(Some(3), Some(true))), true);
        assert_eq!(
            condition(&status, CONFIG_APPLIED),
            ("False", "Pending", "generation 3 of 4 applied")
        );
        let mut failing = report(Some(3), Some(false));
        failing.errors = vec![
            "add route 2001:db8:a00::/48: File exists\n(rolled back)".to_owned(),
            "b".to_owned(),
            "c".to_owned(),
            "d".to_owned(),
        ];
        failing.drift = vec!["route 2001:db8:a00::/48 missing".to_owned()];
        let failed = status_of(Some(&served), Some(&failing), false);
        assert_eq!(
            condition(&failed, CONFIG_APPLIED),
            (
                "False",
                "ApplyFailed",
                "add route 2001:db8:a00::/48: File exists; b; c; and 1 more"
            )
        );
        assert_eq!(failed.drift, ["route 2001:db8:a00::/48 missing"]);
        let (ready, reason, message) = condition(&failed, IPV6_READY);
        assert_eq!((ready, reason), ("False", "NoPrefix"));
        for part in [
            "no IPv6 prefix allocated",
            "probe city-lan: 2001:db8:a00:1::1 unreachable",
        ] {
            assert!(message.contains(part), "{message}");
        }
        // The lagging generation left the site ready (its addresses and routes are in place);
        // losing the prefix and the probe is a transition.
        assert_eq!(condition(&status, IPV6_READY).0, "True");
        let events: Vec<(bool, &str)> = announcements(&status, &failed)
            .iter()
            .map(|e| (e.0, e.1))
            .collect();
        assert_eq!(
            events,
            [(true, "ConfigApplyFailed"), (true, "Ipv6NotReady")]
        );
    }

    #[test]
    fn a_failed_segment_leaves_the_site_ipv6_ready_but_a_missing_address_or_route_does_not() {
        let served = served(2);
        let mut segment_failed = report(Some(1), Some(true));
        segment_failed.attempted_generation = Some(2);
        segment_failed.errors =
            vec!["segment hrss-net: the kernel has no VRF support (CONFIG_NET_VRF)".to_owned()];
        let status = status_of(Some(&served), Some(&segment_failed), true);
        assert_eq!(condition(&status, CONFIG_APPLIED).1, "ApplyFailed");
        assert_eq!(condition(&status, IPV6_READY).0, "True");

        let report = report(Some(2), Some(true));
        for ((addresses, routes), reason, message) in [
            (
                (&["fe80::1/64"][..], 1),
                "AddressMissing",
                "1 of 1 addresses missing (first: 2001:db8:a00:100::1/64 on lan0)",
            ),
            (
                (&["2001:db8:a00:100::1/64"][..], 0),
                "RouteMissing",
                "0 of 1 routes installed",
            ),
        ] {
            let (links, summaries) = kernel(addresses, routes);
            let mut status = RouterStatus::default();
            let observation = ConfigObservation {
                served: Some(&served),
                report: Some(&report),
                reporting: true,
                links: &links,
                routes: &summaries,
            };
            apply(&mut status, observation, true, None, Timestamp::UNIX_EPOCH);
            assert_eq!(condition(&status, IPV6_READY), ("False", reason, message));
        }
    }

    #[test]
    fn nothing_served_or_reported_is_not_ready() {
        let status = status_of(None, None, true);
        assert_eq!(condition(&status, CONFIG_APPLIED).0, "Unknown");
        assert_eq!(condition(&status, IPV6_READY).1, "NotServed");
        let served = served(1);
        let status = status_of(Some(&served), Some(&report(Some(1), None)), true);
        assert_eq!(
            condition(&status, IPV6_READY),
            ("False", "ProbeNotReported", "probe city-lan not reported")
        );
        let mut silent = RouterStatus::default();
        let observation = ConfigObservation {
            served: Some(&served),
            report: Some(&report(Some(1), Some(true))),
            reporting: false,
            links: &[],
            routes: &[],
        };
        apply(&mut silent, observation, true, None, Timestamp::UNIX_EPOCH);
        assert_eq!(condition(&silent, IPV6_READY).1, "AgentSilent");
    }
}
