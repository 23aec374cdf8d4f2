//! The pure side of quota requests: where a request goes next (`Pending → Approved → Applied`,
//! `Denied`, `Expired`), when it expires, when it was decided, the quota it asks for, whether
//! that quota fits the hierarchy, and the statuses to write. No I/O.

use std::collections::BTreeMap;

use govcloud_crds::common::Decision;
use govcloud_crds::quantity::ResourceKind;
use govcloud_crds::tenancy::quota_request::{QuotaRequestPhase, QuotaRequestStatus};
use govcloud_crds::{QuotaRequest, Tenant};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::hierarchy::{Hierarchy, ParentLink};
use super::quota::{InvalidAmount, Partial, Quota, partial_from_amounts, partial_from_list};
use crate::conditions::{self, Desired};
use govcloud_crds::common::{InvalidDuration, parse_go_duration};

/// Condition: operations decided (or the request expired undecided).
pub const DECIDED: &str = "Decided";
/// Condition: the tenant's quota was changed.
pub const APPLIED: &str = "Applied";

/// Audit action of an applied approval.
pub const ACTION_APPLY: &str = "quota-request.apply";
/// Audit action of a denial.
pub const ACTION_DENY: &str = "quota-request.deny";

/// Why a request cannot be processed; permanent until the request changes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// `spec.validFor` is not a duration.
    #[error("spec.validFor: {0}")]
    ValidFor(#[from] InvalidDuration),
    /// A requested amount is not a quantity.
    #[error(transparent)]
    Requested(#[from] InvalidAmount),
    /// The object has no creation time (the API server always sets one).
    #[error("metadata.creationTimestamp is missing")]
    NoCreationTime,
    /// The expiry is beyond what a timestamp can hold.
    #[error("spec.validFor: the request would expire after the end of time")]
    ExpiryOverflow,
}

impl RequestError {
    /// Static category: condition reason, event reason and metric label.
    pub fn category(&self) -> &'static str {
        match self {
            Self::ValidFor(_) | Self::ExpiryOverflow => "InvalidValidFor",
            Self::Requested(_) => "InvalidQuantity",
            Self::NoCreationTime => "MissingMetadata",
        }
    }
}

/// What to do with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// It reached a final phase (`Applied`, `Denied`, `Expired`): history, nothing to do.
    Done,
    /// Undecided: wait for operations until `expires_at`.
    Wait { expires_at: Timestamp },
    /// Undecided past `expires_at`: mark it `Expired`.
    Expire { expires_at: Timestamp },
    /// Denied: record it (once) and mark it `Denied`.
    Deny,
    /// Approved: change the tenant's quota, record it (once) and mark it `Applied`.
    Apply,
}

/// When `request` expires: its creation plus `spec.validFor`.
pub fn expires_at(request: &QuotaRequest) -> Result<Timestamp, RequestError> {
    let created = request
        .metadata
        .creation_timestamp
        .as_ref()
        .ok_or(RequestError::NoCreationTime)?
        .0;
    let valid_for = parse_go_duration(request.spec.valid_for.as_str())?;
    let valid_for =
        SignedDuration::try_from(valid_for).map_err(|_| RequestError::ExpiryOverflow)?;
    created
        .checked_add(valid_for)
        .map_err(|_| RequestError::ExpiryOverflow)
}

/// Where `request` goes next at `now`. A final phase never changes; a decision wins over the
/// expiry as long as the request is not yet marked `Expired` (the controller marks it at the
/// expiry, so only a decision made in time can win).
pub fn next(request: &QuotaRequest, now: Timestamp) -> Result<Next, RequestError> {
    let phase = request.status.as_ref().map(|s| s.phase).unwrap_or_default();
    match phase {
        QuotaRequestPhase::Applied | QuotaRequestPhase::Denied | QuotaRequestPhase::Expired => {
            return Ok(Next::Done);
        }
        QuotaRequestPhase::Pending | QuotaRequestPhase::Approved => {}
    }
    match request.spec.approval.as_ref().map(|a| a.decision) {
        Some(Decision::Approved) => Ok(Next::Apply),
        Some(Decision::Denied) => Ok(Next::Deny),
        None => {
            let expires_at = expires_at(request)?;
            if now >= expires_at {
                Ok(Next::Expire { expires_at })
            } else {
                Ok(Next::Wait { expires_at })
            }
        }
    }
}

