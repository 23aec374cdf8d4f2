//! The planned campaign as the `MigrationPlan`'s status: counts, waves, blockers, projection,
//! and the `OnTrack` and `Blocked` conditions (whose transition times move only when their
//! status changes).

use govcloud_crds::common::IsoDate;
use govcloud_crds::migration::plan::{MigrationPlanStatus, WaveSummary};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;

use super::plan::CampaignPlan;
use crate::conditions::{self, Desired};
use crate::kube_time::to_kube;

/// Condition: the projection meets the deadline and nothing is blocked.
pub const ON_TRACK: &str = "OnTrack";
/// Condition: some systems cannot be scheduled.
pub const BLOCKED: &str = "Blocked";

/// The status for `plan`, keeping the transition times of `previous` conditions whose status
/// did not change; `now` dates the conditions that did.
pub fn to_status(
    plan: &CampaignPlan,
    previous: &[Condition],
    generation: Option<i64>,
    now: Timestamp,
) -> MigrationPlanStatus {
    let waves: Vec<WaveSummary> = plan
        .waves
        .iter()
        .map(|w| WaveSummary {
            number: w.number,
            systems: w.systems,
            completed: w.completed,
            first_window: w.first_window.and_then(to_kube),
            last_window_end: w.last_window_end.and_then(to_kube),
        })
        .collect();
    let blocked: u32 = plan.blockers.iter().map(|b| b.count).sum();
    let projection = &plan.projection;
    let on_track = if projection.on_track {
        Desired {
            kind: ON_TRACK,
            status: "True",
            reason: "OnTrack",
            message: match projection.completion_date {
                Some(date) => format!("projected to complete on {date}"),
                None => "nothing left to schedule".to_owned(),
            },
        }
    } else if blocked > 0 {
        Desired {
            kind: ON_TRACK,
            status: "False",
            reason: "SystemsBlocked",
            message: format!("{blocked} system(s) cannot be scheduled"),
        }
    } else {
        Desired {
            kind: ON_TRACK,
            status: "False",
            reason: "PastDeadline",
            message: format!(
                "projected to complete {} day(s) after the deadline",
                projection.days_late.unwrap_or_default()
            ),
        }
    };
    let blocked_condition = if blocked > 0 {
        Desired {
            kind: BLOCKED,
            status: "True",
            reason: "SystemsBlocked",
            message: plan
                .blockers
                .iter()
                .map(|b| format!("{:?}: {}", b.reason, b.count))
                .collect::<Vec<_>>()
                .join(", "),
        }
    } else {
        Desired {
            kind: BLOCKED,
            status: "False",
            reason: "NoBlockers",
            message: "every system can be scheduled".to_owned(),
        }
    };
    let mut conditions_out = previous.to_vec();
    conditions::set(&mut conditions_out, &on_track, generation, now);
    conditions::set(&mut conditions_out, &blocked_condition, generation, now);
    MigrationPlanStatus {
        total_systems: plan.total_systems,
        completed_systems: plan.completed_systems,
        systems_by_phase: plan.systems_by_phase.clone(),
        tenants: plan.tenants.clone(),
        wave_count: u32::try_from(waves.len()).unwrap_or(u32::MAX),
        waves,
        blockers: plan.blockers.clone(),
        projected_completion: projection
            .completion_date
            .map(|d| IsoDate(d.format("%Y-%m-%d").to_string())),
        projected_days_late: projection.days_late,
        conditions: conditions_out,
        observed_generation: generation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::plan::plan_campaign;
    use crate::migration::testing::{campaign, day, system, window};

    fn now(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("a valid instant")
    }

    #[test]
    fn converts_a_plan_and_keeps_transition_times() {
        let spec = campaign("2026-03-31", vec![window("fri", "0 22 * * 5", "8h", 2)]);
        let systems = [system("a/db", &[]), system("b/portal", &["a/db"])];
        let plan = plan_campaign(&spec, &systems, day(2026, 1, 1)).expect("plans");
        let status = to_status(&plan, &[], Some(3), now(1_000));
        assert_eq!(status.total_systems, 2);
        assert_eq!(status.wave_count, 2);
        assert_eq!(
            status.projected_completion,
            Some(IsoDate::from("2026-01-10"))
        );
        assert_eq!(status.projected_days_late, Some(-80));
        assert_eq!(status.tenants.len(), 2);
        assert_eq!(status.observed_generation, Some(3));
        assert_eq!(
            crate::conditions::status_of(&status.conditions, ON_TRACK),
            Some("True")
        );
        assert_eq!(
            crate::conditions::status_of(&status.conditions, BLOCKED),
            Some("False")
        );
        assert!(status.waves[0].first_window.is_some());
        let again = to_status(&plan, &status.conditions, Some(4), now(2_000));
        assert_eq!(
            again.conditions[0].last_transition_time,
            status.conditions[0].last_transition_time
        );
    }

    #[test]
    fn blocked_systems_put_the_campaign_off_track() {
        let spec = campaign("2026-03-31", vec![window("fri", "0 22 * * 5", "8h", 2)]);
        let plan =
            plan_campaign(&spec, &[system("a/x", &["a/ghost"])], day(2026, 1, 1)).expect("plans");
        let status = to_status(&plan, &[], None, now(1_000));
        let on_track = status
            .conditions
            .iter()
            .find(|c| c.type_ == ON_TRACK)
            .expect("OnTrack");
        assert_eq!(
            (on_track.status.as_str(), on_track.reason.as_str()),
            ("False", "SystemsBlocked")
        );
        assert_eq!(status.blockers[0].examples, vec!["a/x"]);
    }
}
