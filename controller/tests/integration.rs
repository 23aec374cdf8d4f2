//! The controller's integration suites, in one test binary: the controller's library (and the
//! embedded API server) are linked once, not once per suite. Each `tests/*.rs` suite is a module
//! here, with the support modules beside them; `cargo test -p govcloud-controller --test
//! integration tenancy::` runs one suite.
//!
//! Two suites stay binaries of their own. `api_security.rs`: one of its tests installs a global
//! tracing subscriber recording every event of its process, which the other suites' logging
//! would fill and which their own subscriber would forestall. `high_availability.rs`: it times a
//! lease takeover between processes against the lease duration, with a second of slack, so it
//! runs alone, as it always has, rather than beside another suite's controllers. `faults.rs`:
//! it kills processes, restarts a PostgreSQL server of its own and fills a filesystem, bounded
//! in time on a loaded machine, so it too runs alone.
//!
//! Cargo.toml turns the discovery of `tests/*.rs` off (`autotests = false`), so a new suite is a
//! `mod` line here, which `every_suite_file_is_a_module` checks.

#[macro_use]
mod api_support;
#[allow(dead_code)] // not every suite uses every part of the harness
mod controllers_support;
mod process_support;

mod addressing;
mod agent_api;
mod agent_config;
mod api;
mod api_migrations;
mod api_network;
mod api_networks;
mod at_rest;
mod cli;
mod consolidation;
mod local;
mod migration;
mod network;
mod rbac;
mod router_config_status;
mod run;
mod segments;
mod storage;
mod tenancy;

/// The test binaries of Cargo.toml: this one, and the suites that stay alone.
const OWN_BINARIES: &[&str] = &["integration", "api_security", "high_availability", "faults"];

#[test]
fn every_suite_file_is_a_module() {
    let missing = govcloud_tests::suites::undeclared(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        include_str!("integration.rs"),
        OWN_BINARIES,
    );
    assert!(
        missing.is_empty(),
        "suites neither declared here nor a [[test]] of Cargo.toml (so never built): {missing:?}"
    );
}