/// When the decision was written: the earliest time among the field managers that own
/// `spec.approval` (each of them wrote at or after the decision), if the server records it.
pub fn decision_time(request: &QuotaRequest) -> Option<Timestamp> {
    request
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| entry.subresource.as_deref().is_none_or(str::is_empty))
        .filter(|entry| {
            entry
                .fields_v1
                .as_ref()
                .and_then(|f| f.0.get("f:spec"))
                .and_then(|spec| spec.get("f:approval"))
                .is_some()
        })
        .filter_map(|entry| entry.time.as_ref().map(|t| t.0))
        .min()
}

/// The amounts `request` asks for.
pub fn requested(request: &QuotaRequest) -> Result<Partial, RequestError> {
    Ok(partial_from_amounts(
        &request.spec.requested,
        "spec.requested",
    )?)
}

/// The tenant's quota with the requested resources replaced.
pub fn target_quota(current: Quota, requested: &Partial) -> Quota {
    current.map(|resource, amount| requested.get(&resource).copied().unwrap_or(amount))
}

/// Why an approved change cannot be applied (yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    /// `ParentCapacityExceeded`, `BelowDelegated` or `BelowUsage`.
    pub reason: &'static str,
    /// Names the resource and the amounts.
    pub message: String,
}

/// Whether changing `tenant`'s quota from `current` to `target` keeps the hierarchy sound:
/// raising a resource must keep the parent's children inside the parent's quota; lowering
/// one must keep it at or above what the tenant delegates to its children plus what is in use
/// in its own namespaces (`used`, from its status). Resources that do not change are not
/// checked, so a tenant already in trouble can still shrink.
pub fn check_change(
    name: &str,
    tenant: &Tenant,
    current: Quota,
    target: Quota,
    hierarchy: &Hierarchy<'_>,
) -> Vec<Blocker> {
    let mut blockers = Vec::new();
    let used = tenant
        .status
        .as_ref()
        .and_then(|s| partial_from_list(&s.used, "status.used").ok())
        .unwrap_or_default();
    let delegated = hierarchy
        .children(name)
        .iter()
        .filter_map(|c| Quota::from_spec(&c.spec.quota, "spec.quota").ok())
        .fold(Quota::ZERO, Quota::plus);
    let parent = match hierarchy.parent(tenant) {
        ParentLink::Present(parent) => parent
            .metadata
            .name
            .clone()
            .zip(Quota::from_spec(&parent.spec.quota, "spec.quota").ok()),
        ParentLink::None | ParentLink::Missing(_) => None,
    };
    for resource in ResourceKind::ALL {
        let (from, to) = (current.get(resource), target.get(resource));
        if to > from {
            let Some((parent_name, parent_quota)) = &parent else {
                continue;
            };
            let siblings: govcloud_crds::quantity::Amount = hierarchy
                .children(parent_name)
                .iter()
                .filter(|c| c.metadata.name.as_deref() != Some(name))
                .filter_map(|c| Quota::from_spec(&c.spec.quota, "spec.quota").ok())
                .map(|q| q.get(resource))
                .sum();
            let capacity = parent_quota.get(resource);
            if siblings + to > capacity {
                blockers.push(Blocker {
                    reason: "ParentCapacityExceeded",
                    message: format!(
                        "{resource}: {} for \"{name}\" would bring the child tenants of \"{parent_name}\" to {}, more than its quota of {}",
                        to.human(resource),
                        (siblings + to).human(resource),
                        capacity.human(resource)
                    ),
                });
            }
        } else if to < from {
            let handed_on = delegated.get(resource);
            if to < handed_on {
                blockers.push(Blocker {
                    reason: "BelowDelegated",
                    message: format!(
                        "{resource}: {} is less than the {} \"{name}\" hands on to its child tenants",
                        to.human(resource),
                        handed_on.human(resource)
                    ),
                });
            } else if let Some(in_use) = used.get(&resource)
                && *in_use + handed_on > to
            {
                blockers.push(Blocker {
                    reason: "BelowUsage",
                    message: format!(
                        "{resource}: {} is less than what \"{name}\" uses ({} in use{})",
                        to.human(resource),
                        in_use.human(resource),
                        if handed_on == govcloud_crds::quantity::Amount::ZERO {
                            String::new()
                        } else {
                            format!(
                                ", plus {} handed on to child tenants",
                                handed_on.human(resource)
                            )
                        }
                    ),
                });
            }
        }
    }
    blockers
}

