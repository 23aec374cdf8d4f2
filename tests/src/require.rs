//! The skip rule: a test that needs a missing part (root, kubectl, Prometheus,
//! PostgreSQL) skips with a printed reason, unless `GOVCLOUD_REQUIRE_ALL=1`, where it fails.

/// Name of the variable that turns skips into failures (set by `.ci/run`).
pub const REQUIRE_ALL: &str = "GOVCLOUD_REQUIRE_ALL";

/// Whether skipping is forbidden in this run.
pub fn require_all() -> bool {
    std::env::var(REQUIRE_ALL).is_ok_and(|value| value == "1")
}

/// Call when a test cannot run because `reason`. Returns normally (the caller returns and the
/// test is skipped) unless [`require_all`] holds, in which case it panics.
pub fn skip(test: &str, reason: &str) {
    assert!(
        !require_all(),
        "{test} cannot run and {REQUIRE_ALL}=1 forbids skipping: {reason}"
    );
    eprintln!("skipping {test}: {reason}");
}
