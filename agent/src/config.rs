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