/// `cpu 96 → 128 cores, memory 384 GiB → 512 GiB`, for the requested resources.
pub fn change_summary(previous: &Partial, target: Quota, requested: &Partial) -> String {
    requested
        .keys()
        .map(|resource| {
            let to = target.get(*resource).human(*resource);
            match previous.get(resource) {
                Some(from) => format!("{resource} {} → {to}", from.human(*resource)),
                None => format!("{resource} → {to}"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The status of an undecided request: `Pending` until `expires_at`, with `Decided=False`
/// saying why (waiting, or the tenant does not exist).
pub fn pending_status(
    request: &QuotaRequest,
    tenant_exists: bool,
    expires_at: Timestamp,
    now: Timestamp,
) -> QuotaRequestStatus {
    let generation = request.metadata.generation;
    let mut status = request.status.clone().unwrap_or_default();
    status.phase = QuotaRequestPhase::Pending;
    status.expires_at = Some(Time(expires_at));
    status.observed_generation = generation;
    let desired = if tenant_exists {
        Desired {
            kind: DECIDED,
            status: "False",
            reason: "AwaitingDecision",
            message: format!("waiting for cloud operations to decide; expires at {expires_at}"),
        }
    } else {
        Desired {
            kind: DECIDED,
            status: "False",
            reason: "TenantNotFound",
            message: format!(
                "spec.tenant: tenant \"{}\" does not exist; the request stays Pending until it does or the request expires at {expires_at}",
                request.spec.tenant
            ),
        }
    };
    conditions::set(&mut status.conditions, &desired, generation, now);
    status
}

/// The status of a request that expired undecided.
pub fn expired_status(
    request: &QuotaRequest,
    expires_at: Timestamp,
    now: Timestamp,
) -> QuotaRequestStatus {
    let generation = request.metadata.generation;
    let mut status = request.status.clone().unwrap_or_default();
    status.phase = QuotaRequestPhase::Expired;
    status.expires_at = Some(Time(expires_at));
    status.observed_generation = generation;
    conditions::set(
        &mut status.conditions,
        &Desired {
            kind: DECIDED,
            status: "False",
            reason: "Expired",
            message: format!("no decision before {expires_at}; the request is kept as history"),
        },
        generation,
        now,
    );
    status
}

/// `status` with the decision recorded: `phase`, `decidedAt` (kept once set) and
/// `Decided=True` naming who decided and why.
pub fn with_decision(
    request: &QuotaRequest,
    mut status: QuotaRequestStatus,
    phase: QuotaRequestPhase,
    now: Timestamp,
) -> QuotaRequestStatus {
    let generation = request.metadata.generation;
    status.phase = phase;
    status.observed_generation = generation;
    if status.decided_at.is_none() {
        status.decided_at = Some(Time(decision_time(request).unwrap_or(now)));
    }
    if let Ok(expires_at) = expires_at(request) {
        status.expires_at = Some(Time(expires_at));
    }
    if let Some(approval) = &request.spec.approval {
        let (reason, verb) = match approval.decision {
            Decision::Approved => ("Approved", "approved"),
            Decision::Denied => ("Denied", "denied"),
        };
        conditions::set(
            &mut status.conditions,
            &Desired {
                kind: DECIDED,
                status: "True",
                reason,
                message: format!("{verb} by {}: {}", approval.decided_by, approval.reason),
            },
            generation,
            now,
        );
    }
    status
}

/// `status` with `Applied` set as given.
pub fn with_applied(
    request: &QuotaRequest,
    mut status: QuotaRequestStatus,
    desired: &Desired<'_>,
    now: Timestamp,
) -> QuotaRequestStatus {
    conditions::set(
        &mut status.conditions,
        desired,
        request.metadata.generation,
        now,
    );
    status
}

/// How many requests are in each phase (every phase present, zeros included).
pub fn phase_counts<'a>(
    requests: impl IntoIterator<Item = &'a QuotaRequest>,
) -> BTreeMap<&'static str, i64> {
    let mut counts: BTreeMap<&'static str, i64> =
        PHASES.iter().map(|p| (phase_name(*p), 0)).collect();
    for request in requests {
        let phase = request.status.as_ref().map(|s| s.phase).unwrap_or_default();
        *counts.entry(phase_name(phase)).or_default() += 1;
    }
    counts
}

/// Every phase.
pub const PHASES: [QuotaRequestPhase; 5] = [
    QuotaRequestPhase::Pending,
    QuotaRequestPhase::Approved,
    QuotaRequestPhase::Applied,
    QuotaRequestPhase::Denied,
    QuotaRequestPhase::Expired,
];

/// The phase as written in the status.
pub fn phase_name(phase: QuotaRequestPhase) -> &'static str {
    match phase {
        QuotaRequestPhase::Pending => "Pending",
        QuotaRequestPhase::Approved => "Approved",
        QuotaRequestPhase::Applied => "Applied",
        QuotaRequestPhase::Denied => "Denied",
        QuotaRequestPhase::Expired => "Expired",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::testing::{request, tenant};
    use govcloud_crds::common::Approval;
    use govcloud_crds::quantity::Amount;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("time")
    }

    fn approve(request: &mut QuotaRequest, decision: Decision) {
        request.spec.approval = Some(Approval {
            decision,
            decided_by: "ops@example.org".into(),
            reason: "fits the plan".into(),
        });
    }

    #[test]
    fn phases_move_forward_and_final_ones_stay() {
        let mut r = request("r", "t", "8");
        let created = 1_750_000_000;
        assert_eq!(
            next(&r, at(created + 10)),
            Ok(Next::Wait {
                expires_at: at(created + 3600)
            })
        );
        assert_eq!(
            next(&r, at(created + 3600)),
            Ok(Next::Expire {
                expires_at: at(created + 3600)
            })
        );
        approve(&mut r, Decision::Approved);
        assert_eq!(next(&r, at(created + 7200)), Ok(Next::Apply));
        r.status = Some(QuotaRequestStatus {
            phase: QuotaRequestPhase::Expired,
            ..QuotaRequestStatus::default()
        });
        assert_eq!(next(&r, at(created)), Ok(Next::Done), "a final phase stays");
        r.status = None;
        approve(&mut r, Decision::Denied);
        assert_eq!(next(&r, at(created)), Ok(Next::Deny));
        r.spec.approval = None;
        r.spec.valid_for = "forever".into();
        assert_eq!(
            next(&r, at(created)).expect_err("bad").category(),
            "InvalidValidFor"
        );
    }

    #[test]
    fn the_decision_time_comes_from_the_managers_owning_the_approval() {
        let mut r = request("r", "t", "8");
        let entry = |manager: &str, second: i64, fields: serde_json::Value| ManagedFieldsEntry {
            manager: Some(manager.into()),
            operation: Some("Update".into()),
            time: Some(Time(at(second))),
            fields_v1: Some(FieldsV1(fields)),
            fields_type: Some("FieldsV1".into()),
            ..ManagedFieldsEntry::default()
        };
        r.metadata.managed_fields = Some(vec![
            entry("api", 100, serde_json::json!({"f:spec": {"f:tenant": {}}})),
            entry(
                "kubectl-patch",
                300,
                serde_json::json!({"f:spec": {"f:approval": {}}}),
            ),
            entry(
                "other",
                200,
                serde_json::json!({"f:spec": {"f:approval": {"f:reason": {}}}}),
            ),
        ]);
        assert_eq!(decision_time(&r), Some(at(200)));
        let status = with_decision(
            &r,
            QuotaRequestStatus::default(),
            QuotaRequestPhase::Approved,
            at(999),
        );
        assert_eq!(status.decided_at, Some(Time(at(200))));
        r.metadata.managed_fields = None;
        let status = with_decision(&r, status, QuotaRequestPhase::Approved, at(999));
        assert_eq!(status.decided_at, Some(Time(at(200))), "kept once set");
    }

    #[test]
    fn raising_a_child_beyond_its_parent_is_blocked() {
        let all = [
            tenant("city", None, "100"),
            tenant("a", Some("city"), "60"),
            tenant("b", Some("city"), "30"),
        ];
        let hierarchy = Hierarchy::new(&all);
        let current = Quota::from_spec(&all[1].spec.quota, "q").expect("q");
        let requested = Partial::from([(ResourceKind::Cpu, Amount::parse("75").expect("75"))]);
        let target = target_quota(current, &requested);
        let blockers = check_change("a", &all[1], current, target, &hierarchy);
        assert_eq!(blockers.len(), 1);
        assert_eq!(blockers[0].reason, "ParentCapacityExceeded");
        assert_eq!(
            blockers[0].message,
            "cpu: 75 cores for \"a\" would bring the child tenants of \"city\" to 105 cores, more than its quota of 100 cores"
        );
        let requested = Partial::from([(ResourceKind::Cpu, Amount::parse("70").expect("70"))]);
        assert!(
            check_change(
                "a",
                &all[1],
                current,
                target_quota(current, &requested),
                &hierarchy
            )
            .is_empty()
        );
        assert_eq!(
            change_summary(
                &partial_from_list(&current.to_list(), "p").expect("p"),
                target,
                &requested
            ),
            "cpu 60 cores → 75 cores"
        );
    }

    #[test]
    fn lowering_below_children_or_usage_is_blocked() {
        let mut city = tenant("city", None, "100");
        city.status = Some(govcloud_crds::tenancy::tenant::TenantStatus {
            used: [("cpu".to_owned(), Quantity("30".into()))].into(),
            ..Default::default()
        });
        let all = [city.clone(), tenant("a", Some("city"), "60")];
        let hierarchy = Hierarchy::new(&all);
        let current = Quota::from_spec(&city.spec.quota, "q").expect("q");
        let lower = |cpu: &str| {
            let requested = Partial::from([(ResourceKind::Cpu, Amount::parse(cpu).expect("cpu"))]);
            check_change(
                "city",
                &city,
                current,
                target_quota(current, &requested),
                &hierarchy,
            )
        };
        assert_eq!(lower("50")[0].reason, "BelowDelegated");
        let below_usage = lower("80");
        assert_eq!(below_usage[0].reason, "BelowUsage");
        assert_eq!(
            below_usage[0].message,
            "cpu: 80 cores is less than what \"city\" uses (30 cores in use, plus 60 cores handed on to child tenants)"
        );
        assert!(lower("90").is_empty());
    }

    #[test]
    fn statuses_and_counts() {
        let mut r = request("r", "t", "8");
        let pending = pending_status(&r, false, at(5000), at(10));
        assert_eq!(pending.phase, QuotaRequestPhase::Pending);
        assert_eq!(pending.conditions[0].reason, "TenantNotFound");
        assert!(
            pending.conditions[0]
                .message
                .starts_with("spec.tenant: tenant \"t\" does not exist")
        );
        r.status = Some(pending);
        let expired = expired_status(&r, at(5000), at(6000));
        assert_eq!(expired.phase, QuotaRequestPhase::Expired);
        let mut other = request("o", "t", "8");
        other.status = Some(expired);
        let counts = phase_counts([&r, &other]);
        assert_eq!(counts["Pending"], 1);
        assert_eq!(counts["Expired"], 1);
        assert_eq!(counts["Applied"], 0);
    }
}
