//! The status of a dedicated network, pure: disposition, phase (from [`super::phase`]), the
//! allocation of each site, savings once decommissioned, the `Ready` and `CutoverComplete`
//! conditions, and the events that announce a change.

use govcloud_crds::network::dedicated_network::{
    ConsolidationPhase, DedicatedNetworkStatus, Disposition, SiteAllocation,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::phase::{PhaseInput, RouterConfigState, next_phase};
use crate::conditions::{self, Desired};

/// The condition that says whether the network needs no one's attention.
pub const READY: &str = "Ready";
/// The condition that says whether every site's router applied the network's segment.
pub const CUTOVER_COMPLETE: &str = "CutoverComplete";

/// A problem that keeps the network from progressing: its category (condition and event
/// reason) and its message (naming the field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub category: &'static str,
    pub message: String,
}

/// What the status is computed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    pub disposition: Disposition,
    /// Site problems and allocation refusals.
    pub problems: Vec<Problem>,
    /// How many sites the spec lists.
    pub site_count: usize,
    /// The sites holding a VLAN and a VRF, in spec order, with their /64 once allocated.
    pub sites: Vec<SiteAllocation>,
    /// Each site's router.
    pub routers: Vec<RouterConfigState>,
    /// `spec.decommission` is set.
    pub decommission: bool,
    /// `spec.annualCostYuan`.
    pub annual_cost: Option<u64>,
}

impl Facts {
    fn extranet(&self) -> bool {
        self.disposition == Disposition::MigrateToExtranet
    }

    /// The problems, with the missing sites of an extranet migration.
    fn all_problems(&self) -> Vec<Problem> {
        let mut problems = self.problems.clone();
        if self.extranet() && self.site_count == 0 {
            problems.push(Problem {
                category: "NoSites",
                message: "spec.sites: an extranet migration needs at least one site".to_owned(),
            });
        }
        problems
    }

    /// The routers of the sites still waiting for their /64.
    fn prefix_pending(&self) -> Vec<&str> {
        self.sites
            .iter()
            .filter(|s| s.prefix.is_none())
            .map(|s| s.router.as_str())
            .collect()
    }
}

/// The status `facts` lead to from `previous`, for `generation`, at `now`.
pub fn to_status(
    previous: &DedicatedNetworkStatus,
    facts: &Facts,
    generation: Option<i64>,
    now: Timestamp,
) -> DedicatedNetworkStatus {
    let problems = facts.all_problems();
    let valid = problems.is_empty();
    let allocated = facts.extranet()
        && valid
        && facts.sites.len() == facts.site_count
        && facts.prefix_pending().is_empty();
    let outcome = next_phase(&PhaseInput {
        disposition: facts.disposition,
        previous: previous.phase,
        valid,
        allocated,
        sites_changed: previous.sites != facts.sites,
        routers: facts.routers.clone(),
        decommission: facts.decommission,
    });
    let phase = outcome.phase;
    let decommissioned = phase == ConsolidationPhase::Decommissioned;
    let mut status = DedicatedNetworkStatus {
        disposition: Some(facts.disposition),
        phase,
        sites: if facts.extranet() {
            facts.sites.clone()
        } else {
            Vec::new()
        },
        annual_savings_yuan: if decommissioned {
            facts.annual_cost
        } else {
            None
        },
        decommissioned_at: if decommissioned {
            previous.decommissioned_at.clone().or(Some(Time(now)))
        } else {
            None
        },
        conditions: previous.conditions.clone(),
        observed_generation: generation,
    };
    let ready = ready(facts, &problems, phase, outcome.decommission_blocked);
    conditions::set(&mut status.conditions, &ready, generation, now);
    let cutover = cutover(facts, phase);
    conditions::set(&mut status.conditions, &cutover, generation, now);
    status
}

