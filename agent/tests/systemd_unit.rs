//! The systemd unit in `agent/dist/`: the agent gets `CAP_NET_ADMIN` and `CAP_NET_RAW` and no
//! other capability, never gains privileges, runs as its own user with the usual hardening, and
//! `systemd-analyze verify` accepts the unit without a warning (an unknown or misspelt key is a
//! warning, not an error, so the test reads what it prints).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn unit_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dist/govcloud-agent.service")
}

fn unit() -> String {
    std::fs::read_to_string(unit_path()).expect("read the unit")
}

/// Every value of `key` in the unit.
fn values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|line| line.strip_prefix(&format!("{key}=")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn only_the_two_network_capabilities_and_no_privilege_gain() {
    let unit = unit();
    for key in ["AmbientCapabilities", "CapabilityBoundingSet"] {
        let capabilities: BTreeSet<String> = values(&unit, key)
            .iter()
            .flat_map(|v| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        assert_eq!(
            capabilities,
            BTreeSet::from(["CAP_NET_ADMIN".to_owned(), "CAP_NET_RAW".to_owned()]),
            "{key}"
        );
    }
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectKernelModules", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("User", "govcloud-agent"),
    ] {
        assert_eq!(values(&unit, key), [value], "{key}");
    }
    assert!(
        values(&unit, "RestrictAddressFamilies")[0].contains("AF_NETLINK"),
        "the agent speaks netlink"
    );
    assert!(
        values(&unit, "PrivateNetwork").is_empty(),
        "the agent must see the router's network"
    );
}

#[test]
fn systemd_accepts_the_unit_without_a_warning() {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        govcloud_tests::require::skip(
            "systemd_accepts_the_unit_without_a_warning",
            "systemd-analyze is not installed",
        );
        return;
    };
    assert!(version.status.success());
    // `verify` checks that ExecStart's binary exists: point it at the one just built.
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("govcloud-agent.service");
    std::fs::write(
        &copy,
        unit().replace(
            "/usr/bin/govcloud-agent",
            env!("CARGO_BIN_EXE_govcloud-agent"),
        ),
    )
    .expect("write the copy");
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "systemd-analyze warned: {stderr}");
}
