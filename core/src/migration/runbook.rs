//! A system's runbook, pure: which step action is due ([`next`]), and how the status changes
//! when an action starts ([`start`]) or ends ([`finish`]). The reconciler writes the status
//! before it acts and again after, so that a controller killed at any moment neither repeats a
//! finished step nor skips an unfinished one: a step is `Succeeded` only once its outcome was
//! recorded, and an action recorded as started is observed (not started again) on restart.
//!
//! Steps run in order. A failure before the point of no return runs the rollbacks of the
//! steps that succeeded, in reverse order (steps without a rollback are skipped), and the
//! system ends `RolledBack`; a failure after it, or of a rollback, leaves the system `Failed`
//! for operations. The system is `Verifying` once the point of no return is passed (the
//! remaining steps confirm the cut-over), or during the last step of a runbook without one.

use govcloud_crds::migration::step::{MigrationStep, StepAction};
use govcloud_crds::migration::system::{
    MigrationPhase, StepPhase, StepStatus, SystemMigrationStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Which of a step's actions: the step itself or its rollback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    Run,
    Rollback,
}

impl Pass {
    /// `run` or `rollback`, as webhook bodies and Job names say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Rollback => "rollback",
        }
    }
}

/// One action of the runbook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Index of the step in `spec.steps` (and `status.steps`).
    pub index: usize,
    pub pass: Pass,
}

impl Cursor {
    /// The action this cursor names.
    pub fn action(self, steps: &[MigrationStep]) -> Option<&StepAction> {
        let step = steps.get(self.index)?;
        match self.pass {
            Pass::Run => Some(&step.run),
            Pass::Rollback => step.rollback.as_ref(),
        }
    }
}

/// What the runbook needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Start this action (record it, then act).
    Start(Cursor),
    /// This action is in flight: observe it.
    Observe(Cursor),
    /// Every step succeeded.
    Completed,
    /// Every succeeded step with a rollback was rolled back.
    RolledBack,
    /// Failed; waits for operations.
    Failed,
}

/// What an observation of an in-flight action found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still running, or waiting for a confirmation.
    InFlight {
        message: String,
    },
    Succeeded {
        message: String,
    },
    Failed {
        message: String,
    },
}

/// The step statuses of a runbook about to start: every step `Pending`.
pub fn initial_steps(steps: &[MigrationStep]) -> Vec<StepStatus> {
    steps
        .iter()
        .map(|step| StepStatus {
            name: step.name.clone(),
            ..StepStatus::default()
        })
        .collect()
}

fn phase_of(status: &SystemMigrationStatus, index: usize) -> StepPhase {
    status
        .steps
        .get(index)
        .map_or(StepPhase::Pending, |s| s.phase)
}

/// The action due in `status` (whose phase is `Migrating`, `Verifying`, `RollingBack` or
/// `Failed`).
pub fn next(steps: &[MigrationStep], status: &SystemMigrationStatus) -> Next {
    match status.phase {
        MigrationPhase::Failed => Next::Failed,
        MigrationPhase::RollingBack => {
            if let Some(index) =
                (0..steps.len()).rfind(|&i| phase_of(status, i) == StepPhase::RollingBack)
            {
                return Next::Observe(Cursor {
                    index,
                    pass: Pass::Rollback,
                });
            }
            (0..steps.len())
                .rfind(|&i| {
                    phase_of(status, i) == StepPhase::Succeeded && steps[i].rollback.is_some()
                })
                .map_or(Next::RolledBack, |index| {
                    Next::Start(Cursor {
                        index,
                        pass: Pass::Rollback,
                    })
                })
        }
        _ => {
            let Some(index) =
                (0..steps.len()).find(|&i| phase_of(status, i) != StepPhase::Succeeded)
            else {
                return Next::Completed;
            };
            let cursor = Cursor {
                index,
                pass: Pass::Run,
            };
            match phase_of(status, index) {
                StepPhase::Pending => Next::Start(cursor),
                StepPhase::Running | StepPhase::WaitingForConfirmation => Next::Observe(cursor),
                _ => Next::Failed,
            }
        }
    }
}

