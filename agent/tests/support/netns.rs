//! A network namespace made for one test or benchmark run, with a unique name, deleted when
//! dropped — also when the test panics — so nothing is left behind and the host's own namespace
//! is never touched.

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A namespace owned by the caller.
#[derive(Debug)]
pub struct Namespace {
    name: String,
}

impl Namespace {
    /// Makes `PREFIX-PID-N`. Panics when `ip netns add` fails.
    pub fn create(prefix: &str) -> Self {
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}-{}-{number}", std::process::id());
        // A namespace of that name can only be left over from a crashed run of the same pid.
        let _ = Command::new("ip")
            .args(["netns", "delete", &name])
            .stderr(Stdio::null())
            .status();
        let output = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("run ip");
        assert!(
            output.status.success(),
            "ip netns add {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let namespace = Self { name };
        namespace.ip(&["link", "set", "lo", "up"]);
        namespace
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME ARGS`; its standard output, or its standard error as the error.
    pub fn try_ip(&self, args: &[&str]) -> Result<String, String> {
        let output = Command::new("ip")
            .arg("-n")
            .arg(&self.name)
            .args(args)
            .output()
            .map_err(|error| error.to_string())?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
        }
    }

    /// `ip -n NAME ARGS`, which must succeed.
    pub fn ip(&self, args: &[&str]) -> String {
        self.try_ip(args)
            .unwrap_or_else(|error| panic!("ip -n {} {}: {error}", self.name, args.join(" ")))
    }

    /// `ip -n NAME -j ARGS` parsed.
    pub fn ip_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let text = self.ip(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("ip -j {}: {error}: {text}", args.join(" ")))
    }

    /// `ip netns exec NAME PROGRAM ARGS` (which also mounts the namespace's own /sys).
    pub fn exec(&self, program: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .output()
            .unwrap_or_else(|error| panic!("ip netns exec {} {program}: {error}", self.name))
    }

    /// A command run inside the namespace, for the caller to configure and spawn.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let status = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .stderr(Stdio::null())
            .status();
        if !status.is_ok_and(|status| status.success()) {
            eprintln!("warning: could not delete network namespace {}", self.name);
        }
    }
}
