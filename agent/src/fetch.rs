//! Fetching the router's desired configuration: `GET /v1/config` on the controller's agent
//! listener, over the reports' mutual-TLS client (the certificate says which router asks), as a
//! long poll: with `If-None-Match: "<etag>"` and `?waitSeconds=N` the controller answers `200`
//! with the configuration and its `ETag` as soon as it differs, or `304 Not Modified` after `N`
//! seconds.
//!
//! The last configuration the agent accepted is cached in the state directory (`config.json`,
//! with its ETag, written to a temporary name and renamed like the spool), so a restarted agent
//! keeps converging to its last known configuration while the controller is away, and its first
//! poll asks only for a change.
//!
//! A fetched body is not decoded here: the apply path's parser ([`crate::apply::desired::parse`])
//! reads it, naming the JSON path of what it refuses. Answer handling ([`interpret`]) and the
//! cache are plain functions; only [`ConfigFetcher::fetch`] does network I/O.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use govcloud_crds::api::RouterConfig;
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_NONE_MATCH};
use serde::{Deserialize, Serialize};

use crate::atomic_file::{self, AtomicWriteError};
use crate::config::Config;
use crate::report::{describe, problem_detail};

/// The path the configuration is fetched from.
pub const CONFIG_PATH: &str = "/v1/config";
/// The longest wait the controller accepts for a long poll, in seconds.
pub const MAX_WAIT_SECONDS: u32 = 60;
/// The cache's file name in the state directory.
pub const CACHE_FILE: &str = "config.json";
/// How much longer than the long poll's wait a fetch may take before it is abandoned.
const SLACK: Duration = Duration::from_secs(15);

/// Why a fetch brought no configuration.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No answer: the controller is away, the TLS handshake failed, or the wait ran out.
    #[error("failed to fetch the configuration from {url}: {message}")]
    Unreachable { url: String, message: String },
    /// The controller answered with an error (a problem+json `detail` when it sent one).
    #[error(
        "failed to fetch the configuration from {url}: the controller answered {status}: {detail}"
    )]
    Status {
        url: String,
        status: u16,
        detail: String,
    },
    /// The answer's body could not be read.
    #[error("failed to read the configuration from {url}: {message}")]
    Body { url: String, message: String },
}

impl FetchError {
    /// The value of the fetch-failure metric's `reason` label.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } | Self::Body { .. } => "unreachable",
            Self::Status { status, .. } if *status >= 500 => "unreachable",
            Self::Status { .. } => "refused",
        }
    }
}

/// What a fetch brought.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// The configuration is the one whose ETag was sent.
    Unchanged,
    /// A configuration (not yet decoded) and its ETag, as sent.
    Changed { etag: Option<String>, body: Vec<u8> },
}

/// Why the cache could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("failed to read the cached configuration {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("failed to parse the cached configuration {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("failed to encode the configuration to cache: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("failed to write the cached configuration: {0}")]
    Write(#[from] AtomicWriteError),
}

/// The cached configuration: the last one accepted, and the ETag it came with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CachedConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    pub config: RouterConfig,
}

/// The `If-None-Match` value for `etag`: sent back as received when it is a quoted (or weak)
/// entity tag, quoted when a controller sent it bare.
pub fn if_none_match(etag: &str) -> String {
    let etag = etag.trim();
    if etag.starts_with('"') || etag.starts_with("W/\"") {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

/// The long poll's `waitSeconds`, clamped to what the controller accepts.
pub fn wait_seconds(wait: Duration) -> u32 {
    u32::try_from(wait.as_secs())
        .unwrap_or(u32::MAX)
        .min(MAX_WAIT_SECONDS)
}

/// What an answer means: `status`, its `ETag` header and body, from `url`.
pub fn interpret(
    url: &str,
    status: u16,
    etag: Option<&str>,
    body: Vec<u8>,
) -> Result<Fetched, FetchError> {
    match StatusCode::from_u16(status) {
        Ok(StatusCode::NOT_MODIFIED) => Ok(Fetched::Unchanged),
        Ok(code) if code.is_success() => Ok(Fetched::Changed {
            etag: etag
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned),
            body,
        }),
        _ => Err(FetchError::Status {
            url: url.to_owned(),
            status,
            detail: problem_detail(&String::from_utf8_lossy(&body)),
        }),
    }
}

/// The cached configuration in `state_dir`, if any.
pub fn load_cache(state_dir: &Path) -> Result<Option<CachedConfig>, CacheError> {
    let path = state_dir.join(CACHE_FILE);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CacheError::Read { path, source }),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|source| CacheError::Parse { path, source })
}

/// Replaces the cached configuration in `state_dir` (atomically).
pub fn store_cache(state_dir: &Path, cached: &CachedConfig) -> Result<(), CacheError> {
    let bytes = serde_json::to_vec(cached).map_err(CacheError::Encode)?;
    atomic_file::write(&state_dir.join(CACHE_FILE), &bytes)?;
    Ok(())
}

