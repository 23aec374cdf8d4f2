//! The migration campaign, pure: the planner of `MigrationPlan` and the decisions of a
//! `SystemMigration` (its gate and its runbook). No client, no I/O, no clock. A reconciler
//! gathers the selected systems into [`SystemInput`]s, calls [`plan_campaign`] with the plan's
//! spec and the current time, and turns the typed [`CampaignPlan`] into a `MigrationPlanStatus`
//! with [`status::to_status`].
//!
//! The planner's stages, each a function of the previous stage's typed output:
//! 1. [`input`]: the plan's spec parsed and checked ([`CampaignSpec`]), the systems resolved
//!    ([`SystemInput`]);
//! 2. [`graph`]: the dependency graph, its cycles (Tarjan, iterative) and its blocked systems;
//! 3. [`waves`]: a system's wave is one more than the latest wave of its dependencies;
//! 4. [`windows`]: the maintenance windows expanded into occurrences and filled wave by wave;
//! 5. [`projection`]: the completion date against the deadline;
//! 6. [`status`]: the plan as the resource's status.
//!
//! A system's own decisions: [`gate`] (approval and quota before it may start) and [`runbook`]
//! (which step runs next, and what its outcome does to the phase).

pub mod error;
pub mod gate;
pub mod graph;
pub mod input;
pub mod plan;
pub mod projection;
pub mod runbook;
pub mod status;
pub mod waves;
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