fn ready(
    facts: &Facts,
    problems: &[Problem],
    phase: ConsolidationPhase,
    blocked: Option<String>,
) -> Desired<'static> {
    let not_ready = |reason: &'static str, message: String| Desired {
        kind: READY,
        status: "False",
        reason,
        message,
    };
    if let Some(first) = problems.first() {
        let message = problems
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return not_ready(first.category, message);
    }
    if let Some(why) = blocked {
        return not_ready("DecommissionBlocked", why);
    }
    let pending = facts.prefix_pending();
    if facts.extranet() && phase != ConsolidationPhase::Decommissioned && !pending.is_empty() {
        return not_ready(
            "PrefixPending",
            format!(
                "waiting for the /64 of the sites at {} from the address pool",
                pending.join(", ")
            ),
        );
    }
    let message = match (phase, facts.disposition) {
        (ConsolidationPhase::Decommissioned, _) => {
            "the old network is decommissioned (confirmed in spec.decommission)".to_owned()
        }
        (_, Disposition::MigrateToIntranet) => {
            "tracked: classified networks move onto the intranet, never onto extranet routers"
                .to_owned()
        }
        (_, Disposition::Retire) => "tracked: the network retires".to_owned(),
        (ConsolidationPhase::Migrated, _) => {
            "every site is on the extranet; waiting for operations to confirm decommission"
                .to_owned()
        }
        (_, Disposition::MigrateToExtranet) => format!(
            "every site holds a VLAN, a VRF and a /64; {}",
            if phase == ConsolidationPhase::CuttingOver {
                "the routers are applying them"
            } else {
                "waiting for the routers to be served them"
            }
        ),
    };
    Desired {
        kind: READY,
        status: "True",
        reason: "Reconciled",
        message,
    }
}

fn cutover(facts: &Facts, phase: ConsolidationPhase) -> Desired<'static> {
    let (status, reason, message) = match (facts.disposition, phase) {
        (Disposition::MigrateToIntranet, _) => (
            "False",
            "NotOnExtranet",
            "a classified network is cut over on the intranet, outside govcloud".to_owned(),
        ),
        (Disposition::Retire, _) => (
            "False",
            "NotOnExtranet",
            "a retired network is not cut over".to_owned(),
        ),
        (_, ConsolidationPhase::Migrated | ConsolidationPhase::Decommissioned) => (
            "True",
            "Migrated",
            "every site's router applied the network's VLAN and VRF".to_owned(),
        ),
        (_, ConsolidationPhase::CuttingOver) => {
            let pending: Vec<&str> = facts
                .routers
                .iter()
                .filter(|r| !r.applied())
                .map(|r| r.router.as_str())
                .collect();
            (
                "False",
                "RoutersApplying",
                format!(
                    "waiting for {} to apply the configuration",
                    pending.join(", ")
                ),
            )
        }
        _ => (
            "False",
            "NotCuttingOver",
            format!("the network is {phase:?}"),
        ),
    };
    Desired {
        kind: CUTOVER_COMPLETE,
        status,
        reason,
        message,
    }
}

/// An event to publish: warning or not, reason, note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    pub warning: bool,
    pub reason: String,
    pub note: String,
}

