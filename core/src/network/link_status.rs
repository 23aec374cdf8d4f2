//! An `ExtranetLink`'s status from its verdict and utilisation, pure, and the events its
//! changes deserve.
//!
//! Conditions: `Compliant` (`True` when compliant; `False` with the compliance as reason;
//! `Unknown` with `TelemetryStale`) and `RedundancyLost` (`True` when fewer than two members
//! are up at both ends; `Unknown` while the telemetry is stale). Their `lastTransitionTime`
//! moves only when their status changes, and `lastEvaluated` only when something else in the
//! status changed, so an unchanged link is never patched.

use govcloud_crds::network::extranet_link::{Compliance, ExtranetLinkStatus, MemberStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::compliance::Verdict;
use super::utilisation::Utilisation;
use crate::conditions::{self, Desired};

/// The condition that says whether the link meets its contract.
pub const COMPLIANT: &str = "Compliant";
/// The condition that says whether a member is down.
pub const REDUNDANCY_LOST: &str = "RedundancyLost";

/// Rounds to one decimal, as the status shows figures.
fn tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// `37.5` for a ratio of 0.375.
pub fn percent_text(ratio: f64) -> String {
    format!("{:.1}", ratio * 100.0)
}

/// The compliance's name, as reasons and labels write it.
pub fn compliance_name(compliance: Compliance) -> &'static str {
    match compliance {
        Compliance::Compliant => "Compliant",
        Compliance::Degraded => "Degraded",
        Compliance::Down => "Down",
        Compliance::Unknown => "Unknown",
    }
}

/// The status for `verdict` and `utilisation`, keeping what did not change from `previous`.
pub fn to_status(
    previous: &ExtranetLinkStatus,
    verdict: &Verdict,
    utilisation: Option<&Utilisation>,
    member_speed_mbps: u32,
    generation: Option<i64>,
    now: Timestamp,
) -> ExtranetLinkStatus {
    let ratio = |member, side| utilisation.and_then(|u| u.ratio(member, side));
    let mut status = ExtranetLinkStatus {
        compliance: verdict.compliance,
        members_up: verdict.members_up,
        contracted_speed_mbps: Some(member_speed_mbps),
        utilisation_p95_percent: utilisation.and_then(Utilisation::highest).map(percent_text),
        members: verdict
            .ends
            .iter()
            .map(|end| MemberStatus {
                side: end.side,
                interface: end.interface.clone(),
                up: end.up,
                speed_mbps: end.speed_mbps,
                errors_per_minute: end.errors_per_minute.map(tenth),
                utilisation_p95_percent: ratio(end.member, end.side).map(|r| tenth(r * 100.0)),
            })
            .collect(),
        reasons: verdict.reasons.clone(),
        last_evaluated: previous.last_evaluated.clone(),
        conditions: previous.conditions.clone(),
        observed_generation: generation,
    };
    let message = if verdict.reasons.is_empty() {
        "both members up at both ends, at or above the contracted speed, errors not rising"
            .to_owned()
    } else {
        verdict.reasons.join("; ")
    };
    let (compliant, compliant_reason) = match verdict.compliance {
        Compliance::Compliant => ("True", "Compliant"),
        Compliance::Unknown => ("Unknown", "TelemetryStale"),
        other => ("False", compliance_name(other)),
    };
    let redundancy = match (verdict.compliance, verdict.members_up) {
        (Compliance::Unknown, _) => ("Unknown", "TelemetryStale", message.clone()),
        (_, 2..) => (
            "False",
            "BothMembersUp",
            "both members are up at both ends".to_owned(),
        ),
        (_, up) => (
            "True",
            if up == 0 { "NoMemberUp" } else { "MemberDown" },
            message.clone(),
        ),
    };
    for desired in [
        Desired {
            kind: COMPLIANT,
            status: compliant,
            reason: compliant_reason,
            message,
        },
        Desired {
            kind: REDUNDANCY_LOST,
            status: redundancy.0,
            reason: redundancy.1,
            message: redundancy.2,
        },
    ] {
        conditions::set(&mut status.conditions, &desired, generation, now);
    }
    if status != *previous || status.last_evaluated.is_none() {
        status.last_evaluated = Some(Time(now));
    }
    status
}

/// An event to publish about a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    /// A `Warning` (else `Normal`).
    pub warning: bool,
    /// The event's reason, from a fixed set.
    pub reason: &'static str,
    /// What happened.
    pub note: String,
}

