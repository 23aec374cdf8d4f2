//! govcloud's operator: reconcilers for the `govcloud.io` custom resources, the HTTPS API for
//! departments and agents, storage (SQLite or PostgreSQL), metrics and the provincial reporter.

pub mod addressing;
pub mod agents;
pub mod announcement;
pub mod api;
pub mod clock;
pub mod consolidation;
pub mod failure;
pub mod leader;
pub mod local;
pub mod manifests;
pub mod metrics;
pub mod migration;
pub mod network;
pub mod operator;
pub mod permissions;
pub mod report;
pub mod retry;
pub mod routing;
pub mod runtime;
pub mod status_apply;
pub mod storage;
pub mod tenancy;
