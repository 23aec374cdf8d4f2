//! The whole planner: spec and systems in, [`CampaignPlan`] out.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use govcloud_crds::migration::plan::{Blocker, BlockerReason, TenantProgress};

use super::error::PlanError;
use super::graph::{Block, Graph};
use super::input::{CampaignSpec, Hold, SystemInput};
use super::projection::{Projection, project};
use super::waves;
use super::windows::{Calendar, Occurrence, start_of_day};

/// How many systems a blocker lists by name.
pub const BLOCKER_EXAMPLES: usize = 10;

/// Where and when one system migrates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Its wave, from 1.
    pub wave: u32,
    /// The window's name.
    pub window: String,
    /// When the occurrence opens.
    pub start: DateTime<Utc>,
    /// When it closes.
    pub end: DateTime<Utc>,
}

/// One wave of the campaign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wave {
    /// Wave number, from 1.
    pub number: u32,
    /// Systems in the wave.
    pub systems: u32,
    /// Of which already migrated.
    pub completed: u32,
    /// Opening of the first occurrence the wave uses.
    pub first_window: Option<DateTime<Utc>>,
    /// Close of the last occurrence the wave uses.
    pub last_window_end: Option<DateTime<Utc>>,
}

/// The planned campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignPlan {
    /// Systems selected (classified ones included: they are counted, never scheduled).
    pub total_systems: u32,
    /// Systems already migrated.
    pub completed_systems: u32,
    /// Systems by phase name.
    pub systems_by_phase: BTreeMap<String, u32>,
    /// Counts per tenant, by tenant name.
    pub tenants: Vec<TenantProgress>,
    /// The waves, in order.
    pub waves: Vec<Wave>,
    /// Every scheduled system, by `namespace/name`.
    pub assignments: BTreeMap<String, Assignment>,
    /// Every blocked system, by `namespace/name`, with why.
    pub blocked: BTreeMap<String, Block>,
    /// Blocked systems by reason, with up to ten examples each (sorted).
    pub blockers: Vec<Blocker>,
    /// The projected completion.
    pub projection: Projection,
    /// The first day planned: the later of the spec's start and today.
    pub first_day: NaiveDate,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Plans the campaign of `spec` over `systems` as of `now`: windows that closed by `now` are
/// not used, one that is open is.
pub fn plan_campaign(
    spec: &CampaignSpec,
    systems: &[SystemInput],
    now: DateTime<Utc>,
) -> Result<CampaignPlan, PlanError> {
    let graph = Graph::build(systems)?;
    let wave_of = waves::assign(systems, &graph);
    let zone = spec.time_zone;
    let today = now.with_timezone(&zone).date_naive();
    let first_day = spec.start.map_or(today, |start| start.max(today));
    let earliest = start_of_day(zone, first_day);

    // Pending systems with a wave, in wave order, then input order.
    let mut pending: Vec<(u32, u32)> = wave_of
        .iter()
        .zip(0u32..)
        .filter_map(|(wave, i)| wave.map(|w| (w, i)))
        .filter(|&(_, i)| !systems[i as usize].is_completed())
        .collect();
    pending.sort_unstable();

    let mut calendar = Calendar::new(spec, first_day, now);
    let mut slot_of: Vec<Option<Occurrence>> = vec![None; systems.len()];
    // When each system's dependents may start: its occurrence's close, or for a system
    // migrating now, its `busy_until`.
    let mut done_at: Vec<Option<DateTime<Utc>>> = vec![None; systems.len()];
    let mut blocks = graph.blocks().to_vec();
    for &(_, i) in &pending {
        let i = i as usize;
        if let Some(until) = systems[i].busy_until {
            done_at[i] = Some(until);
            continue;
        }
        let mut at = earliest;
        if let Some(not_before) = systems[i].not_before {
            at = at.max(start_of_day(zone, not_before));
        }
        let mut blocked_by = None;
        for &d in graph.dependencies(i) {
            let d = d as usize;
            if systems[d].is_completed() {
                continue;
            }
            if let Some(end) = done_at[d] {
                at = at.max(end);
            } else {
                blocked_by = Some(d);
                break;
            }
        }
        if let Some(d) = blocked_by {
            let root = blocks[d]
                .as_ref()
                .map_or(BlockerReason::NoWindowBeforeDeadline, Block::reason);
            blocks[i] = Some(Block::DependencyBlocked {
                dependency: systems[d].key.clone(),
                root,
            });
            continue;
        }
        match calendar.place(at) {
            Some(slot) => {
                slot_of[i] = Some(slot);
                done_at[i] = Some(slot.end);
            }
            None => blocks[i] = Some(Block::NoWindow),
        }
    }
    Ok(summarise(
        spec, systems, &wave_of, &slot_of, blocks, first_day,
    ))
}

