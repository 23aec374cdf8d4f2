//! A tenant's status, computed from the plan and what the apply observed: namespaces, hard,
//! used, delegated, and the `Ready` and `QuotaExceeded` conditions. Pure: the reconciler
//! compares the result with the stored status and patches only when they differ.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use govcloud_crds::quantity::ResourceKind;
use govcloud_crds::tenancy::tenant::TenantStatus;
use k8s_openapi::jiff::Timestamp;

use super::plan::{Parent, Validated};
use super::quota::{Partial, partial_to_list};
use crate::conditions::{self, Desired};

/// Condition: everything the tenant needs is in place.
pub const READY: &str = "Ready";
/// Condition: the children's quotas or the usage exceed the tenant's quota.
pub const QUOTA_EXCEEDED: &str = "QuotaExceeded";

/// What applying the plan found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The namespaces written, the default one first.
    pub namespaces: Vec<String>,
    /// Namespaces of the tenant no longer in its spec, whose quota was set to zero.
    pub frozen: Vec<String>,
    /// Usage summed over the namespaces' `ResourceQuota` statuses (only the resources some
    /// quota reports).
    pub usage: Partial,
}

/// How a reconcile ended, for the status.
#[derive(Clone, Debug)]
pub enum Outcome<'a> {
    /// The plan was applied.
    Reconciled {
        validated: &'a Validated,
        observed: &'a Observed,
    },
    /// The tenant could not be planned or applied; nothing but the conditions change.
    Failed {
        /// The error's category.
        reason: &'static str,
        message: String,
    },
}

/// One way the quota is exceeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Excess {
    /// `ChildQuotasExceedQuota` or `UsageExceedsQuota`.
    pub reason: &'static str,
    /// Names the resource and the amounts in human units.
    pub message: String,
}

/// Every way the validated tenant's quota is exceeded: by its children's quotas, or by what is
/// in use in its own namespaces beyond what is left to them.
pub fn quota_exceeded(validated: &Validated, usage: &Partial) -> Vec<Excess> {
    let mut found = Vec::new();
    for resource in ResourceKind::ALL {
        let quota = validated.quota.get(resource);
        let delegated = validated.delegated.get(resource);
        if delegated > quota {
            let mut largest: Vec<_> = validated
                .children
                .iter()
                .map(|(name, q)| (q.get(resource), name))
                .collect();
            largest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
            let largest = largest
                .iter()
                .take(3)
                .map(|(amount, name)| format!("{name} {}", amount.human(resource)))
                .collect::<Vec<_>>()
                .join(", ");
            found.push(Excess {
                reason: "ChildQuotasExceedQuota",
                message: format!(
                    "{resource}: the child tenants' quotas add up to {}, more than the tenant's quota of {} (largest: {largest})",
                    delegated.human(resource),
                    quota.human(resource),
                ),
            });
        }
        let Some(used) = usage.get(&resource) else {
            continue;
        };
        let own = validated.own.get(resource);
        if *used > own {
            let message = if validated.children.is_empty() {
                format!(
                    "{resource}: {} in use, more than the quota of {}",
                    used.human(resource),
                    quota.human(resource)
                )
            } else {
                format!(
                    "{resource}: {} in use in the tenant's own namespaces, more than the {} left to them (quota {} minus {} delegated to child tenants)",
                    used.human(resource),
                    own.human(resource),
                    quota.human(resource),
                    delegated.human(resource)
                )
            };
            found.push(Excess {
                reason: "UsageExceedsQuota",
                message,
            });
        }
    }
    found
}

