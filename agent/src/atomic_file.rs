//! Files replaced whole — the spooled reports, the configuration cache, the record of what the
//! agent created: written to a temporary file beside the target, flushed to disk, then renamed
//! over it, so a reader (or a crash) finds the old content or the new, never half of either.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Why a file could not be replaced.
#[derive(Debug, thiserror::Error)]
#[error("failed to {action} {}: {source}", path.display())]
pub struct AtomicWriteError {
    /// What failed: `create`, `write`, `sync`, `rename into place`.
    pub action: &'static str,
    /// The file it failed on.
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Replaces `path` with `bytes` through `path.partial`, `fsync` and a rename.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), AtomicWriteError> {
    let failed = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| AtomicWriteError {
            action,
            path,
            source,
        }
    };
    let temporary = path.with_extension("partial");
    let mut file = fs::File::create(&temporary).map_err(failed("create", &temporary))?;
    file.write_all(bytes).map_err(failed("write", &temporary))?;
    file.sync_all().map_err(failed("sync", &temporary))?;
    drop(file);
    fs::rename(&temporary, path).map_err(failed("rename into place", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_a_failure_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.json");
        write(&path, b"first").expect("write");
        write(&path, b"second").expect("replace");
        assert_eq!(fs::read(&path).expect("read"), b"second");
        assert!(!dir.path().join("config.partial").exists());
        let missing = dir.path().join("no-such-directory").join("x.json");
        let error = write(&missing, b"x").expect_err("no directory");
        assert_eq!(error.action, "create");
        assert!(error.to_string().contains("no-such-directory"), "{error}");
    }
}