/// Blocked systems by reason, with up to [`BLOCKER_EXAMPLES`] examples each (sorted).
fn group_blockers(by_reason: BTreeMap<BlockerReason, (u32, Vec<&str>)>) -> Vec<Blocker> {
    by_reason
        .into_iter()
        .map(|(reason, (count, mut keys))| {
            keys.sort_unstable();
            Blocker {
                reason,
                count,
                examples: keys
                    .into_iter()
                    .take(BLOCKER_EXAMPLES)
                    .map(str::to_owned)
                    .collect(),
            }
        })
        .collect()
}

fn summarise(
    spec: &CampaignSpec,
    systems: &[SystemInput],
    wave_of: &[Option<u32>],
    slot_of: &[Option<Occurrence>],
    blocks: Vec<Option<Block>>,
    first_day: NaiveDate,
) -> CampaignPlan {
    let mut systems_by_phase: BTreeMap<String, u32> = BTreeMap::new();
    let mut tenants: BTreeMap<&str, TenantProgress> = BTreeMap::new();
    let mut waves: Vec<Wave> = Vec::new();
    let mut assignments = BTreeMap::new();
    let mut blocked = BTreeMap::new();
    let mut by_reason: BTreeMap<BlockerReason, (u32, Vec<&str>)> = BTreeMap::new();
    let mut completed_systems = 0u32;
    for (i, (system, block)) in systems.iter().zip(blocks).enumerate() {
        *systems_by_phase
            .entry(format!("{:?}", system.phase))
            .or_default() += 1;
        let tenant = tenants
            .entry(system.tenant.as_str())
            .or_insert_with(|| TenantProgress {
                tenant: system.tenant.clone(),
                ..TenantProgress::default()
            });
        tenant.total += 1;
        if system.is_completed() {
            tenant.completed += 1;
            completed_systems += 1;
        }
        if let Some(wave) = wave_of[i] {
            let index = wave as usize - 1;
            if waves.len() <= index {
                waves.resize_with(index + 1, Wave::default);
            }
            let summary = &mut waves[index];
            summary.systems += 1;
            if system.is_completed() {
                summary.completed += 1;
            }
            if let Some(occurrence) = &slot_of[i] {
                summary.first_window = Some(
                    summary
                        .first_window
                        .map_or(occurrence.start, |t| t.min(occurrence.start)),
                );
                summary.last_window_end = Some(
                    summary
                        .last_window_end
                        .map_or(occurrence.end, |t| t.max(occurrence.end)),
                );
                assignments.insert(
                    system.key.clone(),
                    Assignment {
                        wave,
                        window: spec.windows[occurrence.window].name.clone(),
                        start: occurrence.start,
                        end: occurrence.end,
                    },
                );
            }
        }
        if let (None, Some(Hold::Soft(reason))) = (&block, system.hold) {
            tenant.blocked += 1;
            let entry = by_reason.entry(reason).or_default();
            entry.0 += 1;
            entry.1.push(system.key.as_str());
        }
        if let Some(block) = block {
            tenant.blocked += 1;
            let entry = by_reason.entry(block.reason()).or_default();
            entry.0 += 1;
            entry.1.push(system.key.as_str());
            blocked.insert(system.key.clone(), block);
        }
    }
    for (number, wave) in (1u32..).zip(&mut waves) {
        wave.number = number;
    }
    let blockers = group_blockers(by_reason);
    // Systems migrating now finish no earlier than their `busy_until`.
    let projection = project(
        assignments
            .values()
            .map(|a| a.end)
            .chain(systems.iter().filter_map(|s| s.busy_until)),
        spec.deadline,
        spec.time_zone,
        blocked.len(),
    );
    CampaignPlan {
        total_systems: count(systems.len()),
        completed_systems,
        systems_by_phase,
        tenants: tenants.into_values().collect(),
        waves,
        assignments,
        blocked,
        blockers,
        projection,
        first_day,
    }
}

#[cfg(test)]
mod tests {
    use govcloud_crds::common::Classification;
    use govcloud_crds::migration::system::MigrationPhase;

