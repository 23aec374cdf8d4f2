//! The agent's configuration file (TOML): where the controller is, which router this is, the
//! client certificate it proves that with, what to watch, how often, and where to keep state.
//! Unknown keys are refused (a typo must not silently fall back to a default), and every path
//! is checked at start, so a missing certificate is named before the first report is due.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The smallest reporting interval accepted.
pub const MIN_INTERVAL_SECONDS: u32 = 1;
/// The default bound of the spool (64 MiB).
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// The default wait of a configuration long poll, in seconds.
pub const DEFAULT_POLL_SECONDS: u32 = 50;
/// The longest wait of a configuration long poll the controller accepts, in seconds.
pub const MAX_POLL_SECONDS: u32 = 60;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("failed to read the configuration {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse, has an unknown key, or lacks a required one (the message names
    /// the key and the line).
    #[error("failed to parse the configuration {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    /// A value is out of range or malformed.
    #[error("invalid `{key}` in {}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        key: &'static str,
        message: String,
    },
    /// A file the configuration names cannot be read.
    #[error("`{key}` names {}, which cannot be read: {source}", file.display())]
    MissingFile {
        key: &'static str,
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The configuration file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    controller_url: String,
    router: String,
    certificate: PathBuf,
    key: PathBuf,
    ca: PathBuf,
    #[serde(default)]
    interfaces: Vec<String>,
    #[serde(default = "default_interval")]
    interval_seconds: u32,
    state_dir: PathBuf,
    #[serde(default)]
    metrics_address: Option<SocketAddr>,
    #[serde(default = "default_spool_max_bytes")]
    spool_max_bytes: u64,
    #[serde(default)]
    netns: Option<PathBuf>,
    #[serde(default)]
    config: RawDesired,
}

/// The `[config]` table as written: fetching and converging to the desired configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDesired {
    #[serde(default)]
    enabled: bool,
    #[serde(default = "default_poll_seconds")]
    poll_seconds: u32,
    #[serde(default = "default_probe_timeout_ms")]
    probe_timeout_ms: u32,
    #[serde(default = "default_probe_attempts")]
    probe_attempts: u32,
    #[serde(default)]
    protected_interfaces: Vec<String>,
}

impl Default for RawDesired {
    fn default() -> Self {
        Self {
            enabled: false,
            poll_seconds: default_poll_seconds(),
            probe_timeout_ms: default_probe_timeout_ms(),
            probe_attempts: default_probe_attempts(),
            protected_interfaces: Vec::new(),
        }
    }
}

fn default_poll_seconds() -> u32 {
    DEFAULT_POLL_SECONDS
}

fn default_probe_timeout_ms() -> u32 {
    1000
}

fn default_probe_attempts() -> u32 {
    2
}

fn default_interval() -> u32 {
    30
}

fn default_spool_max_bytes() -> u64 {
    DEFAULT_SPOOL_MAX_BYTES
}

/// The agent's configuration, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Base URL of the controller's agent listener, `https://…`.
    pub controller_url: String,
    /// This router's name: the subject of its certificate.
    pub router: String,
    /// The client certificate (PEM).
    pub certificate: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// The CA that signed the controller's serving certificate (PEM).
    pub ca: PathBuf,
    /// Interfaces to report; every interface when empty.
    pub interfaces: Vec<String>,
    /// Time between reports.
    pub interval: Duration,
    /// Where the spool and the report sequence live.
    pub state_dir: PathBuf,
    /// Where the agent serves its own `/metrics`, if anywhere.
    pub metrics_address: Option<SocketAddr>,
    /// Most bytes the spool holds before dropping its oldest reports.
    pub spool_max_bytes: u64,
    /// The network namespace to observe (e.g. `/run/netns/router`), when it is not the
    /// agent's own: reports then still travel through the agent's namespace.
    pub netns: Option<PathBuf>,
    /// Fetching and converging to the desired configuration (the `[config]` table).
    pub desired: DesiredConfig,
}

/// The `[config]` table, checked: whether the agent fetches its desired configuration from the
/// controller and converges the kernel to it, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredConfig {
    /// Off unless `enabled = true`: an agent changes the kernel only when told to.
    pub enabled: bool,
    /// How long one long poll waits for a change (0–60 s).
    pub poll_wait: Duration,
    /// How long a probe waits for each echo reply.
    pub probe_timeout: Duration,
    /// Echo requests per probe before its target counts as unreachable.
    pub probe_attempts: u32,
    /// Interfaces the agent never changes, in addition to those the controller names (the
    /// management interface that reaches the controller).
    pub protected_interfaces: Vec<String>,
}