/// The configuration client of one agent.
#[derive(Clone, Debug)]
pub struct ConfigFetcher {
    client: reqwest::Client,
    url: String,
}

impl ConfigFetcher {
    /// A fetcher through `client` (the reports' mutual-TLS client, [`crate::report::client`]).
    pub fn new(client: reqwest::Client, config: &Config) -> Self {
        Self {
            client,
            url: format!("{}{CONFIG_PATH}", config.controller_url),
        }
    }

    /// The URL fetched (without the query).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Fetches the configuration: at once without `etag`; with it, waits up to `wait` (at most
    /// [`MAX_WAIT_SECONDS`]) for a configuration other than the one `etag` names.
    pub async fn fetch(&self, etag: Option<&str>, wait: Duration) -> Result<Fetched, FetchError> {
        let seconds = if etag.is_some() {
            wait_seconds(wait)
        } else {
            0
        };
        let mut request = self
            .client
            .get(format!("{}?waitSeconds={seconds}", self.url))
            .timeout(Duration::from_secs(u64::from(seconds)) + SLACK);
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, if_none_match(etag));
        }
        let response = request
            .send()
            .await
            .map_err(|error| FetchError::Unreachable {
                url: self.url.clone(),
                message: describe(&error),
            })?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.map_err(|error| FetchError::Body {
            url: self.url.clone(),
            message: describe(&error),
        })?;
        interpret(&self.url, status, etag.as_deref(), body.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://127.0.0.1:7443/v1/config";

    fn config(router: &str, generation: i64) -> RouterConfig {
        RouterConfig {
            router: router.to_owned(),
            generation,
            ..RouterConfig::default()
        }
    }

    #[test]
    fn etags_are_sent_back_quoted() {
        assert_eq!(if_none_match("\"g7-abc\""), "\"g7-abc\"");
        assert_eq!(if_none_match("W/\"g7\""), "W/\"g7\"");
        assert_eq!(if_none_match("g7-abc"), "\"g7-abc\"");
        assert_eq!(if_none_match(" \"g7\" "), "\"g7\"");
    }

    #[test]
    fn the_wait_is_clamped_to_the_controllers_bound() {
        assert_eq!(wait_seconds(Duration::from_secs(0)), 0);
        assert_eq!(wait_seconds(Duration::from_secs(25)), 25);
        assert_eq!(wait_seconds(Duration::from_secs(3600)), MAX_WAIT_SECONDS);
    }

    #[test]
    fn answers_are_interpreted_by_status() {
        assert_eq!(
            interpret(URL, 304, None, Vec::new()).expect("304"),
            Fetched::Unchanged
        );
        assert_eq!(
            interpret(URL, 200, Some("\"g2\""), b"{}".to_vec()).expect("200"),
            Fetched::Changed {
                etag: Some("\"g2\"".to_owned()),
                body: b"{}".to_vec()
            }
        );
        assert_eq!(
            interpret(URL, 200, Some(""), Vec::new()).expect("200"),
            Fetched::Changed {
                etag: None,
                body: Vec::new()
            },
            "an empty ETag is none"
        );
        let problem = br#"{"type":"about:blank","title":"Forbidden","status":403,"detail":"certificate revoked"}"#;
        let error = interpret(URL, 403, None, problem.to_vec()).expect_err("403");
        assert_eq!(error.reason(), "refused");
        assert_eq!(
            error.to_string(),
            format!(
                "failed to fetch the configuration from {URL}: the controller answered 403: certificate revoked"
            )
        );
        let error = interpret(URL, 503, None, b"overloaded".to_vec()).expect_err("503");
        assert_eq!(error.reason(), "unreachable");
        assert!(error.to_string().ends_with("503: overloaded"), "{error}");
    }

    #[test]
    fn the_cache_survives_a_restart_and_is_replaced_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(load_cache(dir.path()).expect("empty"), None);
        let first = CachedConfig {
            etag: Some("\"g1\"".to_owned()),
            config: config("hanbin-county", 1),
        };
        store_cache(dir.path(), &first).expect("store");
        assert_eq!(load_cache(dir.path()).expect("load"), Some(first));
        let second = CachedConfig {
            etag: None,
            config: config("hanbin-county", 2),
        };
        store_cache(dir.path(), &second).expect("store");
        assert_eq!(load_cache(dir.path()).expect("load"), Some(second));
        assert!(!dir.path().join("config.partial").exists());
    }

    #[test]
    fn a_corrupt_cache_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(CACHE_FILE), "{\"etag\":").expect("write");
        let error = load_cache(dir.path()).expect_err("corrupt").to_string();
        assert!(
            error.starts_with("failed to parse the cached configuration "),
            "{error}"
        );
        assert!(error.contains("config.json"), "{error}");
    }
}
