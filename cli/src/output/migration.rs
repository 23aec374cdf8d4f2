//! What `govctl migration` prints for people: systems, their steps and instructions, campaigns.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use govcloud_crds::api::{MigrationPlanView, MigrationSummary, MigrationView, PlannedSystem};
use govcloud_crds::common::Decision;

use super::{NONE, Table, amounts, fields, list, optional_time, timestamp};

/// `namespace/name`.
fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// A window for people: `2025-06-06 12:00 – 2025-06-07 22:00 UTC`, or `-`.
pub fn window(start: Option<&DateTime<Utc>>, end: Option<&DateTime<Utc>>) -> String {
    match (start, end) {
        (Some(start), Some(end)) if start.date_naive() == end.date_naive() => format!(
            "{}–{}",
            start.format("%Y-%m-%d %H:%M"),
            end.format("%H:%M UTC")
        ),
        (Some(start), Some(end)) => {
            format!("{} – {}", start.format("%Y-%m-%d %H:%M"), timestamp(end))
        }
        (Some(start), None) => timestamp(start),
        (None, Some(end)) => format!("until {}", timestamp(end)),
        (None, None) => NONE.to_owned(),
    }
}

fn optional<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| NONE.to_owned(), |value| value.to_string())
}

fn decision(decision: Decision) -> &'static str {
    match decision {
        Decision::Approved => "approved",
        Decision::Denied => "denied",
    }
}

/// `govctl migration list` (and what `submit` created).
pub fn systems(systems: &[MigrationSummary]) -> String {
    if systems.is_empty() {
        return "No systems.\n".to_owned();
    }
    let mut table = Table::new(&["SYSTEM", "DISPLAY NAME", "PHASE", "WAVE", "STEP", "WINDOW"]);
    for system in systems {
        table.row(vec![
            key(&system.namespace, &system.name),
            system.display_name.clone(),
            format!("{:?}", system.phase),
            optional(system.wave),
            optional(system.current_step.as_deref()),
            window(system.window_start.as_ref(), system.window_end.as_ref()),
        ]);
    }
    table.render()
}

/// `govctl migration submit`
pub fn submitted(created: &[MigrationSummary]) -> String {
    let count = match created.len() {
        1 => "1 system".to_owned(),
        n => format!("{n} systems"),
    };
    format!(
        "Submitted {count}; the controller assesses them, operations approve them, their \
         campaign schedules them.\n\n{}",
        systems(created)
    )
}

fn summary_fields(view: &MigrationView) -> String {
    let summary = &view.summary;
    let mut class = format!("{:?}", summary.classification);
    if let Some(sensitivity) = view.sensitivity {
        let _ = write!(class, " ({sensitivity:?})");
    }
    let mut phase = format!("{:?}", summary.phase);
    if let Some(reason) = &summary.reason {
        let _ = write!(phase, ": {reason}");
    }
    let approval = view.approval.as_ref().map_or_else(
        || "not yet decided by operations".to_owned(),
        |a| format!("{} by {}: {}", decision(a.decision), a.decided_by, a.reason),
    );
    let source = &view.source;
    let mut runs = format!(
        "{}, {:?}, {} hosts",
        source.site, source.platform, source.hosts
    );
    if let Some(maintainer) = &source.maintainer {
        let _ = write!(runs, ", maintained by {maintainer}");
    }
    fields(&[
        ("System", key(&summary.namespace, &summary.name)),
        ("Display name", summary.display_name.clone()),
        ("Tenant", optional(summary.tenant.as_deref())),
        ("Classification", class),
        ("Phase", phase),
        ("Decision", approval),
        ("Campaign", optional(summary.plan.as_deref())),
        ("Wave", optional(summary.wave)),
        (
            "Window",
            window(summary.window_start.as_ref(), summary.window_end.as_ref()),
        ),
        ("Current step", optional(summary.current_step.as_deref())),
        ("Runs on", runs),
        ("Needs", amounts(&view.resources)),
        ("Depends on", list(&view.depends_on)),
        ("Not before", optional(view.not_before.as_deref())),
        ("Submitted", optional_time(view.created_at.as_ref(), NONE)),
    ])
}

