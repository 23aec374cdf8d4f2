//! The record's file, `<state_dir>/applied.json`: read before each convergence, written after
//! each batch whole ([`atomic_file`]), so a crash leaves the old record or the new one, never
//! half of one.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::record::Record;
use crate::atomic_file::{self, AtomicWriteError};

/// The record's file name inside the state directory.
pub const FILE_NAME: &str = "applied.json";

/// Why the record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "failed to read the agent's record {}: {source} (the agent will not change the kernel without knowing what it created; fix or remove the file)",
        path.display()
    )]
    Decode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Write(#[from] AtomicWriteError),
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StateFileError {
    let path = path.to_owned();
    move |source| StateFileError::Io {
        action,
        path,
        source,
    }
}

/// Reads the record under `state_dir`; an empty one when there is no file yet.
pub fn load(state_dir: &Path) -> Result<Record, StateFileError> {
    let path = state_dir.join(FILE_NAME);
    match fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|source| StateFileError::Decode { path, source })
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Record::default()),
        Err(error) => Err(io_error("read", &path)(error)),
    }
}

/// Writes `record` under `state_dir` (created if needed) atomically.
pub fn save(state_dir: &Path, record: &Record) -> Result<(), StateFileError> {
    fs::create_dir_all(state_dir).map_err(io_error("create", state_dir))?;
    let path = state_dir.join(FILE_NAME);
    let mut bytes = serde_json::to_vec_pretty(record).map_err(|source| StateFileError::Decode {
        path: path.clone(),
        source,
    })?;
    bytes.push(b'\n');
    Ok(atomic_file::write(&path, &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::desired::InterfaceAddress;
    use crate::apply::record::{DeviceKind, RecordedDevice};

    #[test]
    fn a_record_survives_a_save_and_a_missing_file_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(load(dir.path()).expect("no file"), Record::default());
        let mut record = Record::default();
        record.addresses.insert(InterfaceAddress {
            interface: "lan0".to_owned(),
            address: "2001:db8::1".parse().expect("literal"),
            prefix_length: 64,
        });
        record.devices.insert(
            "vlan120".to_owned(),
            RecordedDevice {
                index: 7,
                kind: DeviceKind::Vlan {
                    parent: "lan0".to_owned(),
                    id: 120,
                },
            },
        );
        save(dir.path(), &record).expect("save");
        assert_eq!(load(dir.path()).expect("load"), record);
        assert!(!dir.path().join("applied.partial").exists());
        let text = fs::read_to_string(dir.path().join(FILE_NAME)).expect("read");
        assert!(text.contains("\"type\": \"vlan\""), "{text}");
    }

    #[test]
    fn a_corrupt_record_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(FILE_NAME), "{ not json").expect("write");
        let error = load(dir.path()).expect_err("corrupt");
        assert!(error.to_string().contains("applied.json"), "{error}");
    }
}