/// The status the tenant should have: `current` with what `outcome` says, for `generation`,
/// at `now` (used only for conditions whose status changes).
pub fn desired_status(
    current: Option<&TenantStatus>,
    generation: Option<i64>,
    outcome: &Outcome<'_>,
    now: Timestamp,
) -> TenantStatus {
    let mut status = current.cloned().unwrap_or_default();
    status.observed_generation = generation;
    let mut set = |desired: Desired<'_>| {
        conditions::set(&mut status.conditions, &desired, generation, now);
    };
    match outcome {
        Outcome::Failed { reason, message } => {
            set(Desired {
                kind: READY,
                status: "False",
                reason,
                message: message.clone(),
            });
            if conditions::status_of(&status.conditions, QUOTA_EXCEEDED).is_none() {
                conditions::set(
                    &mut status.conditions,
                    &Desired {
                        kind: QUOTA_EXCEEDED,
                        status: "Unknown",
                        reason: "NotEvaluated",
                        message: "the tenant could not be planned".to_owned(),
                    },
                    generation,
                    now,
                );
            }
        }
        Outcome::Reconciled {
            validated,
            observed,
        } => {
            let mut message = format!(
                "namespaces {} have their quota, limits, network policy and role binding",
                observed.namespaces.join(", ")
            );
            if !observed.frozen.is_empty() {
                let _ = write!(
                    message,
                    "; namespaces no longer in spec.namespaces keep a zero quota until deleted: {}",
                    observed.frozen.join(", ")
                );
            }
            match &validated.parent {
                Parent::Missing(parent) => set(Desired {
                    kind: READY,
                    status: "False",
                    reason: "ParentNotFound",
                    message: format!(
                        "spec.parent: tenant \"{parent}\" does not exist, so the quota is not checked against a parent; {message}"
                    ),
                }),
                Parent::Root | Parent::Present(_) => set(Desired {
                    kind: READY,
                    status: "True",
                    reason: "Reconciled",
                    message,
                }),
            }
            let excess = quota_exceeded(validated, &observed.usage);
            match excess.first() {
                Some(first) => set(Desired {
                    kind: QUOTA_EXCEEDED,
                    status: "True",
                    reason: first.reason,
                    message: excess
                        .iter()
                        .map(|e| e.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                }),
                None => set(Desired {
                    kind: QUOTA_EXCEEDED,
                    status: "False",
                    reason: "WithinQuota",
                    message: "the child tenants' quotas and the usage fit in the quota".to_owned(),
                }),
            }
            status.namespaces.clone_from(&observed.namespaces);
            status.hard = validated.quota.to_list();
            status.used = partial_to_list(&observed.usage);
            status.delegated = if validated.children.is_empty() {
                BTreeMap::default()
            } else {
                validated.delegated.to_list()
            };
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::hierarchy::Hierarchy;
    use crate::tenancy::plan::validate;
    use crate::tenancy::testing::tenant;
    use govcloud_crds::quantity::Amount;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("time")
    }

    fn condition<'a>(
        status: &'a TenantStatus,
        kind: &str,
    ) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == kind)
            .expect(kind)
    }

    #[test]
    fn children_above_the_parent_set_quota_exceeded_with_amounts() {
        let city = tenant("city", None, "100");
        let all = [
            city.clone(),
            tenant("a", Some("city"), "80"),
            tenant("b", Some("city"), "40"),
        ];
        let validated = validate("city", &city, &Hierarchy::new(&all)).expect("valid");
        let observed = Observed {
            namespaces: vec!["city".into()],
            ..Observed::default()
        };
        let status = desired_status(
            None,
            Some(3),
            &Outcome::Reconciled {
                validated: &validated,
                observed: &observed,
            },
            at(10),
        );
        let exceeded = condition(&status, QUOTA_EXCEEDED);
        assert_eq!(exceeded.status, "True");
        assert_eq!(exceeded.reason, "ChildQuotasExceedQuota");
        assert!(
            exceeded.message.starts_with(
                "cpu: the child tenants' quotas add up to 120 cores, more than the tenant's quota of 100 cores (largest: a 80 cores, b 40 cores)"
            ),
            "{}",
            exceeded.message
        );
        assert!(
            exceeded
                .message
                .contains("memory: the child tenants' quotas add up to 120 GiB")
        );
        assert_eq!(condition(&status, READY).status, "True");
        assert_eq!(status.delegated["cpu"], Quantity("120".into()));
        assert_eq!(status.hard["cpu"], Quantity("100".into()));
        assert_eq!(status.observed_generation, Some(3));
    }

    #[test]
    fn usage_above_the_quota_is_reported_and_an_unchanged_status_is_equal() {
        let t = tenant("t", None, "4");
        let validated = validate("t", &t, &Hierarchy::new([&t])).expect("valid");
        let observed = Observed {
            namespaces: vec!["t".into()],
            frozen: Vec::new(),
            usage: Partial::from([(ResourceKind::Cpu, Amount::parse("5").expect("5"))]),
        };
        let outcome = Outcome::Reconciled {
            validated: &validated,
            observed: &observed,
        };
        let first = desired_status(None, Some(1), &outcome, at(10));
        let exceeded = condition(&first, QUOTA_EXCEEDED);
        assert_eq!(exceeded.reason, "UsageExceedsQuota");
        assert_eq!(
            exceeded.message,
            "cpu: 5 cores in use, more than the quota of 4 cores"
        );
        assert_eq!(first.used["cpu"], Quantity("5".into()));
        assert!(first.delegated.is_empty());
        let again = desired_status(Some(&first), Some(1), &outcome, at(99));
        assert_eq!(again, first, "nothing changed, so nothing to patch");
    }

    #[test]
    fn failures_keep_the_last_good_fields_and_missing_parents_are_not_ready() {
        let orphan = tenant("orphan", Some("gone"), "1");
        let validated = validate("orphan", &orphan, &Hierarchy::new([&orphan])).expect("valid");
        let observed = Observed {
            namespaces: vec!["orphan".into()],
            ..Observed::default()
        };
        let good = desired_status(
            None,
            Some(1),
            &Outcome::Reconciled {
                validated: &validated,
                observed: &observed,
            },
            at(10),
        );
        let ready = condition(&good, READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "ParentNotFound")
        );
        assert!(
            ready
                .message
                .starts_with("spec.parent: tenant \"gone\" does not exist")
        );
        let failed = desired_status(
            Some(&good),
            Some(2),
            &Outcome::Failed {
                reason: "NamespaceSharesExceeded",
                message: "spec.namespaces: too much".into(),
            },
            at(20),
        );
        assert_eq!(failed.namespaces, good.namespaces);
        assert_eq!(failed.hard, good.hard);
        let ready = condition(&failed, READY);
        assert_eq!(ready.reason, "NamespaceSharesExceeded");
        assert_eq!(
            ready.last_transition_time,
            condition(&good, READY).last_transition_time
        );
        assert_eq!(failed.observed_generation, Some(2));
    }
}
