//! The agent's integration suites, in one test binary: the agent's library (and, for the
//! configuration task, the controller's) are linked once, not once per suite. Each `tests/*.rs`
//! suite is a module here, with its support module beside them; `cargo test -p govcloud-agent
//! --test integration probe::` runs one suite.
//!
//! The two network labs (`lab.rs`, `lab_ipv6.rs`) stay binaries of their own: each runs local
//! mode and five agents, and `lab.rs` times how fast a link turns `Degraded` (three reporting
//! intervals and a second), so each runs alone, as it always has.
//!
//! Cargo.toml turns the discovery of `tests/*.rs` off (`autotests = false`), so a new suite is a
//! `mod` line here, which `every_suite_file_is_a_module` checks.

mod support;

mod already_gone;
mod apply;
mod config_task;
mod inventory;
mod probe;
mod run_config;
mod systemd_unit;

#[test]
fn every_suite_file_is_a_module() {
    let missing = govcloud_tests::suites::undeclared(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        include_str!("integration.rs"),
        &["integration", "lab", "lab_ipv6"],
    );
    assert!(
        missing.is_empty(),
        "suites neither declared here nor a [[test]] of Cargo.toml (so never built): {missing:?}"
    );
}
