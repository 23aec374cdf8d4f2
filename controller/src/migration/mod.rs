//! The migration campaign's kube glue, around the pure planner and runbook of
//! `govcloud_core::migration`: the `MigrationPlan` reconciler ([`plan_controller`]) and the
//! `SystemMigration` reconciler ([`system_controller`]), which runs a system's steps
//! ([`steps`]: Jobs, manual confirmations, and [`webhook`] calls); [`reconcile_error`] tells
//! permanent from transient failures; [`runtime`] runs both controllers; [`metrics`].

pub mod last_writes;
pub mod metrics;
pub mod plan_controller;
pub mod reconcile_error;
pub mod runtime;
pub mod steps;
pub mod system_controller;
pub mod webhook;

pub use runtime::{MigrationContext, run};
