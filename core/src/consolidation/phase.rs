//! The phase machine of a consolidation, pure:
//! `Inventoried → Planned → CuttingOver → Migrated → Decommissioned`.
//!
//! For an extranet migration: `Planned` once every site holds a VLAN, a VRF and its /64;
//! `CuttingOver` once every site's router is served a desired configuration (its
//! `status.desiredConfigGeneration` is set) that carries the network's segment (the VLAN and
//! VRF it holds there: see [`segment_generation`]); `Migrated` once every site's router applied
//! it (`appliedConfigGeneration` at least the desired generation and the generation that
//! carries the segment, and `ConfigApplied=True`). A migrated
//! network stays `Migrated` while its sites are unchanged (a router re-applying an unrelated
//! change does not undo the cutover). Intranet migrations and retirements are never configured
//! here: `Planned` until decommissioned. `Decommissioned` needs operations' confirmation
//! (`spec.decommission`) and, for an extranet migration, `Migrated` first; a confirmation
//! given earlier is reported, never acted on. `Decommissioned` is final.

use govcloud_crds::network::dedicated_network::{ConsolidationPhase, Disposition};

/// What a site's router says of its desired configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouterConfigState {
    /// The router.
    pub router: String,
    /// `status.desiredConfigGeneration`.
    pub desired: Option<i64>,
    /// `status.appliedConfigGeneration`.
    pub applied: Option<i64>,
    /// `ConfigApplied` is `True`.
    pub config_applied: bool,
    /// The generation of the configuration served to the router, when it carries the
    /// network's segment there.
    pub segment_generation: Option<i64>,
}

impl RouterConfigState {
    /// Whether the router is served a desired configuration carrying the segment.
    pub fn served(&self) -> bool {
        self.desired.is_some() && self.segment_generation.is_some()
    }

    /// Whether the router applied a configuration carrying the segment, and what it is served.
    pub fn applied(&self) -> bool {
        let at_least = |generation: Option<i64>| matches!((generation, self.applied), (Some(g), Some(a)) if a >= g);
        at_least(self.desired) && at_least(self.segment_generation) && self.config_applied
    }
}

/// The generation of a served configuration (`body`, the canonical JSON of a `RouterConfig`,
/// at `generation`) when it carries `network`'s segment with `vlan` and VRF table `table`.
pub fn segment_generation(
    body: &str,
    generation: i64,
    network: &str,
    vlan: u16,
    table: u32,
) -> Option<i64> {
    let config: serde_json::Value = serde_json::from_str(body).ok()?;
    let carries = config.get("segments")?.as_array()?.iter().any(|segment| {
        segment.get("network").and_then(serde_json::Value::as_str) == Some(network)
            && segment
                .pointer("/vlan/id")
                .and_then(serde_json::Value::as_u64)
                == Some(u64::from(vlan))
            && segment
                .pointer("/vrf/table")
                .and_then(serde_json::Value::as_u64)
                == Some(u64::from(table))
    });
    carries.then_some(generation)
}

/// What the phase depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseInput {
    pub disposition: Disposition,
    /// The phase in the status.
    pub previous: ConsolidationPhase,
    /// No site problem and no allocation refusal.
    pub valid: bool,
    /// Every site holds a VLAN, a VRF and its /64 (extranet migrations), and there is a site.
    pub allocated: bool,
    /// The sites differ from those of the status (added, removed, re-allocated).
    pub sites_changed: bool,
    /// Each site's router.
    pub routers: Vec<RouterConfigState>,
    /// `spec.decommission` is set.
    pub decommission: bool,
}

/// The phase, and why a confirmed decommission waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseOutcome {
    pub phase: ConsolidationPhase,
    /// Set when `spec.decommission` is set but not acted on: why.
    pub decommission_blocked: Option<String>,
}

/// The phase `input` leads to.
pub fn next_phase(input: &PhaseInput) -> PhaseOutcome {
    if input.previous == ConsolidationPhase::Decommissioned {
        return PhaseOutcome {
            phase: ConsolidationPhase::Decommissioned,
            decommission_blocked: None,
        };
    }
    let phase = migration_phase(input);
    if !input.decommission {
        return PhaseOutcome {
            phase,
            decommission_blocked: None,
        };
    }
    let ready = match input.disposition {
        Disposition::MigrateToExtranet => phase == ConsolidationPhase::Migrated,
        Disposition::MigrateToIntranet | Disposition::Retire => input.valid,
    };
    if ready {
        return PhaseOutcome {
            phase: ConsolidationPhase::Decommissioned,
            decommission_blocked: None,
        };
    }
    let why = match input.disposition {
        Disposition::MigrateToExtranet => format!(
            "spec.decommission is set, but the network is {phase:?}: an extranet migration is \
             decommissioned only once Migrated (every site's router applied its VLAN and VRF), \
             so that no site is cut off"
        ),
        Disposition::MigrateToIntranet | Disposition::Retire => {
            "spec.decommission is set, but the network's sites are invalid: fix them first"
                .to_owned()
        }
    };
    PhaseOutcome {
        phase,
        decommission_blocked: Some(why),
    }
}