    use super::*;
    use crate::migration::testing::{campaign, date, day, system, window};

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("an RFC 3339 instant")
    }

    #[test]
    fn fits_waves_into_windows_after_their_dependencies() {
        let spec = campaign("2026-03-31", vec![window("fri", "0 22 * * 5", "8h", 2)]);
        let systems = [
            system("a/db", &[]),
            system("a/auth", &[]),
            system("a/cache", &[]),
            system("b/portal", &["a/db", "a/auth"]),
        ];
        let plan = plan_campaign(&spec, &systems, day(2026, 1, 1)).expect("plans");
        let start = |key: &str| plan.assignments[key].start;
        assert_eq!(start("a/db"), utc("2026-01-02T14:00:00Z"));
        assert_eq!(start("a/auth"), utc("2026-01-02T14:00:00Z"));
        assert_eq!(start("a/cache"), utc("2026-01-09T14:00:00Z"));
        // After both dependencies' window closed, sharing the next one with a/cache.
        assert_eq!(start("b/portal"), utc("2026-01-09T14:00:00Z"));
        assert_eq!(plan.assignments["b/portal"].wave, 2);
        assert_eq!(plan.waves.len(), 2);
        assert_eq!(plan.waves[0].systems, 3);
        assert_eq!(
            plan.waves[1].first_window,
            Some(utc("2026-01-09T14:00:00Z"))
        );
        // Closes at 06:00 on Saturday 10 January in Shanghai.
        assert_eq!(plan.projection.completion_date, Some(date(2026, 1, 10)));
        assert_eq!(plan.projection.days_late, Some(-80));
        assert!(plan.projection.on_track);
        assert!(plan.blockers.is_empty());
    }

    #[test]
    fn honours_not_before_today_and_completed_systems() {
        let spec = campaign("2026-12-31", vec![window("fri", "0 22 * * 5", "8h", 10)]);
        let mut later = system("a/later", &[]);
        later.not_before = Some(date(2026, 3, 1));
        let mut done = system("a/done", &[]);
        done.phase = MigrationPhase::Completed;
        let systems = [later, done, system("a/next", &["a/done"])];
        // Today is after the spec's start.
        let plan = plan_campaign(&spec, &systems, day(2026, 2, 1)).expect("plans");
        assert_eq!(plan.first_day, date(2026, 2, 1));
        assert_eq!(
            plan.assignments["a/later"].start,
            utc("2026-03-06T14:00:00Z")
        );
        assert_eq!(
            plan.assignments["a/next"].start,
            utc("2026-02-06T14:00:00Z")
        );
        assert!(!plan.assignments.contains_key("a/done"));
        assert_eq!(plan.completed_systems, 1);
        assert_eq!(plan.waves[0].completed, 1);
        assert_eq!(plan.systems_by_phase["Completed"], 1);
        assert_eq!(plan.systems_by_phase["Pending"], 2);
    }

    #[test]
    fn groups_blockers_by_reason_with_ten_examples() {
        let spec = campaign("2026-12-31", vec![window("fri", "0 22 * * 5", "8h", 10)]);
        let mut systems: Vec<SystemInput> = (0..12)
            .map(|i| system(&format!("t/s{i:02}"), &["t/ghost"]))
            .collect();
        let mut secret = system("t/secret", &[]);
        secret.classification = Classification::Classified;
        systems.push(secret);
        systems.push(system("u/x", &["t/secret"]));
        systems.push(system("u/c1", &["u/c2"]));
        systems.push(system("u/c2", &["u/c1"]));
        let plan = plan_campaign(&spec, &systems, day(2026, 1, 1)).expect("plans");
        assert_eq!(plan.blockers.len(), 3);
        let missing = &plan.blockers[1];
        assert_eq!(missing.reason, BlockerReason::MissingDependency);
        assert_eq!(missing.count, 12);
        assert_eq!(missing.examples.len(), 10);
        assert_eq!(missing.examples[0], "t/s00");
        assert_eq!(plan.blockers[0].reason, BlockerReason::DependencyCycle);
        assert_eq!(plan.blockers[0].examples, vec!["u/c1", "u/c2"]);
        assert_eq!(plan.blockers[2].reason, BlockerReason::ClassifiedDependency);
        assert!(!plan.projection.on_track);
        let tenant_t = &plan.tenants[0];
        assert_eq!(
            (tenant_t.tenant.as_str(), tenant_t.total, tenant_t.blocked),
            ("t", 13, 12)
        );
        assert!(plan.assignments.is_empty());
        assert_eq!(plan.total_systems, 16);
    }

    #[test]
    fn systems_past_the_horizon_and_their_dependents_are_blocked() {
        let spec = campaign("2026-01-31", vec![window("fri", "0 22 * * 5", "8h", 1)]);
        let mut systems: Vec<SystemInput> = (0..400)
            .map(|i| system(&format!("a/s{i:03}"), &[]))
            .collect();
        systems.push(system("b/last", &["a/s399"]));
        let plan = plan_campaign(&spec, &systems, day(2026, 1, 1)).expect("plans");
        assert_eq!(plan.blocked["a/s399"], Block::NoWindow);
        assert_eq!(
            plan.blocked["b/last"].reason(),
            BlockerReason::NoWindowBeforeDeadline
        );
        assert!(plan.projection.days_late.is_some_and(|late| late > 1500));
        assert!(!plan.projection.on_track);
    }

    #[test]
    fn an_open_window_is_used_and_a_closed_one_is_not() {
        let spec = campaign("2026-12-31", vec![window("daily", "0 0 * * *", "12h", 1)]);
        let systems = [system("a/one", &[]), system("a/two", &[])];
        // 10:00 in Shanghai: today's window (00:00–12:00) is open.
        let plan = plan_campaign(&spec, &systems, utc("2026-03-02T02:00:00Z")).expect("plans");
        assert_eq!(plan.assignments["a/one"].start, utc("2026-03-01T16:00:00Z"));
        assert_eq!(plan.assignments["a/two"].start, utc("2026-03-02T16:00:00Z"));
        // 13:00: it closed; tomorrow's is first.
        let plan = plan_campaign(&spec, &systems, utc("2026-03-02T05:00:00Z")).expect("plans");
        assert_eq!(plan.assignments["a/one"].start, utc("2026-03-02T16:00:00Z"));
    }

    #[test]
    fn soft_holds_are_placed_and_listed_hard_holds_block_their_dependents() {
        let spec = campaign("2026-12-31", vec![window("fri", "0 22 * * 5", "8h", 10)]);
        let mut waiting = system("a/waiting", &[]);
        waiting.hold = Some(Hold::Soft(BlockerReason::AwaitingApproval));
        let mut failed = system("a/failed", &[]);
        failed.hold = Some(Hold::Hard(BlockerReason::AwaitingOperations));
        let systems = [waiting, failed, system("a/after", &["a/failed"])];
        let plan = plan_campaign(&spec, &systems, day(2026, 1, 1)).expect("plans");
        assert!(plan.assignments.contains_key("a/waiting"));
        assert!(!plan.blocked.contains_key("a/waiting"));
        assert_eq!(
            plan.blocked["a/failed"],
            Block::Held {
                reason: BlockerReason::AwaitingOperations
            }
        );
        assert_eq!(
            plan.blocked["a/after"].reason(),
            BlockerReason::AwaitingOperations
        );
        let reasons: Vec<(BlockerReason, u32)> =
            plan.blockers.iter().map(|b| (b.reason, b.count)).collect();
        assert_eq!(
            reasons,
            [
                (BlockerReason::AwaitingApproval, 1),
                (BlockerReason::AwaitingOperations, 2)
            ]
        );
        assert!(!plan.projection.on_track, "a hard hold is off track");
    }

    #[test]
    fn a_system_migrating_now_delays_its_dependents_and_the_projection() {
        let spec = campaign("2026-12-31", vec![window("fri", "0 22 * * 5", "8h", 10)]);
        let mut busy = system("a/busy", &[]);
        busy.phase = MigrationPhase::Migrating;
        busy.busy_until = Some(utc("2026-01-05T00:00:00Z"));
        let systems = [busy, system("a/next", &["a/busy"])];
        let plan = plan_campaign(&spec, &systems, day(2026, 1, 1)).expect("plans");
        assert!(!plan.assignments.contains_key("a/busy"));
        // Not the Friday 2 January window, which closes before a/busy is done.
        assert_eq!(
            plan.assignments["a/next"].start,
            utc("2026-01-09T14:00:00Z")
        );
        assert_eq!(plan.assignments["a/next"].wave, 2);
        assert!(plan.blockers.is_empty());
    }

    /// The case proptest found when systems took the occurrence that opened first: a long
    /// window opening earlier delayed the completion past a short one opening later.
    #[test]
    fn an_extra_window_never_delays_the_completion() {
        let short = vec![
            window("thu", "0 0 * * 4", "1h", 1),
            window("sun", "0 0 * * 0", "1h", 1),
        ];
        let mut more = short.clone();
        more.push(window("sat", "0 16 * * 6", "10h", 1));
        let systems = [system("t0/s0", &[]), system("t1/s1", &["t0/s0"])];
        let fewer = plan_campaign(&campaign("2027-12-31", short), &systems, day(2026, 1, 1))
            .expect("plans");
        let more =
            plan_campaign(&campaign("2027-12-31", more), &systems, day(2026, 1, 1)).expect("plans");
        assert_eq!(
            fewer.projection.completion,
            Some(utc("2026-01-03T17:00:00Z"))
        );
        assert!(more.projection.completion <= fewer.projection.completion);
    }
}