impl Default for DesiredConfig {
    fn default() -> Self {
        let raw = RawDesired::default();
        Self {
            enabled: raw.enabled,
            poll_wait: Duration::from_secs(u64::from(raw.poll_seconds)),
            probe_timeout: Duration::from_millis(u64::from(raw.probe_timeout_ms)),
            probe_attempts: raw.probe_attempts,
            protected_interfaces: raw.protected_interfaces,
        }
    }
}

impl Config {
    /// Reads and checks the configuration at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks `text`, read from `path` (named in errors; relative file paths in the
    /// configuration are relative to its directory).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|error| ConfigError::Parse {
            path: path.to_owned(),
            message: match error.span() {
                Some(span) => format!(
                    "line {}: {}",
                    text[..span.start.min(text.len())].matches('\n').count() + 1,
                    error.message()
                ),
                None => error.message().to_owned(),
            },
        })?;
        let invalid = |key, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            key,
            message,
        };
        if !raw.controller_url.starts_with("https://") {
            return Err(invalid(
                "controller_url",
                format!("{:?} is not an https:// URL", raw.controller_url),
            ));
        }
        if raw.router.is_empty()
            || raw.router.len() > 253
            || !raw
                .router
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        {
            return Err(invalid(
                "router",
                format!("{:?} is not a Kubernetes object name", raw.router),
            ));
        }
        if raw.interval_seconds < MIN_INTERVAL_SECONDS {
            return Err(invalid(
                "interval_seconds",
                format!("must be at least {MIN_INTERVAL_SECONDS}"),
            ));
        }
        if raw.spool_max_bytes < 64 * 1024 {
            return Err(invalid(
                "spool_max_bytes",
                "must be at least 65536".to_owned(),
            ));
        }
        let desired = check_desired(raw.config).map_err(|(key, message)| invalid(key, message))?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        let resolve = |file: &Path| base.join(file);
        let config = Self {
            controller_url: raw.controller_url.trim_end_matches('/').to_owned(),
            router: raw.router,
            certificate: resolve(&raw.certificate),
            key: resolve(&raw.key),
            ca: resolve(&raw.ca),
            interfaces: raw.interfaces,
            interval: Duration::from_secs(u64::from(raw.interval_seconds)),
            state_dir: resolve(&raw.state_dir),
            metrics_address: raw.metrics_address,
            spool_max_bytes: raw.spool_max_bytes,
            netns: raw.netns,
            desired,
        };
        for (key, file) in [
            ("certificate", &config.certificate),
            ("key", &config.key),
            ("ca", &config.ca),
        ] {
            std::fs::File::open(file).map_err(|source| ConfigError::MissingFile {
                key,
                file: file.clone(),
                source,
            })?;
        }
        Ok(config)
    }
}

