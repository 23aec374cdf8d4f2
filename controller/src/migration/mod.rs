//! The pure planner of the migration campaign (`MigrationPlan`, issue 5 item 3): no client, no
//! I/O, no clock. A reconciler gathers the selected `SystemMigration`s into [`SystemInput`]s,
//! calls [`plan_campaign`] with the plan's spec and the current time, and turns the typed
//! [`CampaignPlan`] into a `MigrationPlanStatus` with [`status::to_status`].
//!
//! The stages, each a function of the previous stage's typed output:
//! 1. [`input`]: the plan's spec parsed and checked ([`CampaignSpec`]), the systems resolved
//!    ([`SystemInput`]);
//! 2. [`graph`]: the dependency graph, its cycles (Tarjan, iterative) and its blocked systems;
//! 3. [`waves`]: a system's wave is one more than the latest wave of its dependencies;
//! 4. [`windows`]: the maintenance windows expanded into occurrences and filled wave by wave;
//! 5. [`projection`]: the completion date against the deadline;
//! 6. [`status`]: the plan as the resource's status.

pub mod error;
pub mod gate;
pub mod graph;
pub mod input;
pub mod plan;
pub mod plan_controller;
pub mod projection;
pub mod reconcile_error;
pub mod runbook;
pub mod status;
pub mod steps;
pub mod system_controller;
pub mod waves;
pub mod webhook;
pub mod windows;

#[cfg(test)]
mod proptests;
#[cfg(test)]
pub(crate) mod testing;

pub use error::{PlanError, SystemError};
pub use graph::{Block, Graph};
pub use input::{CampaignSpec, Hold, SystemInput, WindowSpec};
pub use plan::{Assignment, CampaignPlan, Wave, plan_campaign};
pub use projection::Projection;