/// `govctl migration show`
pub fn system(view: &MigrationView) -> String {
    let mut text = summary_fields(view);
    let mut steps = Table::new(&[
        "#", "STEP", "TYPE", "PHASE", "ATTEMPTS", "STARTED", "FINISHED", "MESSAGE",
    ]);
    for (index, step) in view.steps.iter().enumerate() {
        let mut kind = format!("{:?}", step.kind);
        if step.point_of_no_return {
            kind.push_str(" (point of no return)");
        }
        steps.row(vec![
            (index + 1).to_string(),
            step.name.clone(),
            kind,
            format!("{:?}", step.phase),
            step.attempts.to_string(),
            optional_time(step.started_at.as_ref(), NONE),
            optional_time(step.finished_at.as_ref(), NONE),
            optional(step.message.as_deref()),
        ]);
    }
    let _ = write!(text, "\nSteps:\n{}", steps.render());
    if !view.blockers.is_empty() {
        text.push_str("\nBlockers:\n");
        for blocker in &view.blockers {
            let _ = writeln!(text, "  - {blocker}");
        }
    }
    let manual: Vec<String> = view
        .steps
        .iter()
        .flat_map(|step| {
            let run = step
                .instructions
                .as_ref()
                .map(|i| format!("  {}: {i}", step.name));
            let back = step
                .rollback_instructions
                .as_ref()
                .map(|i| format!("  {} (rollback): {i}", step.name));
            run.into_iter().chain(back)
        })
        .collect();
    if !manual.is_empty() {
        let _ = write!(
            text,
            "\nManual steps (confirm each with `govctl migration confirm {} STEP`):\n{}\n",
            key(&view.summary.namespace, &view.summary.name),
            manual.join("\n")
        );
    }
    if !view.confirmations.is_empty() {
        text.push_str("\nConfirmed:\n");
        for confirmation in &view.confirmations {
            let what = if confirmation.rollback {
                " (rollback)"
            } else {
                ""
            };
            let _ = writeln!(
                text,
                "  {}{what} by {}",
                confirmation.step, confirmation.confirmed_by
            );
        }
    }
    text
}

/// `govctl migration confirm`
pub fn confirmed(view: &MigrationView, step: &str, rollback: bool) -> String {
    let what = if rollback {
        "The rollback of step"
    } else {
        "Step"
    };
    format!(
        "{what} {step} of {} is confirmed; the controller carries on.\n",
        key(&view.summary.namespace, &view.summary.name)
    )
}

/// `govctl migration approve|deny`
pub fn decided(view: &MigrationView) -> String {
    let system = key(&view.summary.namespace, &view.summary.name);
    match &view.approval {
        Some(approval) => format!(
            "System {system} {} by {}: {}\n",
            decision(approval.decision),
            approval.decided_by,
            approval.reason
        ),
        None => format!("System {system} is not decided.\n"),
    }
}

fn on_track(plan: &MigrationPlanView) -> String {
    match plan.on_track {
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
        None => "not yet known".to_owned(),
    }
}

/// `govctl migration plan` without a name.
pub fn plans(plans: &[MigrationPlanView]) -> String {
    if plans.is_empty() {
        return "No migration campaigns.\n".to_owned();
    }
    let mut table = Table::new(&[
        "NAME",
        "DEADLINE",
        "PROJECTED",
        "DAYS LATE",
        "ON TRACK",
        "SYSTEMS",
        "COMPLETED",
        "WAVES",
    ]);
    for plan in plans {
        table.row(vec![
            plan.name.clone(),
            plan.deadline.clone(),
            optional(plan.projected_completion.as_deref()),
            optional(plan.projected_days_late),
            on_track(plan),
            plan.total_systems.to_string(),
            plan.completed_systems.to_string(),
            plan.waves.len().to_string(),
        ]);
    }
    table.render()
}

