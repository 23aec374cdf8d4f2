//! The configuration part of a `Router`'s status, pure: the desired generation (what the
//! controller serves), the applied generation and drift (from the agent's newest report), and
//! the conditions `ConfigApplied` (the agent applied the generation served, without errors)
//! and `Ipv6Ready` (configuration applied, no drift, a prefix, every probe answered, and the
//! agent reporting); plus the events their changes deserve.

use govcloud_crds::api::{ConfigReport, ProbeConfig};
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

/// The configuration served to the router's agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// Its generation.
    pub generation: i64,
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
fn missing(
    observation: ConfigObservation<'_>,
    applied: &Desired<'_>,
    has_prefix: bool,
) -> Vec<(&'static str, String)> {
    let mut missing = Vec::new();
    if !observation.reporting {
        missing.push(("AgentSilent", "the agent does not report".to_owned()));
    }
    if applied.status != "True" {
        missing.push((
            "ConfigNotApplied",
            format!("configuration not applied ({})", applied.message),
        ));
    }
    let report = observation.report;
    if let Some(first) = report.and_then(|r| r.drift.first()) {
        let count = report.map_or(0, |r| r.drift.len());
        missing.push(("Drift", format!("{count} drift (first: {first})")));
    }
    if !has_prefix {
        missing.push(("NoPrefix", "no IPv6 prefix allocated".to_owned()));
    }
    for probe in observation.served.map_or(&[][..], |s| &s.probes) {
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
    let missing = missing(observation, &applied, has_prefix);
    let ready = match missing.first() {
        None => Desired {
            kind: IPV6_READY,
            status: "True",
            reason: "Ready",
            message: "configuration applied without drift, prefix allocated, probes answered"
                .to_owned(),
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
            probes: vec![ProbeConfig {
                name: "city-lan".to_owned(),
                target: "2001:db8:a00:1::1".parse().expect("address"),
                source: None,
            }],
        }
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
        let observation = ConfigObservation {
            served,
            report,
            reporting: true,
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
        assert_eq!((ready, reason), ("False", "ConfigNotApplied"));
        for part in [
            "1 drift (first: route 2001:db8:a00::/48 missing)",
            "no IPv6 prefix allocated",
            "probe city-lan: 2001:db8:a00:1::1 unreachable",
        ] {
            assert!(message.contains(part), "{message}");
        }
        let events = announcements(&status, &failed);
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].0, events[0].1), (true, "ConfigApplyFailed"));
    }

    #[test]
    fn nothing_served_or_reported_is_not_ready() {
        let status = status_of(None, None, true);
        assert_eq!(condition(&status, CONFIG_APPLIED).0, "Unknown");
        assert_eq!(condition(&status, IPV6_READY).1, "ConfigNotApplied");
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
        };
        apply(&mut silent, observation, true, None, Timestamp::UNIX_EPOCH);
        assert_eq!(condition(&silent, IPV6_READY).1, "AgentSilent");
    }
}
