//! The on-disk spool of reports: every report is written here before it is sent and removed
//! once the controller has it, so reports survive an unreachable controller and an agent
//! restart, and are sent in order. The spool is bounded by size: when a new report does not
//! fit, the oldest are dropped first and counted. The next sequence number is kept in the
//! state directory too, so it keeps growing across restarts.
//!
//! Layout: `<state>/sequence` (the last sequence issued) and `<state>/spool/<sequence>.json`
//! (zero-padded, so names sort in order). Files are written to a temporary name and renamed,
//! so a crash never leaves a half-written report under a real name.

use crate::atomic_file::{self, AtomicWriteError};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use govcloud_crds::api::TelemetryReport;

/// Why the spool failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Write(#[from] AtomicWriteError),
    #[error("failed to encode report {sequence}: {source}")]
    Encode {
        sequence: u64,
        #[source]
        source: serde_json::Error,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SpoolError {
    let path = path.to_owned();
    move |source| SpoolError::Io {
        action,
        path,
        source,
    }
}

/// A spooled report: its sequence and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spooled {
    pub sequence: u64,
    pub path: PathBuf,
    pub bytes: u64,
}

/// The spool of one agent.
#[derive(Debug)]
pub struct Spool {
    state_dir: PathBuf,
    dir: PathBuf,
    max_bytes: u64,
    /// Spooled reports, oldest first.
    entries: Vec<Spooled>,
    last_sequence: u64,
    dropped: u64,
}

fn file_name(sequence: u64) -> String {
    format!("{sequence:020}.json")
}

