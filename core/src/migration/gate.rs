//! The gates a system passes before its runbook starts, pure: the classification gate, the
//! assessment against the tenant's free quota, operations' approval, the reservation, and the
//! maintenance window its campaign placed it in. [`decide`] says where the system stands;
//! [`status`] writes that into its status with the `Assessed`, `QuotaExceeded` and `Ready`
//! conditions (whose transition times move only when their status does).
//!
//! `Pending` (not assessed, or not fitting) → `Assessed` (fits, awaits approval) → `Approved`
//! (awaits a window, or the quota to reserve) → `Scheduled` (reserved, window known) → the
//! runbook starts once the window is open. A classified system, or one operations denied, is
//! `Rejected`; a classified one can never be scheduled.

use chrono::{DateTime, Utc};
use govcloud_crds::common::{Classification, Decision, ResourceList};
use govcloud_crds::migration::system::{
    MigrationPhase, SystemMigrationSpec, SystemMigrationStatus,
};
use govcloud_crds::quantity::ResourceKind;
use k8s_openapi::jiff::Timestamp;

use crate::conditions::{self, Desired};
use crate::tenancy::quota::Quota;

/// Condition: the system was assessed against its tenant's quota.
pub const ASSESSED: &str = "Assessed";
/// Condition: the tenant's free quota cannot hold the system.
pub const QUOTA_EXCEEDED: &str = "QuotaExceeded";
/// Condition: the system progresses (False when blocked, rejected or failed).
pub const READY: &str = "Ready";

/// What the gates know of a system's tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantRoom {
    /// The tenant.
    pub tenant: String,
    /// Its quota minus what is delegated, used, and reserved by its other systems.
    pub free: Quota,
}

/// Where a system stands before its runbook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Classified, or denied by operations.
    Rejected { reason: String },
    /// No tenant owns the system's namespace.
    NoTenant,
    /// The tenant's free quota cannot hold the system.
    QuotaExceeded { approved: bool, shortfall: String },
    /// Fits; operations have not decided.
    AwaitingApproval,
    /// Approved and fits; no campaign has placed it in a window.
    AwaitingWindow { reserved: bool },
    /// Approved, fits, placed: reserve its resources now.
    Reserve,
    /// Reserved; its window opens later.
    WindowNotOpen { opens: DateTime<Utc> },
    /// Reserved; its window closed before it started: waits for its campaign to place it again.
    WindowMissed,
    /// Reserved and its window is open: start the runbook.
    Start,
}

/// The facts [`decide`] weighs.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    pub spec: &'a SystemMigrationSpec,
    /// The system's needs.
    pub request: Quota,
    /// Its tenant, if any.
    pub tenant: Option<&'a TenantRoom>,
    /// Whether it holds a reservation.
    pub reserved: bool,
    /// The window its campaign placed it in.
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub now: DateTime<Utc>,
}

/// The shortfall of `free` for `request`, for people (`cpu: needs 8 cores, 2 cores free`);
/// `None` when it fits.
pub fn shortfall(request: Quota, free: Quota) -> Option<String> {
    let short: Vec<String> = ResourceKind::ALL
        .iter()
        .filter(|&&r| request.get(r) > free.get(r))
        .map(|&r| {
            let free = free.get(r);
            let free = if free.is_negative() {
                govcloud_crds::quantity::Amount::ZERO
            } else {
                free
            };
            format!(
                "{r}: needs {}, {} free",
                request.get(r).human(r),
                free.human(r)
            )
        })
        .collect();
    (!short.is_empty()).then(|| short.join("; "))
}

/// Where the system stands.
pub fn decide(facts: &Facts<'_>) -> Gate {
    let spec = facts.spec;
    if spec.classification == Classification::Classified {
        return Gate::Rejected {
            reason: "classified systems never move onto the government cloud".to_owned(),
        };
    }
    let approved = match &spec.approval {
        Some(approval) if approval.decision == Decision::Denied => {
            return Gate::Rejected {
                reason: format!("denied by {}: {}", approval.decided_by, approval.reason),
            };
        }
        Some(_) => true,
        None => false,
    };
    let Some(tenant) = facts.tenant else {
        return Gate::NoTenant;
    };
    if !facts.reserved
        && let Some(shortfall) = shortfall(facts.request, tenant.free)
    {
        return Gate::QuotaExceeded {
            approved,
            shortfall,
        };
    }
    if !approved {
        return Gate::AwaitingApproval;
    }
    let Some((opens, closes)) = facts.window else {
        return Gate::AwaitingWindow {
            reserved: facts.reserved,
        };
    };
    if !facts.reserved {
        return Gate::Reserve;
    }
    if facts.now < opens {
        Gate::WindowNotOpen { opens }
    } else if facts.now >= closes {
        Gate::WindowMissed
    } else {
        Gate::Start
    }
}