/// The events a change from `previous` to `desired` announces: the new phase; `Ready` turning
/// `False` (or changing its reason while `False`).
pub fn announcements(
    previous: &DedicatedNetworkStatus,
    desired: &DedicatedNetworkStatus,
) -> Vec<Announcement> {
    let mut out = Vec::new();
    if previous.phase != desired.phase {
        out.push(Announcement {
            warning: false,
            reason: format!("{:?}", desired.phase),
            note: format!("phase {:?} → {:?}", previous.phase, desired.phase),
        });
    }
    let find = |s: &DedicatedNetworkStatus| s.conditions.iter().find(|c| c.type_ == READY).cloned();
    if let Some(now) = find(desired).filter(|c| c.status == "False") {
        let before = find(previous);
        let changed = before
            .as_ref()
            .is_none_or(|b| b.status != "False" || b.reason != now.reason);
        if changed {
            out.push(Announcement {
                warning: true,
                reason: now.reason.clone(),
                note: now.message,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use govcloud_crds::common::Prefix;

    use super::*;
    use crate::conditions::status_of;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).expect("a time")
    }

    fn site(router: &str, prefix: Option<&str>) -> SiteAllocation {
        SiteAllocation {
            router: router.into(),
            vlan_id: 100,
            vrf: "vrf1000".into(),
            vrf_table: 1000,
            prefix: prefix.map(Prefix::from),
        }
    }

    fn facts() -> Facts {
        Facts {
            disposition: Disposition::MigrateToExtranet,
            problems: Vec::new(),
            site_count: 1,
            sites: vec![site("ankang-core", Some("2001:db8:0:1::/64"))],
            routers: vec![RouterConfigState {
                router: "ankang-core".into(),
                desired: Some(2),
                applied: Some(2),
                config_applied: true,
                segment_generation: Some(2),
            }],
            decommission: false,
            annual_cost: Some(1_260_000),
        }
    }

    #[test]
    fn decommission_records_savings_once() {
        let migrated = to_status(
            &DedicatedNetworkStatus::default(),
            &facts(),
            Some(1),
            at(10),
        );
        assert_eq!(migrated.phase, ConsolidationPhase::Migrated);
        assert_eq!(
            status_of(&migrated.conditions, CUTOVER_COMPLETE),
            Some("True")
        );
        assert_eq!(migrated.annual_savings_yuan, None);
        let mut confirmed = facts();
        confirmed.decommission = true;
        let done = to_status(&migrated, &confirmed, Some(2), at(20));
        assert_eq!(done.phase, ConsolidationPhase::Decommissioned);
        assert_eq!(done.annual_savings_yuan, Some(1_260_000));
        assert_eq!(done.decommissioned_at, Some(Time(at(20))));
        assert_eq!(
            done.sites, migrated.sites,
            "the segment outlives the old network"
        );
        let again = to_status(&done, &confirmed, Some(2), at(30));
        assert_eq!(again.decommissioned_at, Some(Time(at(20))), "set once");
        assert_eq!(again, done, "nothing changes: no write");
        let events = announcements(&migrated, &done);
        assert_eq!(events[0].reason, "Decommissioned");
    }

    #[test]
    fn problems_and_early_decommission_make_ready_false() {
        let mut bad = facts();
        bad.problems.push(Problem {
            category: "UnknownRouter",
            message: "spec.sites[0].router: \"nowhere\" is not a known Router".into(),
        });
        let status = to_status(&DedicatedNetworkStatus::default(), &bad, Some(1), at(1));
        let ready = &status.conditions[0];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "UnknownRouter")
        );
        assert!(ready.message.contains("spec.sites[0].router"));
        assert_eq!(status.phase, ConsolidationPhase::Inventoried);
        let events = announcements(&DedicatedNetworkStatus::default(), &status);
        assert!(
            events
                .iter()
                .any(|e| e.warning && e.reason == "UnknownRouter")
        );

        let mut early = facts();
        early.routers[0].applied = Some(1);
        early.decommission = true;
        let status = to_status(&DedicatedNetworkStatus::default(), &early, Some(1), at(1));
        assert_eq!(status.phase, ConsolidationPhase::CuttingOver);
        let ready = &status.conditions[0];
        assert_eq!(ready.reason, "DecommissionBlocked");
        assert_eq!(status.annual_savings_yuan, None);
    }

    #[test]
    fn a_missing_prefix_waits() {
        let mut waiting = facts();
        waiting.sites = vec![site("ankang-core", None)];
        let status = to_status(&DedicatedNetworkStatus::default(), &waiting, Some(1), at(1));
        assert_eq!(status.phase, ConsolidationPhase::Inventoried);
        assert_eq!(status.conditions[0].reason, "PrefixPending");
        let mut none = facts();
        none.site_count = 0;
        none.sites.clear();
        let status = to_status(&DedicatedNetworkStatus::default(), &none, Some(1), at(1));
        assert!(status.conditions[0].message.contains("spec.sites"));
    }
}
