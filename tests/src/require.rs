//! The skip rule: a test that needs a missing part (root, kubectl, Prometheus,
//! PostgreSQL) skips with a printed reason, unless `GOVCLOUD_REQUIRE_ALL=1`, where it fails; and
//! the checks for the parts the tests need (a program on `PATH`, root).

use std::path::PathBuf;

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

/// The program `name` on `PATH`, or `None` after [`skip`] (whose reason says `install`: how to
/// get it).
pub fn on_path_or_skip(test: &str, name: &str, install: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        skip(test, &format!("{name} is not on PATH ({install})"));
    }
    found
}

/// Whether this process runs as root (its effective user id is 0), as network namespaces need.
pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_on_path_is_found_and_a_missing_one_is_not() {
        // `sh` is on every PATH the tests run with.
        assert!(on_path_or_skip("finding sh", "sh", "a shell").is_some());
        if !require_all() {
            assert!(
                on_path_or_skip("finding nothing", "govcloud-no-such-program", "none").is_none()
            );
        }
    }

    #[test]
    fn root_is_the_effective_user_id() {
        let euid = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        if let Ok(euid) = euid {
            assert_eq!(is_root(), euid == "0");
        }
    }
}
