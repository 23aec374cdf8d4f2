//! The cross-crate suites, in one test binary: the controller's library and the embedded API
//! server are linked once, not once per suite. Each `tests/*.rs` suite is a module here;
//! `cargo test -p govcloud-tests --test integration chart::` runs one suite.
//!
//! Cargo.toml turns the discovery of `tests/*.rs` off (`autotests = false`), so a new suite is a
//! `mod` line here, which `every_suite_file_is_a_module` checks.

mod alert_rules;
mod apiserver;
mod architecture;
mod cel_rules;
mod chart;
mod crds;
mod examples;
mod kube_client;
mod kubectl;
mod lab;
mod province;
mod validation;

#[test]
fn every_suite_file_is_a_module() {
    let missing = govcloud_tests::suites::undeclared(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        include_str!("integration.rs"),
        &["integration"],
    );
    assert!(
        missing.is_empty(),
        "suites not declared here (so never built): {missing:?}"
    );
}
