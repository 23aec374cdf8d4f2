//! govcloud's operator, the glue around `govcloud_core`: the reconcilers of the `govcloud.io`
//! custom resources (one module per capability, each starting its own controllers — listed in
//! [`controllers`]), the HTTPS API for departments and agents, storage (SQLite or PostgreSQL),
//! metrics, leader election and local mode.

pub mod activity;
pub mod addressing;
pub mod agents;
pub mod announcement;
pub mod api;
pub mod clock;
pub mod consolidation;
pub mod controllers;
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
