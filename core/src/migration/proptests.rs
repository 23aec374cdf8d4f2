//! Property tests of the planner: waves follow dependencies, occurrences hold at most their
//! concurrency, a system's occurrence follows its dependencies', cycles are always reported
//! (and never looped on), and more windows never finish later.

use std::collections::{BTreeMap, HashMap};

use govcloud_crds::migration::plan::MaintenanceWindow;
use govcloud_crds::migration::system::MigrationPhase;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use super::graph::{Block, Graph};
use super::input::SystemInput;
use super::plan::plan_campaign;
use super::testing::{campaign, day, system, window};
use super::waves;

fn key(i: usize) -> String {
    format!("t{}/s{i}", i % 3)
}

/// Systems whose dependencies may point anywhere (so cycles and self-loops occur), some of
/// them completed.
fn any_graph(max: usize) -> impl Strategy<Value = Vec<SystemInput>> {
    (1..max).prop_flat_map(|n| {
        prop::collection::vec(
            (prop::collection::vec(0..n, 0..4), prop::bool::weighted(0.1)),
            n,
        )
        .prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (deps, completed))| {
                    let deps: Vec<String> = deps.into_iter().map(key).collect();
                    let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                    let mut s = system(&key(i), &deps);
                    if completed {
                        s.phase = MigrationPhase::Completed;
                    }
                    s
                })
                .collect()
        })
    })
}

/// Systems whose dependencies point only to earlier systems (a DAG), all pending.
fn dag(max: usize) -> impl Strategy<Value = Vec<SystemInput>> {
    prop::collection::vec(
        prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        1..max,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, deps)| {
                let deps: Vec<String> = if i == 0 {
                    Vec::new()
                } else {
                    deps.into_iter().map(|d| key(d.index(i))).collect()
                };
                let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                system(&key(i), &deps)
            })
            .collect()
    })
}

fn windows() -> impl Strategy<Value = Vec<MaintenanceWindow>> {
    prop::collection::vec((0..7u32, 0..24u32, 1..30u32, 1..4u32), 1..4).prop_map(|ws| {
        ws.into_iter()
            .enumerate()
            .map(|(i, (day, hour, hours, concurrency))| {
                window(
                    &format!("w{i}"),
                    &format!("0 {hour} * * {day}"),
                    &format!("{hours}h"),
                    concurrency,
                )
            })
            .collect()
    })
}

/// Whether `i` reaches itself, by plain search (the reference for cycle detection).
fn on_cycle_reference(systems: &[SystemInput], i: usize) -> bool {
    let index: HashMap<&str, usize> = systems
        .iter()
        .enumerate()
        .map(|(j, s)| (s.key.as_str(), j))
        .collect();
    let mut seen = vec![false; systems.len()];
    let mut stack: Vec<usize> = vec![i];
    let mut first = true;
    while let Some(v) = stack.pop() {
        if v == i && !first {
            return true;
        }
        first = false;
        for d in &systems[v].depends_on {
            if let Some(&w) = index.get(d.as_str()) {
                if w == i {
                    return true;
                }
                if !seen[w] {
                    seen[w] = true;
                    stack.push(w);
                }
            }
        }
    }
    false
}

proptest! {
    // Failing cases are kept beside this file (`proptests.regressions`), within the module.
    #![proptest_config(ProptestConfig {
        cases: 200,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_wave_is_later_than_its_dependencies(systems in any_graph(40)) {
        let graph = Graph::build(&systems).expect("builds");
        let waves = waves::assign(&systems, &graph);
        for (i, wave) in waves.iter().enumerate() {
            let Some(wave) = wave else { continue };
            if systems[i].is_completed() {
                continue;
            }
            for &d in graph.dependencies(i) {
                let dependency = waves[d as usize];
                prop_assert!(dependency.is_some_and(|w| w < *wave), "{i} → {d}");
            }
        }
    }

    #[test]
    fn cycles_are_always_reported(systems in any_graph(40)) {
        let graph = Graph::build(&systems).expect("builds, never loops");
        for i in 0..systems.len() {
            let expected = on_cycle_reference(&systems, i);
            prop_assert_eq!(graph.on_cycle(i), expected, "system {}", i);
            if expected && !systems[i].is_completed() {
                prop_assert_eq!(graph.block(i), Some(&Block::Cycle));
            }
        }
    }

    #[test]
    fn an_injected_cycle_is_reported(mut systems in dag(30), ring in prop::collection::vec(any::<prop::sample::Index>(), 1..5)) {
        let members: Vec<usize> = ring.iter().map(|i| i.index(systems.len())).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        for (position, &m) in members.iter().enumerate() {
            let next = members[(position + 1) % members.len()];
            systems[m].depends_on.push(key(next));
        }
        let plan = plan_campaign(
            &campaign("2027-12-31", vec![window("w", "0 22 * * 5", "8h", 3)]),
            &systems,
            day(2026, 1, 1),
        ).expect("plans");
        for &m in &members {
            prop_assert_eq!(plan.blocked.get(&key(m)), Some(&Block::Cycle));
        }
    }

    #[test]
    fn occurrences_hold_their_concurrency_and_follow_dependencies(
        systems in any_graph(60),
        windows in windows(),
    ) {
        let concurrency: HashMap<String, u32> =
            windows.iter().map(|w| (w.name.clone(), w.concurrency)).collect();
        let spec = campaign("2026-06-30", windows);
        let plan = plan_campaign(&spec, &systems, day(2026, 1, 1)).expect("plans");
        let mut used: BTreeMap<(String, chrono::DateTime<chrono::Utc>), u32> = BTreeMap::new();
        for assignment in plan.assignments.values() {
            *used.entry((assignment.window.clone(), assignment.start)).or_default() += 1;
        }
        for ((window, start), count) in &used {
            prop_assert!(*count <= concurrency[window], "{window} at {start}: {count}");
        }
        for system in &systems {
            let Some(assignment) = plan.assignments.get(&system.key) else { continue };
            for dependency in &system.depends_on {
                if let Some(before) = plan.assignments.get(dependency) {
                    prop_assert!(before.end <= assignment.start);
                    prop_assert!(before.wave < assignment.wave);
                } else {
                    let done = systems.iter().any(|s| &s.key == dependency && s.is_completed());
                    prop_assert!(done, "{} placed before {}", system.key, dependency);
                }
            }
        }
        // Every pending system is either placed or blocked; none is both.
        for system in systems.iter().filter(|s| !s.is_completed()) {
            let placed = plan.assignments.contains_key(&system.key);
            let blocked = plan.blocked.contains_key(&system.key);
            prop_assert!(placed != blocked, "{}", system.key);
        }
    }

    #[test]
    fn more_windows_never_finish_later(
        systems in dag(60),
        windows in windows(),
        extra in windows(),
    ) {
        let fewer = campaign("2027-12-31", windows.clone());
        let mut all = windows;
        for (i, mut w) in extra.into_iter().enumerate() {
            w.name = format!("extra{i}");
            all.push(w);
        }
        let more = campaign("2027-12-31", all);
        let a = plan_campaign(&fewer, &systems, day(2026, 1, 1)).expect("plans");
        let b = plan_campaign(&more, &systems, day(2026, 1, 1)).expect("plans");
        prop_assert!(b.blocked.len() <= a.blocked.len());
        if a.blocked.is_empty() {
            prop_assert!(b.projection.completion <= a.projection.completion,
                "{:?} > {:?}", b.projection.completion, a.projection.completion);
            prop_assert!(b.projection.days_late <= a.projection.days_late);
        }
    }
}
