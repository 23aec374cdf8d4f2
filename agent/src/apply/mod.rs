//! The apply path: converges the kernel to a `RouterConfig` — addresses, multipath
//! routes, VLAN subinterfaces in VRFs — through the same netlink adapter as the observation path.
//!
//! Stages: [`desired`] parses and validates the document (nothing touches the kernel before it
//! is accepted), [`observed`] reads what the kernel has, [`diff`] (pure) plans batches of
//! operations, [`execute`] runs them with rollback per batch, and [`record`] / [`state_file`]
//! remember what the agent made so that it only ever removes its own.
//!
//! # For the run loop
//!
//! ```text
//! // Parse: a document that does not parse or is malformed is rejected whole, naming the path.
//! pub fn desired::parse(text: &str, protected: &[String]) -> Result<DesiredState, DesiredError>
//! pub fn desired::validate(config: &RouterConfig, protected: &[String]) -> Result<DesiredState, DesiredError>
//!
//! // Converge, on a blocking thread, inside the router's namespace (crate::netns::run_in):
//! pub fn converge(netlink: &mut Netlink, desired: &DesiredState, state_dir: &Path) -> ConvergeOutcome
//! //   ConvergeOutcome { generation, batches: Vec<BatchReport { name, done, already_gone, error }>,
//! //                     errors: Vec<String>, drift: Vec<String> }
//! //   outcome.complete() → every batch applied, nothing refused or in conflict: report
//! //   `appliedGeneration = generation`; always `attemptedGeneration = generation`,
//! //   `errors = outcome.errors`, `drift = outcome.drift` (ConfigReport).
//!
//! // Drift alone (observation only, nothing changed), e.g. between two configurations:
//! pub fn drift(netlink: &mut Netlink, desired: &DesiredState, state_dir: &Path) -> Result<Vec<String>, ApplyError>
//!
//! // The plan alone (what `apply --dry-run` prints):
//! pub fn plan(netlink: &mut Netlink, desired: &DesiredState, state_dir: &Path) -> Result<Plan, ApplyError>
//! ```
//!
//! A delete of an address or route the kernel no longer has counts as done (its intent is
//! "gone"): it is listed in `already_gone`, not an error, and the rest of its batch applies.
//!
//! `errors` holds the refused items (a classified segment, anything on a protected interface),
//! the conflicts (a device of a desired name the agent did not make, the agent's own route via
//! a now-protected interface) and the failed batches (each rolled back). `drift` is what still
//! differs after the convergence, one line each (e.g. `route 2001:db8:a00:100::/56 missing`).
//!
//! # The agent's routing protocol number
//!
//! Every route the agent makes carries `proto 241` ([`GOVCLOUD_ROUTE_PROTOCOL`]). The kernel
//! gives the number no meaning; iproute2's `rt_protos` names nothing above 192 (`eigrp`) but
//! for its own private range, so 241 collides with no routing daemon. A route of any other
//! protocol is never replaced or deleted by the agent, and its delete requests carry the number
//! so the kernel itself refuses to delete another protocol's route.

pub mod desired;
pub mod diff;
pub mod execute;
pub mod observed;
pub mod record;
pub mod state_file;

#[cfg(test)]
mod tests;

use std::path::Path;

use crate::netlink::{Netlink, NetlinkError};

pub use desired::{DesiredError, DesiredState};
pub use diff::{Batch, Observed, Operation, Plan};
pub use execute::BatchReport;
pub use record::Record;

/// The routing protocol number (`rtm_protocol`) of the agent's routes: `ip route … proto 241`.
pub const GOVCLOUD_ROUTE_PROTOCOL: u8 = 241;

/// Why the agent could not even plan.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    StateFile(#[from] state_file::StateFileError),
    #[error("failed to observe the kernel before applying: {0}")]
    Observe(#[from] NetlinkError),
}

/// What one convergence did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConvergeOutcome {
    /// The generation of the desired state applied.
    pub generation: i64,
    /// Every batch run, in order.
    pub batches: Vec<BatchReport>,
    /// Refusals, conflicts and failed batches, one line each.
    pub errors: Vec<String>,
    /// What still differs after the convergence, one line each.
    pub drift: Vec<String>,
}

impl ConvergeOutcome {
    /// Whether the desired state was applied in full.
    pub fn complete(&self) -> bool {
        self.errors.is_empty()
    }

    /// The batches that succeeded.
    pub fn applied_batches(&self) -> impl Iterator<Item = &BatchReport> {
        self.batches.iter().filter(|batch| batch.error.is_none())
    }
}

/// The plan converging the kernel of `netlink`'s namespace to `desired`, changing nothing.
pub fn plan(
    netlink: &mut Netlink,
    desired: &DesiredState,
    state_dir: &Path,
) -> Result<Plan, ApplyError> {
    let record = state_file::load(state_dir)?;
    let observed = observed::observe(netlink)?;
    Ok(diff::plan(desired, &observed, &record))
}

/// What differs between `desired` and the kernel, one line each, changing nothing.
pub fn drift(
    netlink: &mut Netlink,
    desired: &DesiredState,
    state_dir: &Path,
) -> Result<Vec<String>, ApplyError> {
    Ok(plan(netlink, desired, state_dir)?.drift())
}

/// Converges the kernel of `netlink`'s namespace to `desired`: plans, runs every batch (each
/// rolled back on failure), writes the record after each batch, then observes again for drift.
pub fn converge(
    netlink: &mut Netlink,
    desired: &DesiredState,
    state_dir: &Path,
) -> ConvergeOutcome {
    let mut outcome = ConvergeOutcome {
        generation: desired.generation,
        ..ConvergeOutcome::default()
    };
    outcome
        .errors
        .extend(desired.refused.iter().map(ToString::to_string));
    let loaded = state_file::load(state_dir).map_err(ApplyError::from);
    let start = loaded.and_then(|record| Ok((observed::observe(netlink)?, record)));
    let (observed, record) = match start {
        Ok(start) => start,
        Err(error) => {
            outcome.errors.push(error.to_string());
            return outcome;
        }
    };
    let plan = diff::plan(desired, &observed, &record);
    outcome.errors.extend(plan.conflicts.iter().cloned());
    let mut save =
        |record: &Record| state_file::save(state_dir, record).map_err(|error| error.to_string());
    if plan.record != record
        && let Err(error) = save(&plan.record)
    {
        outcome.errors.push(error);
    }
    let mut record = plan.record.clone();
    let mut executor = execute::Executor::new(netlink, &observed);
    outcome.batches = execute::run(&mut executor, &plan, &mut record, &mut save);
    outcome.errors.extend(
        outcome
            .batches
            .iter()
            .filter_map(|batch| batch.error.clone()),
    );
    match observed::observe(netlink) {
        Ok(after) => outcome.drift = diff::plan(desired, &after, &record).drift(),
        Err(error) => outcome.errors.push(format!(
            "failed to observe the kernel after applying: {error}"
        )),
    }
    outcome
}