/// `Verifying` once the point of no return is passed, or during the last step of a runbook
/// without one; `Migrating` before.
pub fn run_phase(
    steps: &[MigrationStep],
    status: &SystemMigrationStatus,
    index: usize,
) -> MigrationPhase {
    let has_point_of_no_return = steps.iter().any(|s| s.point_of_no_return);
    if status.point_of_no_return_passed
        || (!has_point_of_no_return && index + 1 == steps.len() && steps.len() > 1)
    {
        MigrationPhase::Verifying
    } else {
        MigrationPhase::Migrating
    }
}

fn ensure_steps(steps: &[MigrationStep], status: &mut SystemMigrationStatus) {
    if status.steps.len() != steps.len()
        || status
            .steps
            .iter()
            .zip(steps)
            .any(|(s, step)| s.name != step.name)
    {
        status.steps = initial_steps(steps);
    }
}

/// Records that the action of `cursor` starts at `now`: its step `Running`
/// (`WaitingForConfirmation` for a manual step, `RollingBack` for a rollback), one more
/// attempt, `job_name` for a Job.
pub fn start(
    steps: &[MigrationStep],
    status: &SystemMigrationStatus,
    cursor: Cursor,
    now: &Time,
    job_name: Option<String>,
    message: String,
) -> SystemMigrationStatus {
    let mut next = status.clone();
    ensure_steps(steps, &mut next);
    let manual = cursor
        .action(steps)
        .is_some_and(|a| a.kind == govcloud_crds::migration::step::StepKind::Manual);
    let step = &mut next.steps[cursor.index];
    step.phase = match (cursor.pass, manual) {
        (Pass::Rollback, _) => StepPhase::RollingBack,
        (Pass::Run, true) => StepPhase::WaitingForConfirmation,
        (Pass::Run, false) => StepPhase::Running,
    };
    step.attempts = match cursor.pass {
        Pass::Run => step.attempts.saturating_add(1),
        Pass::Rollback => 1,
    };
    step.started_at = Some(now.clone());
    step.finished_at = None;
    step.accepted_at = None;
    step.next_attempt_at = None;
    step.job_name = job_name;
    step.message = Some(message);
    next.current_step = Some(step.name.clone());
    if cursor.pass == Pass::Run {
        next.phase = run_phase(steps, &next, cursor.index);
    }
    next
}

/// What [`finish`] changed, for events and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    StepSucceeded,
    /// A step failed before the point of no return: rollbacks begin.
    RollbackBegins {
        reason: String,
    },
    /// A step failed after the point of no return, or a rollback failed.
    Failed {
        reason: String,
    },
    StepRolledBack,
}

/// Records the end of the action of `cursor` with `outcome` (`Succeeded` or `Failed`; an
/// in-flight outcome only updates the message).
pub fn finish(
    steps: &[MigrationStep],
    status: &SystemMigrationStatus,
    cursor: Cursor,
    outcome: &Outcome,
    now: &Time,
) -> (SystemMigrationStatus, Option<Transition>) {
    let mut next = status.clone();
    ensure_steps(steps, &mut next);
    let name = steps[cursor.index].name.clone();
    let step = &mut next.steps[cursor.index];
    let transition = match (cursor.pass, outcome) {
        (_, Outcome::InFlight { message }) => {
            step.message = Some(message.clone());
            None
        }
        (Pass::Run, Outcome::Succeeded { message }) => {
            step.phase = StepPhase::Succeeded;
            step.finished_at = Some(now.clone());
            step.message = Some(message.clone());
            if steps[cursor.index].point_of_no_return {
                next.point_of_no_return_passed = true;
            }
            if let Some(following) = (cursor.index + 1 < steps.len()).then_some(cursor.index + 1) {
                next.phase = run_phase(steps, &next, following);
            }
            Some(Transition::StepSucceeded)
        }
        (Pass::Run, Outcome::Failed { message }) => {
            step.phase = StepPhase::Failed;
            step.finished_at = Some(now.clone());
            step.message = Some(message.clone());
            if next.point_of_no_return_passed {
                let reason = format!("step {name} failed after the point of no return: {message}");
                next.phase = MigrationPhase::Failed;
                next.reason = Some(reason.clone());
                Some(Transition::Failed { reason })
            } else {
                let reason = format!("step {name} failed: {message}");
                next.phase = MigrationPhase::RollingBack;
                next.reason = Some(reason.clone());
                Some(Transition::RollbackBegins { reason })
            }
        }
        (Pass::Rollback, Outcome::Succeeded { message }) => {
            step.phase = StepPhase::RolledBack;
            step.finished_at = Some(now.clone());
            step.message = Some(message.clone());
            Some(Transition::StepRolledBack)
        }
        (Pass::Rollback, Outcome::Failed { message }) => {
            step.phase = StepPhase::RollbackFailed;
            step.finished_at = Some(now.clone());
            step.message = Some(message.clone());
            let reason = format!("the rollback of step {name} failed: {message}");
            next.phase = MigrationPhase::Failed;
            next.reason = Some(reason.clone());
            Some(Transition::Failed { reason })
        }
    };
    (next, transition)
}

