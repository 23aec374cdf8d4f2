//! Wave planning for 50,000 systems: a random dependency DAG with
//! three dependencies per system on average (seeded, so every run plans the same campaign),
//! weekly maintenance windows holding 50 systems each. Prints the median of several runs and
//! the process's peak resident memory.
//!
//! `cargo bench -p govcloud-core --bench wave_planning`

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use govcloud_core::migration::{CampaignSpec, SystemInput, plan_campaign};
use govcloud_crds::common::{Classification, CronSchedule, IsoDate};
use govcloud_crds::migration::plan::{Freeze, MaintenanceWindow, MigrationPlanSpec};
use govcloud_crds::migration::system::MigrationPhase;

const SYSTEMS: usize = 50_000;
const TENANTS: usize = 200;
const RUNS: usize = 7;

/// SplitMix64: a small seeded generator, enough for a reproducible graph.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % bound as u64).unwrap_or(0)
    }
}

fn key(i: usize) -> String {
    format!("tenant-{:03}/system-{i:05}", i % TENANTS)
}

/// Each system depends on 0–6 (three on average) distinct earlier systems.
fn systems(seed: u64) -> Vec<SystemInput> {
    let mut rng = SplitMix(seed);
    (0..SYSTEMS)
        .map(|i| {
            let wanted = rng.below(7).min(i);
            let mut deps: Vec<usize> = Vec::with_capacity(wanted);
            while deps.len() < wanted {
                let d = rng.below(i);
                if !deps.contains(&d) {
                    deps.push(d);
                }
            }
            SystemInput {
                key: key(i),
                tenant: format!("tenant-{:03}", i % TENANTS),
                classification: Classification::Unclassified,
                phase: if rng.below(20) == 0 {
                    MigrationPhase::Completed
                } else {
                    MigrationPhase::Approved
                },
                depends_on: deps.into_iter().map(key).collect(),
                not_before: None,
                hold: None,
                busy_until: None,
            }
        })
        .collect()
}

fn window(name: &str, schedule: &str) -> MaintenanceWindow {
    MaintenanceWindow {
        name: name.to_owned(),
        schedule: CronSchedule::from(schedule),
        duration: govcloud_crds::common::Duration::from("6h"),
        concurrency: 50,
    }
}

fn spec(windows: Vec<MaintenanceWindow>) -> CampaignSpec {
    let spec = MigrationPlanSpec {
        display_name: "迁移上云".to_owned(),
        system_selector: None,
        deadline: IsoDate::from("2027-12-31"),
        start: Some(IsoDate::from("2026-01-05")),
        time_zone: "Asia/Shanghai".to_owned(),
        maintenance_windows: windows,
        freezes: vec![Freeze {
            from: IsoDate::from("2026-02-14"),
            to: IsoDate::from("2026-02-22"),
            reason: Some("春节".to_owned()),
        }],
    };
    match CampaignSpec::from_spec(&spec) {
        Ok(spec) => spec,
        Err(error) => panic!("the benchmark's spec is invalid: {error}"),
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn measure(label: &str, spec: &CampaignSpec, systems: &[SystemInput]) {
    // Midnight of Monday 5 January 2026 in Shanghai.
    let now = DateTime::parse_from_rfc3339("2026-01-04T16:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut summary = String::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let plan = match plan_campaign(spec, systems, now) {
            Ok(plan) => plan,
            Err(error) => panic!("planning failed: {error}"),
        };
        times.push(started.elapsed());
        summary = format!(
            "{} waves, {} scheduled, {} blocked, completion {:?}, {:?} days late",
            plan.waves.len(),
            plan.assignments.len(),
            plan.blocked.len(),
            plan.projection.completion_date,
            plan.projection.days_late
        );
        std::hint::black_box(plan);
    }
    times.sort_unstable();
    println!(
        "{label}: median {:.1} ms (min {:.1}, max {:.1}) over {RUNS} runs; {summary}",
        times[RUNS / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[RUNS - 1].as_secs_f64() * 1e3,
    );
}

fn main() {
    let started = Instant::now();
    let systems = systems(0x00C0_FFEE);
    let edges: usize = systems.iter().map(|s| s.depends_on.len()).sum();
    println!(
        "wave_planning: {SYSTEMS} systems, {edges} dependencies ({}.{:02} per system), generated in {:.0} ms; peak RSS before planning {} KiB",
        edges / SYSTEMS,
        edges * 100 / SYSTEMS % 100,
        started.elapsed().as_secs_f64() * 1e3,
        peak_rss_kib().unwrap_or_default()
    );
    // Ten weekly windows (weekday evenings and early mornings), 50 systems each.
    let ten: Vec<MaintenanceWindow> = (1..=5)
        .flat_map(|day| {
            [
                window(&format!("evening-{day}"), &format!("0 22 * * {day}")),
                window(&format!("morning-{day}"), &format!("0 2 * * {}", day + 1)),
            ]
        })
        .collect();
    measure("10 weekly windows x 50", &spec(ten), &systems);
    // One weekly window of 50: the horizon runs out and the rest is blocked.
    measure(
        "1 weekly window x 50",
        &spec(vec![window("friday", "0 22 * * 5")]),
        &systems,
    );
    println!(
        "peak RSS (whole process) {} KiB",
        peak_rss_kib().unwrap_or_default()
    );
}