/// Checks the `[config]` table; an error names its key.
fn check_desired(raw: RawDesired) -> Result<DesiredConfig, (&'static str, String)> {
    if raw.poll_seconds > MAX_POLL_SECONDS {
        return Err((
            "config.poll_seconds",
            format!("must be at most {MAX_POLL_SECONDS} (the controller's longest wait)"),
        ));
    }
    if !(100..=10_000).contains(&raw.probe_timeout_ms) {
        return Err((
            "config.probe_timeout_ms",
            "must be between 100 and 10000".to_owned(),
        ));
    }
    if !(1..=10).contains(&raw.probe_attempts) {
        return Err((
            "config.probe_attempts",
            "must be between 1 and 10".to_owned(),
        ));
    }
    if let Some(name) = raw
        .protected_interfaces
        .iter()
        .find(|name| name.is_empty() || name.len() > 15)
    {
        return Err((
            "config.protected_interfaces",
            format!("{name:?} is not an interface name (1 to 15 bytes)"),
        ));
    }
    Ok(DesiredConfig {
        enabled: raw.enabled,
        poll_wait: Duration::from_secs(u64::from(raw.poll_seconds)),
        probe_timeout: Duration::from_millis(u64::from(raw.probe_timeout_ms)),
        probe_attempts: raw.probe_attempts,
        protected_interfaces: raw.protected_interfaces,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pki(dir: &Path) {
        for file in ["router.crt", "router.key", "ca.crt"] {
            std::fs::write(dir.join(file), "pem").expect("write");
        }
    }

    const GOOD: &str = r#"
controller_url = "https://127.0.0.1:7443/"
router = "hanbin-county"
certificate = "router.crt"
key = "router.key"
ca = "ca.crt"
interfaces = ["eth1", "eth2"]
interval_seconds = 5
state_dir = "state"
metrics_address = "127.0.0.1:9465"
"#;

    #[test]
    fn a_good_file_resolves_paths_next_to_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_pki(dir.path());
        let path = dir.path().join("agent.toml");
        let config = Config::parse(&path, GOOD).expect("valid");
        assert_eq!(config.controller_url, "https://127.0.0.1:7443");
        assert_eq!(config.certificate, dir.path().join("router.crt"));
        assert_eq!(config.interval, Duration::from_secs(5));
        assert_eq!(config.spool_max_bytes, DEFAULT_SPOOL_MAX_BYTES);
        assert_eq!(config.interfaces, ["eth1", "eth2"]);
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_pki(dir.path());
        let path = dir.path().join("agent.toml");
        let error = Config::parse(&path, &format!("{GOOD}intervall = 3\n"))
            .expect_err("unknown key")
            .to_string();
        assert!(error.contains("unknown field `intervall`"), "{error}");
        assert!(
            error.contains("agent.toml: line 11: unknown field `intervall`"),
            "{error}"
        );
    }

    #[test]
    fn the_config_table_is_off_by_default_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_pki(dir.path());
        let path = dir.path().join("agent.toml");
        let config = Config::parse(&path, GOOD).expect("valid");
        assert_eq!(config.desired, DesiredConfig::default());
        assert!(!config.desired.enabled);
        let config = Config::parse(
            &path,
            &format!(
                "{GOOD}[config]\nenabled = true\npoll_seconds = 20\nprobe_timeout_ms = 500\nprobe_attempts = 3\nprotected_interfaces = [\"mgmt0\"]\n"
            ),
        )
        .expect("valid");
        assert_eq!(
            config.desired,
            DesiredConfig {
                enabled: true,
                poll_wait: Duration::from_secs(20),
                probe_timeout: Duration::from_millis(500),
                probe_attempts: 3,
                protected_interfaces: vec!["mgmt0".to_owned()],
            }
        );
        for (line, key) in [
            ("poll_seconds = 61", "config.poll_seconds"),
            ("probe_timeout_ms = 10", "config.probe_timeout_ms"),
            ("probe_attempts = 0", "config.probe_attempts"),
            (
                "protected_interfaces = [\"a-very-long-interface\"]",
                "config.protected_interfaces",
            ),
        ] {
            let error = Config::parse(&path, &format!("{GOOD}[config]\n{line}\n"))
                .expect_err(line)
                .to_string();
            assert!(error.starts_with(&format!("invalid `{key}`")), "{error}");
        }
        let error = Config::parse(&path, &format!("{GOOD}[config]\nenable = true\n"))
            .expect_err("unknown key")
            .to_string();
        assert!(
            error.contains("agent.toml: line 12: unknown field `enable`"),
            "{error}"
        );
    }

    /// The example shipped next to the systemd unit uses only known keys.
    #[test]
    fn the_shipped_example_parses() {
        let example = include_str!("../dist/agent.toml");
        let dir = tempfile::tempdir().expect("tempdir");
        for file in ["hanyin-county.crt", "hanyin-county.key", "ca.crt"] {
            std::fs::write(dir.path().join(file), "pem").expect("write");
        }
        let config = Config::parse(&dir.path().join("agent.toml"), example).expect("valid");
        assert_eq!(config.router, "hanyin-county");
        assert_eq!(config.netns, None);
        assert!(config.desired.enabled);
        assert_eq!(config.desired.protected_interfaces, ["eth0"]);
    }

    #[test]
    fn missing_keys_files_and_bad_values_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("agent.toml");
        let error = Config::parse(&path, GOOD)
            .expect_err("no files")
            .to_string();
        assert!(error.starts_with("`certificate` names "), "{error}");
        assert!(error.contains("router.crt"), "{error}");
        write_pki(dir.path());
        let error = Config::parse(&path, &GOOD.replace("router = \"hanbin-county\"\n", ""))
            .expect_err("no router")
            .to_string();
        assert!(error.contains("missing field `router`"), "{error}");
        let error = Config::parse(&path, &GOOD.replace("https://", "http://"))
            .expect_err("http")
            .to_string();
        assert!(error.starts_with("invalid `controller_url`"), "{error}");
        let error = Config::parse(
            &path,
            &GOOD.replace("interval_seconds = 5", "interval_seconds = 0"),
        )
        .expect_err("zero")
        .to_string();
        assert!(error.starts_with("invalid `interval_seconds`"), "{error}");
    }
}