#[cfg(test)]
mod tests {
    use govcloud_crds::migration::step::{ManualAction, StepKind};
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn manual(name: &str, rollback: bool, point_of_no_return: bool) -> MigrationStep {
        let action = StepAction {
            kind: StepKind::Manual,
            job: None,
            webhook: None,
            manual: Some(ManualAction {
                instructions: format!("do {name}"),
            }),
        };
        MigrationStep {
            name: name.to_owned(),
            run: action.clone(),
            rollback: rollback.then_some(action),
            point_of_no_return,
        }
    }

    fn now() -> Time {
        Time(Timestamp::from_second(1_767_225_600).expect("a valid instant"))
    }

    fn migrating() -> SystemMigrationStatus {
        SystemMigrationStatus {
            phase: MigrationPhase::Migrating,
            ..SystemMigrationStatus::default()
        }
    }

    fn run(index: usize) -> Cursor {
        Cursor {
            index,
            pass: Pass::Run,
        }
    }

    fn back(index: usize) -> Cursor {
        Cursor {
            index,
            pass: Pass::Rollback,
        }
    }

    fn ok() -> Outcome {
        Outcome::Succeeded {
            message: "done".into(),
        }
    }

    fn bad() -> Outcome {
        Outcome::Failed {
            message: "disk full".into(),
        }
    }

    /// Drives the runbook, answering each observed action with `answer`; returns the actions
    /// started, in order, and the final status.
    fn drive(
        steps: &[MigrationStep],
        mut status: SystemMigrationStatus,
        answer: impl Fn(Cursor) -> Outcome,
    ) -> (Vec<Cursor>, SystemMigrationStatus, Next) {
        let mut started = Vec::new();
        for _ in 0..100 {
            match next(steps, &status) {
                Next::Start(cursor) => {
                    started.push(cursor);
                    status = start(steps, &status, cursor, &now(), None, "started".into());
                }
                Next::Observe(cursor) => {
                    status = finish(steps, &status, cursor, &answer(cursor), &now()).0;
                }
                end => return (started, status, end),
            }
        }
        panic!("the runbook did not end");
    }

    #[test]
    fn steps_run_in_order_and_complete() {
        let steps = [
            manual("a", false, false),
            manual("b", false, false),
            manual("c", false, false),
        ];
        let (started, status, end) = drive(&steps, migrating(), |_| ok());
        assert_eq!(started, [run(0), run(1), run(2)]);
        assert_eq!(end, Next::Completed);
        assert!(
            status
                .steps
                .iter()
                .all(|s| s.phase == StepPhase::Succeeded && s.attempts == 1)
        );
    }

    #[test]
    fn a_failure_rolls_back_completed_steps_in_reverse_order() {
        let steps = [
            manual("a", true, false),
            manual("b", false, false),
            manual("c", true, false),
            manual("d", true, false),
        ];
        let (started, status, end) =
            drive(
                &steps,
                migrating(),
                |c| if c == run(3) { bad() } else { ok() },
            );
        assert_eq!(
            started,
            [run(0), run(1), run(2), run(3), back(2), back(0)],
            "b has no rollback; d failed and is not rolled back"
        );
        assert_eq!(end, Next::RolledBack);
        let phases: Vec<StepPhase> = status.steps.iter().map(|s| s.phase).collect();
        assert_eq!(
            phases,
            [
                StepPhase::RolledBack,
                StepPhase::Succeeded,
                StepPhase::RolledBack,
                StepPhase::Failed
            ]
        );
        assert_eq!(status.reason.as_deref(), Some("step d failed: disk full"));
    }