/// The events that the change from `before` to `after` deserves: `RedundancyLost` (a member
/// dropped), `RedundancyRestored`, `LinkDown`, `TelemetryStale`, `Degraded` (below contract
/// or erroring with both members up) and `Compliant` (compliance regained otherwise).
pub fn announcements(before: &ExtranetLinkStatus, after: &ExtranetLinkStatus) -> Vec<Announcement> {
    let was = |kind| conditions::status_of(&before.conditions, kind);
    let is = |kind| conditions::status_of(&after.conditions, kind);
    let reasons = after.reasons.join("; ");
    let mut out = Vec::new();
    let mut say = |warning, reason, note: String| {
        out.push(Announcement {
            warning,
            reason,
            note,
        });
    };
    let lost = is(REDUNDANCY_LOST) == Some("True") && was(REDUNDANCY_LOST) != Some("True");
    let restored = is(REDUNDANCY_LOST) == Some("False") && was(REDUNDANCY_LOST) == Some("True");
    if lost {
        say(
            true,
            "RedundancyLost",
            format!("{} of 2 members up: {reasons}", after.members_up),
        );
    }
    if restored {
        say(
            false,
            "RedundancyRestored",
            "both members are up at both ends again".to_owned(),
        );
    }
    if after.compliance == before.compliance {
        return out;
    }
    match after.compliance {
        Compliance::Down => say(true, "LinkDown", format!("no member is up: {reasons}")),
        Compliance::Unknown => say(true, "TelemetryStale", reasons),
        Compliance::Degraded if !lost && is(REDUNDANCY_LOST) == Some("False") => {
            say(true, "Degraded", reasons);
        }
        // A new link that starts compliant is no news.
        Compliance::Compliant if !restored && was(COMPLIANT).is_some() => say(
            false,
            "Compliant",
            "both members up at both ends, at or above the contracted speed".to_owned(),
        ),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use govcloud_crds::network::extranet_link::LinkSide;

    use super::*;
    use crate::network::compliance::evaluate;
    use crate::network::testing::{contract, down, quiet, report, telemetry, up};

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).expect("timestamp")
    }

    /// The status after evaluating reports of both ends with these members' states.
    fn evaluated(
        previous: &ExtranetLinkStatus,
        upstream: [Option<crate::network::compliance::InterfaceState>; 2],
        downstream: [Option<crate::network::compliance::InterfaceState>; 2],
        when: i64,
    ) -> ExtranetLinkStatus {
        let recent = quiet();
        let verdict = evaluate(
            &contract(),
            &telemetry(report(0, upstream), report(0, downstream), &recent),
            crate::network::testing::now(),
        );
        let utilisation = Utilisation {
            computed_at: crate::network::testing::now(),
            window: std::time::Duration::from_secs(86_400),
            member_speed_mbps: 1000,
            ratios: vec![
                (1, LinkSide::Upstream, Some(0.123_45)),
                (2, LinkSide::Downstream, Some(0.375)),
            ],
        };
        to_status(
            previous,
            &verdict,
            Some(&utilisation),
            1000,
            Some(3),
            at(when),
        )
    }

    fn reasons(announcements: &[Announcement]) -> Vec<(&'static str, bool)> {
        announcements
            .iter()
            .map(|a| (a.reason, a.warning))
            .collect()
    }

    const GIG: Option<u32> = Some(1000);

    #[test]
    fn a_compliant_link_shows_figures_and_conditions_and_is_no_news() {
        let fresh = ExtranetLinkStatus::default();
        let status = evaluated(&fresh, [up(GIG), up(GIG)], [up(GIG), up(GIG)], 0);
        assert_eq!(status.compliance, Compliance::Compliant);
        assert_eq!(status.members_up, 2);
        assert_eq!(status.contracted_speed_mbps, Some(1000));
        assert_eq!(status.utilisation_p95_percent.as_deref(), Some("37.5"));
        assert_eq!(status.members[0].utilisation_p95_percent, Some(12.3));
        assert_eq!(status.members[1].utilisation_p95_percent, None);
        assert_eq!(status.observed_generation, Some(3));
        assert_eq!(
            conditions::status_of(&status.conditions, COMPLIANT),
            Some("True")
        );
        assert_eq!(
            conditions::status_of(&status.conditions, REDUNDANCY_LOST),
            Some("False")
        );
        assert_eq!(status.last_evaluated, Some(Time(at(0))));
        assert!(announcements(&fresh, &status).is_empty());
        // Nothing changed a minute later: the same status, times and all (no patch).
        let again = evaluated(&status, [up(GIG), up(GIG)], [up(GIG), up(GIG)], 60);
        assert_eq!(again, status);
    }

    #[test]
    fn losing_and_regaining_members_is_announced_and_moves_transition_times_only_then() {
        let compliant = evaluated(
            &ExtranetLinkStatus::default(),
            [up(GIG), up(GIG)],
            [up(GIG), up(GIG)],
            0,
        );
        let degraded = evaluated(&compliant, [up(GIG), up(GIG)], [down(), up(GIG)], 30);
        assert_eq!(degraded.compliance, Compliance::Degraded);
        assert_eq!(
            reasons(&announcements(&compliant, &degraded)),
            [("RedundancyLost", true)]
        );
        let lost = &degraded.conditions[1];
        assert_eq!(
            (lost.type_.as_str(), lost.status.as_str()),
            (REDUNDANCY_LOST, "True")
        );
        assert_eq!(lost.reason, "MemberDown");
        assert_eq!(lost.last_transition_time, Time(at(30)));
        assert_eq!(degraded.last_evaluated, Some(Time(at(30))));
        let down_now = evaluated(&degraded, [down(), up(GIG)], [down(), down()], 60);
        assert_eq!(down_now.compliance, Compliance::Down);
        assert_eq!(
            reasons(&announcements(&degraded, &down_now)),
            [("LinkDown", true)]
        );
        assert_eq!(
            down_now.conditions[1].last_transition_time,
            Time(at(30)),
            "RedundancyLost stays True"
        );
        assert_eq!(down_now.conditions[1].reason, "NoMemberUp");
        let restored = evaluated(&down_now, [up(GIG), up(GIG)], [up(GIG), up(GIG)], 90);
        assert_eq!(
            reasons(&announcements(&down_now, &restored)),
            [("RedundancyRestored", false)]
        );
        assert_eq!(restored.conditions[0].last_transition_time, Time(at(90)));
        assert!(restored.reasons.is_empty());
    }

    #[test]
    fn speed_below_contract_is_degraded_without_redundancy_lost() {
        let compliant = evaluated(
            &ExtranetLinkStatus::default(),
            [up(GIG), up(GIG)],
            [up(GIG), up(GIG)],
            0,
        );
        let slow = evaluated(&compliant, [up(GIG), up(Some(100))], [up(GIG), up(GIG)], 30);
        assert_eq!(slow.compliance, Compliance::Degraded);
        assert_eq!(
            conditions::status_of(&slow.conditions, REDUNDANCY_LOST),
            Some("False")
        );
        assert_eq!(slow.conditions[0].reason, "Degraded");
        assert_eq!(
            reasons(&announcements(&compliant, &slow)),
            [("Degraded", true)]
        );
        let fixed = evaluated(&slow, [up(GIG), up(GIG)], [up(GIG), up(GIG)], 60);
        assert_eq!(
            reasons(&announcements(&slow, &fixed)),
            [("Compliant", false)]
        );
    }

    #[test]
    fn stale_telemetry_makes_both_conditions_unknown() {
        let compliant = evaluated(
            &ExtranetLinkStatus::default(),
            [up(GIG), up(GIG)],
            [up(GIG), up(GIG)],
            0,
        );
        let recent = quiet();
        let verdict = evaluate(
            &contract(),
            &telemetry(
                report(200, [up(GIG), up(GIG)]),
                report(0, [up(GIG), up(GIG)]),
                &recent,
            ),
            crate::network::testing::now(),
        );
        let stale = to_status(&compliant, &verdict, None, 1000, Some(3), at(30));
        assert_eq!(stale.compliance, Compliance::Unknown);
        assert_eq!(
            conditions::status_of(&stale.conditions, COMPLIANT),
            Some("Unknown")
        );
        assert_eq!(
            conditions::status_of(&stale.conditions, REDUNDANCY_LOST),
            Some("Unknown")
        );
        assert_eq!(stale.conditions[0].reason, "TelemetryStale");
        assert_eq!(stale.utilisation_p95_percent, None);
        assert_eq!(
            reasons(&announcements(&compliant, &stale)),
            [("TelemetryStale", true)]
        );
    }
}