impl Spool {
    /// Opens (creating) the spool under `state_dir`, bounded by `max_bytes`; reports left by
    /// an earlier run are kept, half-written files removed.
    pub fn open(state_dir: &Path, max_bytes: u64) -> Result<Self, SpoolError> {
        let dir = state_dir.join("spool");
        fs::create_dir_all(&dir).map_err(io_error("create", &dir))?;
        let mut entries = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_error("list", &dir))? {
            let entry = entry.map_err(io_error("list", &dir))?;
            let path = entry.path();
            let name = entry.file_name();
            let Some(sequence) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                // A half-written report of a run that crashed.
                fs::remove_file(&path).map_err(io_error("remove", &path))?;
                continue;
            };
            let bytes = entry.metadata().map_err(io_error("read", &path))?.len();
            entries.push(Spooled {
                sequence,
                path,
                bytes,
            });
        }
        entries.sort_by_key(|e| e.sequence);
        let sequence_file = state_dir.join("sequence");
        let stored = match fs::read_to_string(&sequence_file) {
            Ok(text) => text.trim().parse::<u64>().unwrap_or(0),
            Err(error) if error.kind() == io::ErrorKind::NotFound => 0,
            Err(error) => return Err(io_error("read", &sequence_file)(error)),
        };
        let last_sequence = stored.max(entries.last().map_or(0, |e| e.sequence));
        Ok(Self {
            state_dir: state_dir.to_owned(),
            dir,
            max_bytes,
            entries,
            last_sequence,
            dropped: 0,
        })
    }

    /// The next sequence number, recorded before it is used.
    pub fn next_sequence(&mut self) -> Result<u64, SpoolError> {
        let next = self.last_sequence + 1;
        atomic_file::write(
            &self.state_dir.join("sequence"),
            next.to_string().as_bytes(),
        )?;
        self.last_sequence = next;
        Ok(next)
    }

    /// Spools `report`, dropping the oldest reports first when it would not fit.
    pub fn push(&mut self, report: &TelemetryReport) -> Result<(), SpoolError> {
        let bytes = serde_json::to_vec(report).map_err(|source| SpoolError::Encode {
            sequence: report.sequence,
            source,
        })?;
        let size = bytes.len() as u64;
        while !self.entries.is_empty() && self.bytes() + size > self.max_bytes {
            let oldest = self.entries.remove(0);
            fs::remove_file(&oldest.path).map_err(io_error("drop", &oldest.path))?;
            self.dropped += 1;
        }
        let path = self.dir.join(file_name(report.sequence));
        atomic_file::write(&path, &bytes)?;
        self.entries.push(Spooled {
            sequence: report.sequence,
            path,
            bytes: size,
        });
        Ok(())
    }

    /// The oldest spooled report, read back.
    pub fn oldest(&self) -> Result<Option<(Spooled, Vec<u8>)>, SpoolError> {
        let Some(oldest) = self.entries.first() else {
            return Ok(None);
        };
        let body = fs::read(&oldest.path).map_err(io_error("read", &oldest.path))?;
        Ok(Some((oldest.clone(), body)))
    }

    /// Removes the report `sequence` (sent, or refused for good).
    pub fn remove(&mut self, sequence: u64) -> Result<(), SpoolError> {
        if let Some(index) = self.entries.iter().position(|e| e.sequence == sequence) {
            let entry = self.entries.remove(index);
            fs::remove_file(&entry.path).map_err(io_error("remove", &entry.path))?;
        }
        Ok(())
    }

    /// Reports waiting.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes waiting.
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.bytes).sum()
    }

    /// Reports dropped for room since the spool was opened.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn report(sequence: u64, padding: usize) -> TelemetryReport {
        TelemetryReport {
            router: "hanbin-county".into(),
            agent_version: "0.1.0".into(),
            sequence,
            observed_at: Utc::now(),
            interval_seconds: 5,
            links: Vec::new(),
            routes: vec![govcloud_crds::api::RouteSummary {
                family: "x".repeat(padding),
                ..Default::default()
            }],
            config: None,
        }
    }

    #[test]
    fn reports_come_back_in_order_and_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut spool = Spool::open(dir.path(), 1 << 20).expect("open");
        for _ in 0..3 {
            let sequence = spool.next_sequence().expect("sequence");
            spool.push(&report(sequence, 10)).expect("push");
        }
        drop(spool);
        std::fs::write(
            dir.path().join("spool/00000000000000000009.partial"),
            "half",
        )
        .expect("write");
        let mut spool = Spool::open(dir.path(), 1 << 20).expect("reopen");
        assert_eq!(spool.len(), 3);
        let (first, body) = spool.oldest().expect("read").expect("one");
        assert_eq!(first.sequence, 1);
        let read: TelemetryReport = serde_json::from_slice(&body).expect("json");
        assert_eq!(read.sequence, 1);
        spool.remove(1).expect("remove");
        assert_eq!(spool.oldest().expect("read").expect("one").0.sequence, 2);
        assert_eq!(
            spool.next_sequence().expect("sequence"),
            4,
            "the sequence keeps growing"
        );
        assert!(
            !dir.path()
                .join("spool/00000000000000000009.partial")
                .exists()
        );
    }

    #[test]
    fn the_oldest_are_dropped_first_when_full_and_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let one = serde_json::to_vec(&report(1, 1000)).expect("json").len() as u64;
        let mut spool = Spool::open(dir.path(), one * 3 + one / 2).expect("open");
        for _ in 0..5 {
            let sequence = spool.next_sequence().expect("sequence");
            spool.push(&report(sequence, 1000)).expect("push");
        }
        assert_eq!(spool.len(), 3);
        assert_eq!(spool.dropped(), 2);
        assert_eq!(spool.oldest().expect("read").expect("one").0.sequence, 3);
        assert!(spool.bytes() <= one * 3 + one / 2);
        // The sequence survives even when the spool is emptied.
        for sequence in 3..=5 {
            spool.remove(sequence).expect("remove");
        }
        assert!(spool.is_empty());
        let mut spool = Spool::open(dir.path(), 1 << 20).expect("reopen");
        assert_eq!(spool.next_sequence().expect("sequence"), 6);
    }
}
