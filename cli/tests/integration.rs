//! govctl's suites that start and stop local mode within their test, in one test binary:
//! govctl's library, the controller's (local mode) and the embedded API server are linked once
//! for them, not once per suite. Each is a module here, with the support modules beside them;
//! `cargo test -p govctl --test integration guides::` runs one.
//!
//! The other suites (`dedicated_networks.rs`, `govctl.rs`, `ipv6.rs`, `migration.rs`,
//! `network.rs`) stay binaries of their own: each keeps one local mode in a `static` for all of
//! its tests, alive until the process ends (an idle one costs about a sixth of a core), so in one
//! binary they would pile up, each slowing the suites after it.
//!
//! Cargo.toml turns the discovery of `tests/*.rs` off (`autotests = false`), so a new suite is a
//! `mod` line here or a `[[test]]` there, which `every_suite_file_is_a_module` checks.

/// Support shared with govctl's other test files.
mod support {
    pub mod audit;
    pub mod command;
    pub mod local;
}

mod guides;
mod router_enrollment;
mod self_service;

/// The test binaries of Cargo.toml: this one, and the suites with a local mode of their own.
const OWN_BINARIES: &[&str] = &[
    "integration",
    "dedicated_networks",
    "govctl",
    "ipv6",
    "migration",
    "network",
];

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