    #[test]
    fn after_the_point_of_no_return_a_failure_waits_for_operations() {
        let steps = [
            manual("a", true, false),
            manual("cutover", true, true),
            manual("verify", true, false),
        ];
        let mut seen = Vec::new();
        let (started, status, end) =
            drive(
                &steps,
                migrating(),
                |c| {
                    if c == run(2) { bad() } else { ok() }
                },
            );
        seen.extend(started);
        assert_eq!(seen, [run(0), run(1), run(2)]);
        assert_eq!(end, Next::Failed);
        assert_eq!(status.phase, MigrationPhase::Failed);
        assert!(status.point_of_no_return_passed);
        assert_eq!(
            status.reason.as_deref(),
            Some("step verify failed after the point of no return: disk full")
        );
    }

    #[test]
    fn a_failed_rollback_leaves_the_system_failed() {
        let steps = [manual("a", true, false), manual("b", true, false)];
        let (_, status, end) = drive(&steps, migrating(), |c| {
            if c == run(1) || c == back(0) {
                bad()
            } else {
                ok()
            }
        });
        assert_eq!(end, Next::Failed);
        assert_eq!(status.steps[0].phase, StepPhase::RollbackFailed);
        assert_eq!(
            status.reason.as_deref(),
            Some("the rollback of step a failed: disk full")
        );
    }

    #[test]
    fn the_phase_is_verifying_after_the_point_of_no_return_or_in_the_last_step() {
        let with = [
            manual("copy", false, false),
            manual("cutover", false, true),
            manual("check", false, false),
        ];
        let mut status = migrating();
        status = start(&with, &status, run(0), &now(), None, String::new());
        assert_eq!(status.phase, MigrationPhase::Migrating);
        status = finish(&with, &status, run(0), &ok(), &now()).0;
        status = start(&with, &status, run(1), &now(), None, String::new());
        assert_eq!(status.phase, MigrationPhase::Migrating);
        status = finish(&with, &status, run(1), &ok(), &now()).0;
        assert_eq!(status.phase, MigrationPhase::Verifying);
        let without = [manual("copy", false, false), manual("check", false, false)];
        let status = start(&without, &migrating(), run(1), &now(), None, String::new());
        assert_eq!(status.phase, MigrationPhase::Verifying);
    }

    /// Restart safety: whatever prefix of the writes survived a crash, resuming from it
    /// starts each remaining action exactly once and ends in the same state.
    #[test]
    fn resuming_from_any_recorded_status_neither_repeats_nor_skips_a_step() {
        let steps = [
            manual("a", true, false),
            manual("b", true, false),
            manual("c", true, false),
        ];
        let answer = |c: Cursor| if c == run(2) { bad() } else { ok() };
        // Every status written, with the actions started up to it.
        let mut writes = vec![(migrating(), 0usize)];
        let mut status = migrating();
        let mut starts = 0;
        loop {
            status = match next(&steps, &status) {
                Next::Start(c) => {
                    starts += 1;
                    start(&steps, &status, c, &now(), None, String::new())
                }
                Next::Observe(c) => finish(&steps, &status, c, &answer(c), &now()).0,
                _ => break,
            };
            writes.push((status.clone(), starts));
        }
        let (all, end_status, end) = drive(&steps, migrating(), answer);
        assert_eq!(all.len(), 5, "three runs, then the rollbacks of b and a");
        for (written, (crashed_at, started_before)) in writes.into_iter().enumerate() {
            let (rest, resumed, resumed_end) = drive(&steps, crashed_at, answer);
            assert_eq!(resumed_end, end, "after write {written}");
            assert_eq!(resumed.steps, end_status.steps, "after write {written}");
            assert_eq!(rest[..], all[started_before..], "after write {written}");
        }
    }
}