fn plan_fields(plan: &MigrationPlanView) -> String {
    let windows: Vec<String> = plan
        .windows
        .iter()
        .map(|w| {
            format!(
                "{} `{}` for {}, {} at a time",
                w.name, w.schedule, w.duration, w.concurrency
            )
        })
        .collect();
    let late = plan.projected_days_late.map_or_else(
        || NONE.to_owned(),
        |days| match days {
            days if days < 0 => format!("{} days early", -days),
            0 => "on the deadline".to_owned(),
            days => format!("{days} days late"),
        },
    );
    fields(&[
        ("Campaign", format!("{} ({})", plan.name, plan.display_name)),
        ("Deadline", plan.deadline.clone()),
        ("Start", optional(plan.start.as_deref())),
        (
            "Projected",
            format!(
                "{} ({late})",
                optional(plan.projected_completion.as_deref())
            ),
        ),
        ("On track", on_track(plan)),
        (
            "Systems",
            format!(
                "{} of {} migrated",
                plan.completed_systems, plan.total_systems
            ),
        ),
        (
            "Windows",
            format!("{} ({})", list(&windows), plan.time_zone),
        ),
    ])
}

fn planned(systems: &[PlannedSystem]) -> String {
    let mut table = Table::new(&["SYSTEM", "DISPLAY NAME", "PHASE", "WAVE", "WINDOW"]);
    for system in systems {
        table.row(vec![
            key(&system.namespace, &system.name),
            system.display_name.clone(),
            format!("{:?}", system.phase),
            optional(system.wave),
            window(system.window_start.as_ref(), system.window_end.as_ref()),
        ]);
    }
    table.render()
}

/// `govctl migration plan NAME`
pub fn plan(plan: &MigrationPlanView) -> String {
    let mut text = plan_fields(plan);
    if plan.waves.is_empty() {
        text.push_str("\nNo waves yet: the controller has not planned the campaign.\n");
    } else {
        let mut waves = Table::new(&["WAVE", "SYSTEMS", "COMPLETED", "WINDOWS"]);
        for wave in &plan.waves {
            waves.row(vec![
                wave.number.to_string(),
                wave.systems.to_string(),
                wave.completed.to_string(),
                window(wave.first_window.as_ref(), wave.last_window_end.as_ref()),
            ]);
        }
        let _ = write!(text, "\nWaves:\n{}", waves.render());
    }
    if !plan.blockers.is_empty() {
        let mut blockers = Table::new(&["BLOCKER", "SYSTEMS", "YOURS"]);
        for blocker in &plan.blockers {
            blockers.row(vec![
                format!("{:?}", blocker.reason),
                blocker.count.to_string(),
                list(&blocker.examples),
            ]);
        }
        let _ = write!(text, "\nBlockers:\n{}", blockers.render());
    }
    if !plan.tenants.is_empty() {
        let mut tenants = Table::new(&["TENANT", "SYSTEMS", "COMPLETED", "BLOCKED"]);
        for tenant in &plan.tenants {
            tenants.row(vec![
                tenant.tenant.clone(),
                tenant.total.to_string(),
                tenant.completed.to_string(),
                tenant.blocked.to_string(),
            ]);
        }
        let _ = write!(text, "\nTenants:\n{}", tenants.render());
    }
    if plan.systems.is_empty() {
        text.push_str("\nNone of your systems is scheduled in this campaign yet.\n");
    } else {
        let _ = write!(text, "\nYour systems:\n{}", planned(&plan.systems));
    }
    text
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn windows_read_well() {
        let at = |d, h| {
            Utc.with_ymd_and_hms(2025, 6, d, h, 0, 0)
                .single()
                .expect("time")
        };
        assert_eq!(
            window(Some(&at(6, 12)), Some(&at(6, 20))),
            "2025-06-06 12:00–20:00 UTC"
        );
        assert_eq!(
            window(Some(&at(6, 12)), Some(&at(7, 22))),
            "2025-06-06 12:00 – 2025-06-07 22:00 UTC"
        );
        assert_eq!(window(Some(&at(6, 12)), None), "2025-06-06 12:00 UTC");
        assert_eq!(window(None, None), "-");
    }
}
