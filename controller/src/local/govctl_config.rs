//! `DATA/govctl.toml`: what `govctl` needs to reach local mode's API — the server URL, the CA
//! that signed its certificate, and an operations token. The token is issued once and reused
//! while it stays valid, so restarts do not pile up tokens.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LocalError;
use crate::api::bootstrap_operations_token;
use crate::storage::{Storage, hash_token_secret};

/// File name of govctl's settings in the data directory.
pub const GOVCTL_CONFIG_FILE: &str = "govctl.toml";

/// The settings file, in the format `govctl --config` reads.
#[derive(Debug, Serialize, Deserialize)]
struct GovctlConfig {
    server: String,
    ca: String,
    token: String,
}

/// Writes (or refreshes) `DATA/govctl.toml` and returns its path.
pub async fn write(
    data_dir: &Path,
    server: &str,
    storage: &Storage,
    operations_tenant: &str,
) -> Result<PathBuf, LocalError> {
    let path = data_dir.join(GOVCTL_CONFIG_FILE);
    let failed = |source: std::io::Error| LocalError::GovctlConfig {
        path: path.clone(),
        source,
    };
    let ca = std::path::absolute(data_dir.join("pki").join("ca.crt")).map_err(failed)?;
    let token = match reusable_token(&path, storage).await {
        Some(token) => token,
        None => bootstrap_operations_token(storage, operations_tenant)
            .await
            .map_err(LocalError::Token)?,
    };
    let config = GovctlConfig {
        server: server.to_owned(),
        ca: ca.display().to_string(),
        token,
    };
    let text = toml::to_string(&config).map_err(|e| failed(std::io::Error::other(e)))?;
    let partial = path.with_extension("toml.partial");
    std::fs::write(&partial, text).map_err(failed)?;
    restrict(&partial).map_err(failed)?;
    std::fs::rename(&partial, &path).map_err(failed)?;
    Ok(path)
}

/// The token of an existing settings file, if the database still knows it as active.
async fn reusable_token(path: &Path, storage: &Storage) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let config: GovctlConfig = toml::from_str(&text).ok()?;
    let active = storage
        .tokens()
        .find_active(&hash_token_secret(&config.token), chrono::Utc::now())
        .await
        .ok()?;
    active.map(|_| config.token)
}

#[cfg(unix)]
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_: &Path) -> std::io::Result<()> {
    Ok(())
}