/// The status for `gate` (`Reserve` and `Start` are actions, not states: the caller reserves
/// or starts and then calls this with the gate that follows). `reserved` is what the system
/// holds.
pub fn status(
    previous: &SystemMigrationStatus,
    gate: &Gate,
    reserved: ResourceList,
    generation: Option<i64>,
    now: Timestamp,
) -> SystemMigrationStatus {
    let mut next = previous.clone();
    let (phase, reason, ready): (MigrationPhase, Option<String>, (&str, &str)) = match gate {
        Gate::Rejected { reason } => (
            MigrationPhase::Rejected,
            Some(reason.clone()),
            ("False", "Rejected"),
        ),
        Gate::NoTenant => (
            MigrationPhase::Pending,
            Some("no tenant owns the system's namespace".to_owned()),
            ("False", "NoTenant"),
        ),
        Gate::QuotaExceeded {
            approved,
            shortfall,
        } => (
            if *approved {
                MigrationPhase::Approved
            } else {
                MigrationPhase::Pending
            },
            Some(format!(
                "the tenant's free quota cannot hold the system ({shortfall})"
            )),
            ("False", "QuotaExceeded"),
        ),
        Gate::AwaitingApproval => (
            MigrationPhase::Assessed,
            Some("waiting for approval by operations".to_owned()),
            ("True", "AwaitingApproval"),
        ),
        Gate::AwaitingWindow { .. } | Gate::Reserve => (
            MigrationPhase::Approved,
            Some("waiting for a campaign to place the system in a maintenance window".to_owned()),
            ("True", "AwaitingWindow"),
        ),
        Gate::WindowNotOpen { opens } => (
            MigrationPhase::Scheduled,
            Some(format!(
                "scheduled for the window opening {}",
                opens.to_rfc3339()
            )),
            ("True", "Scheduled"),
        ),
        Gate::Start => (MigrationPhase::Migrating, None, ("True", "Migrating")),
        Gate::WindowMissed => (
            MigrationPhase::Scheduled,
            Some(
                "the window closed before the migration started; waiting for the next one"
                    .to_owned(),
            ),
            ("True", "WindowMissed"),
        ),
    };
    next.phase = phase;
    next.reason.clone_from(&reason);
    next.reserved = reserved;
    next.current_step = None;
    set_conditions(&mut next, gate, reason, ready, generation, now);
    next.observed_generation = generation;
    next
}

/// `Ready` for a system whose runbook runs or ran, from its phase and reason; the rest of
/// the conditions stay as the gates left them.
pub fn set_runbook_ready(
    status: &mut SystemMigrationStatus,
    generation: Option<i64>,
    now: Timestamp,
) {
    let (state, reason, message) = match status.phase {
        MigrationPhase::Completed => ("True", "Completed", "every step succeeded".to_owned()),
        MigrationPhase::Failed => ("False", "Failed", status.reason.clone().unwrap_or_default()),
        MigrationPhase::RollingBack => (
            "False",
            "RollingBack",
            status.reason.clone().unwrap_or_default(),
        ),
        MigrationPhase::RolledBack => (
            "False",
            "RolledBack",
            status.reason.clone().unwrap_or_default(),
        ),
        MigrationPhase::Verifying => (
            "True",
            "Verifying",
            "the runbook verifies the cut-over".to_owned(),
        ),
        _ => ("True", "Migrating", "the runbook runs".to_owned()),
    };
    let ready = Desired {
        kind: READY,
        status: state,
        reason,
        message,
    };
    conditions::set(&mut status.conditions, &ready, generation, now);
    status.observed_generation = generation;
}

/// `Assessed`, `QuotaExceeded` and `Ready` for `gate`.
fn set_conditions(
    next: &mut SystemMigrationStatus,
    gate: &Gate,
    reason: Option<String>,
    ready: (&str, &str),
    generation: Option<i64>,
    now: Timestamp,
) {
    let assessed = match gate {
        Gate::Rejected { .. } => Desired {
            kind: ASSESSED,
            status: "False",
            reason: "Rejected",
            message: reason.clone().unwrap_or_default(),
        },
        Gate::NoTenant => Desired {
            kind: ASSESSED,
            status: "False",
            reason: "NoTenant",
            message: "no tenant owns the system's namespace".to_owned(),
        },
        _ => Desired {
            kind: ASSESSED,
            status: "True",
            reason: "Assessed",
            message: "assessed against the tenant's free quota".to_owned(),
        },
    };
    conditions::set(&mut next.conditions, &assessed, generation, now);
    let exceeded = match gate {
        Gate::QuotaExceeded { shortfall, .. } => Desired {
            kind: QUOTA_EXCEEDED,
            status: "True",
            reason: "QuotaExceeded",
            message: shortfall.clone(),
        },
        _ => Desired {
            kind: QUOTA_EXCEEDED,
            status: "False",
            reason: "WithinQuota",
            message: "the system fits in the tenant's free quota".to_owned(),
        },
    };
    conditions::set(&mut next.conditions, &exceeded, generation, now);
    let ready = Desired {
        kind: READY,
        status: ready.0,
        reason: ready.1,
        message: reason.unwrap_or_default(),
    };
    conditions::set(&mut next.conditions, &ready, generation, now);
}

#[cfg(test)]
mod tests {
    use govcloud_crds::common::Approval;
    use govcloud_crds::quantity::Amount;

