//! Migration to the cloud: legacy systems (`SystemMigration`) and the campaign (`MigrationPlan`).

pub mod plan;
pub mod step;
pub mod system;