fn migration_phase(input: &PhaseInput) -> ConsolidationPhase {
    if !input.valid {
        return ConsolidationPhase::Inventoried;
    }
    if input.disposition != Disposition::MigrateToExtranet {
        return ConsolidationPhase::Planned;
    }
    if !input.allocated {
        return ConsolidationPhase::Inventoried;
    }
    if input.previous == ConsolidationPhase::Migrated && !input.sites_changed {
        return ConsolidationPhase::Migrated;
    }
    if !input.routers.iter().all(RouterConfigState::served) {
        return ConsolidationPhase::Planned;
    }
    if input.routers.iter().all(RouterConfigState::applied) {
        ConsolidationPhase::Migrated
    } else {
        ConsolidationPhase::CuttingOver
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsolidationPhase::{CuttingOver, Decommissioned, Inventoried, Migrated, Planned};

    fn router(desired: Option<i64>, applied: Option<i64>, ok: bool) -> RouterConfigState {
        RouterConfigState {
            router: "ankang-core".into(),
            desired,
            applied,
            config_applied: ok,
            segment_generation: desired,
        }
    }

    #[test]
    fn a_router_is_served_the_segment_only_when_its_configuration_carries_it() {
        let body = r#"{"router":"ankang-core","segments":[{"network":"medins-net",
            "vlan":{"name":"vlan210","parent":"lan0","id":210},
            "vrf":{"name":"vrf1000","table":1000},"address":"2001:db8:0:10::1/64"}]}"#;
        assert_eq!(
            segment_generation(body, 4, "medins-net", 210, 1000),
            Some(4)
        );
        assert_eq!(segment_generation(body, 4, "medins-net", 211, 1000), None);
        assert_eq!(segment_generation(body, 4, "hrss-net", 210, 1000), None);
        assert_eq!(segment_generation("{}", 4, "medins-net", 210, 1000), None);
        assert_eq!(
            segment_generation("not json", 4, "medins-net", 210, 1000),
            None
        );
        // Served a configuration without the segment: not cutting over yet.
        let mut state = router(Some(3), Some(3), true);
        state.segment_generation = None;
        assert!(!state.served() && !state.applied());
        // The segment arrives in generation 4, the router still applies 3.
        state.segment_generation = Some(4);
        assert!(state.served() && !state.applied());
        state.applied = Some(4);
        assert!(state.applied());
    }

    fn extranet(previous: ConsolidationPhase, routers: Vec<RouterConfigState>) -> PhaseInput {
        PhaseInput {
            disposition: Disposition::MigrateToExtranet,
            previous,
            valid: true,
            allocated: true,
            sites_changed: false,
            routers,
            decommission: false,
        }
    }

    #[test]
    fn an_extranet_migration_walks_every_phase() {
        let mut input = extranet(Inventoried, vec![router(None, None, false)]);
        input.allocated = false;
        assert_eq!(next_phase(&input).phase, Inventoried);
        input.allocated = true;
        assert_eq!(next_phase(&input).phase, Planned);
        input.routers = vec![router(Some(3), Some(2), true), router(Some(1), None, false)];
        assert_eq!(next_phase(&input).phase, CuttingOver);
        input.routers = vec![router(Some(3), Some(3), false)];
        assert_eq!(
            next_phase(&input).phase,
            CuttingOver,
            "ConfigApplied is False"
        );
        input.routers = vec![
            router(Some(3), Some(3), true),
            router(Some(1), Some(2), true),
        ];
        assert_eq!(next_phase(&input).phase, Migrated);
        // Migrated stays while the sites are unchanged, even as a router re-applies.
        input.previous = Migrated;
        input.routers = vec![router(Some(4), Some(3), true)];
        assert_eq!(next_phase(&input).phase, Migrated);
        input.sites_changed = true;
        assert_eq!(next_phase(&input).phase, CuttingOver);
    }

    #[test]
    fn an_early_decommission_is_refused_with_the_reason() {
        let mut input = extranet(CuttingOver, vec![router(Some(2), Some(1), true)]);
        input.decommission = true;
        let outcome = next_phase(&input);
        assert_eq!(outcome.phase, CuttingOver);
        let why = outcome.decommission_blocked.expect("blocked");
        assert!(
            why.contains("spec.decommission") && why.contains("CuttingOver"),
            "{why}"
        );
        input.routers = vec![router(Some(2), Some(2), true)];
        let outcome = next_phase(&input);
        assert_eq!(outcome.phase, Decommissioned);
        assert_eq!(outcome.decommission_blocked, None);
        // Final, whatever happens next.
        input.previous = Decommissioned;
        input.decommission = false;
        input.valid = false;
        assert_eq!(next_phase(&input).phase, Decommissioned);
    }

    #[test]
    fn intranet_migrations_and_retirements_stay_planned_until_decommissioned() {
        for disposition in [Disposition::MigrateToIntranet, Disposition::Retire] {
            let mut input = PhaseInput {
                disposition,
                previous: Inventoried,
                valid: true,
                allocated: false,
                sites_changed: false,
                routers: Vec::new(),
                decommission: false,
            };
            assert_eq!(next_phase(&input).phase, Planned);
            input.decommission = true;
            assert_eq!(next_phase(&input).phase, Decommissioned);
            input.valid = false;
            let outcome = next_phase(&input);
            assert_eq!(outcome.phase, Inventoried);
            assert!(outcome.decommission_blocked.is_some());
        }
    }

    #[test]
    fn invalid_sites_keep_a_network_inventoried() {
        let mut input = extranet(Planned, vec![router(Some(1), Some(1), true)]);
        input.valid = false;
        assert_eq!(next_phase(&input).phase, Inventoried);
    }
}