    use super::*;

    fn spec(classification: Classification, approval: Option<Decision>) -> SystemMigrationSpec {
        let yaml = format!(
            "displayName: 社保系统\nclassification: {classification:?}\nsource: {{site: 机房, platform: VirtualMachine, hosts: 2}}\nresources: {{cpu: '4', memory: 8Gi}}\nsteps: [{{name: copy, run: {{type: Manual, manual: {{instructions: copy}}}}}}]\n"
        );
        let mut spec: SystemMigrationSpec = serde_norway::from_str(&yaml).expect("a valid spec");
        spec.approval = approval.map(|decision| Approval {
            decision,
            decided_by: "ops".into(),
            reason: "ok".into(),
        });
        spec
    }

    fn cores(n: i64) -> Quota {
        Quota {
            cpu: Amount::from_units(n),
            memory: Amount::from_units(n * 2 * 1024 * 1024 * 1024),
            storage: Amount::ZERO,
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("an RFC 3339 instant")
    }

    fn facts<'a>(spec: &'a SystemMigrationSpec, tenant: Option<&'a TenantRoom>) -> Facts<'a> {
        Facts {
            spec,
            request: cores(4),
            tenant,
            reserved: false,
            window: None,
            now: utc("2026-03-02T02:00:00Z"),
        }
    }

    fn room(free: i64) -> TenantRoom {
        TenantRoom {
            tenant: "police".into(),
            free: cores(free),
        }
    }

    #[test]
    fn classified_systems_are_rejected_whatever_else_holds() {
        let spec = spec(Classification::Classified, Some(Decision::Approved));
        let room = room(100);
        let mut f = facts(&spec, Some(&room));
        f.reserved = true;
        f.window = Some((utc("2026-03-01T00:00:00Z"), utc("2026-03-03T00:00:00Z")));
        assert!(matches!(decide(&f), Gate::Rejected { reason } if reason.contains("classified")));
    }

    #[test]
    fn the_gates_in_order() {
        let pending = spec(Classification::Unclassified, None);
        let approved = spec(Classification::Unclassified, Some(Decision::Approved));
        let denied = spec(Classification::Unclassified, Some(Decision::Denied));
        let big = room(100);
        let small = room(3);
        assert_eq!(decide(&facts(&pending, None)), Gate::NoTenant);
        assert_eq!(
            decide(&facts(&pending, Some(&small))),
            Gate::QuotaExceeded {
                approved: false,
                shortfall: "cpu: needs 4 cores, 3 cores free; memory: needs 8 GiB, 6 GiB free"
                    .into()
            }
        );
        assert_eq!(decide(&facts(&pending, Some(&big))), Gate::AwaitingApproval);
        assert!(
            matches!(decide(&facts(&denied, Some(&big))), Gate::Rejected { reason } if reason == "denied by ops: ok")
        );
        let mut f = facts(&approved, Some(&big));
        assert_eq!(decide(&f), Gate::AwaitingWindow { reserved: false });
        f.window = Some((utc("2026-03-02T03:00:00Z"), utc("2026-03-02T05:00:00Z")));
        assert_eq!(decide(&f), Gate::Reserve);
        f.reserved = true;
        // Once reserved, the tenant's free room (which now excludes the reservation) is not
        // weighed again.
        let small_room = room(0);
        f.tenant = Some(&small_room);
        assert_eq!(
            decide(&f),
            Gate::WindowNotOpen {
                opens: utc("2026-03-02T03:00:00Z")
            }
        );
        f.now = utc("2026-03-02T04:00:00Z");
        assert_eq!(decide(&f), Gate::Start);
        f.now = utc("2026-03-02T05:00:00Z");
        assert_eq!(decide(&f), Gate::WindowMissed);
    }

    #[test]
    fn status_sets_phase_reason_and_conditions_without_churn() {
        let at = |s: i64| Timestamp::from_second(s).expect("instant");
        let gate = Gate::QuotaExceeded {
            approved: false,
            shortfall: "cpu: needs 4 cores, 3 cores free".into(),
        };
        let first = status(
            &SystemMigrationStatus::default(),
            &gate,
            ResourceList::new(),
            Some(1),
            at(100),
        );
        assert_eq!(first.phase, MigrationPhase::Pending);
        assert_eq!(
            conditions::status_of(&first.conditions, QUOTA_EXCEEDED),
            Some("True")
        );
        assert_eq!(
            conditions::status_of(&first.conditions, READY),
            Some("False")
        );
        let again = status(&first, &gate, ResourceList::new(), Some(1), at(200));
        assert_eq!(again, first, "nothing changed, nothing to patch");
        let fits = status(
            &first,
            &Gate::AwaitingApproval,
            ResourceList::new(),
            Some(1),
            at(300),
        );
        assert_eq!(fits.phase, MigrationPhase::Assessed);
        let exceeded = fits
            .conditions
            .iter()
            .find(|c| c.type_ == QUOTA_EXCEEDED)
            .expect("set");
        assert_eq!(exceeded.last_transition_time.0, at(300));
    }
}
