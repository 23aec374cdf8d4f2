//! Local mode shared by every test of a file, which lives as long as the test process: on a
//! runtime of its own, in a data directory locked until the process ends.

use std::fs::File;
use std::path::{Path, PathBuf};

use govcloud_controller::local::LocalControlPlane;

use super::local::start_local;

/// Name of the lock file that marks a data directory in use.
const LOCK: &str = "in-use.lock";

/// A multi-threaded runtime with every driver enabled.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A data directory for this process's local mode under `name` in the target's temporary
/// directory, and the lock on it, held until the process ends. No code runs after a test binary's
/// last test, so each run first removes the directories of runs that have ended (whose locks are
/// free).
fn data_dir(name: &str) -> (PathBuf, File) {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&root).expect("create the tests' directory");
    for entry in std::fs::read_dir(&root).expect("list the tests' directory") {
        let dir = entry.expect("directory entry").path();
        let ended = File::open(dir.join(LOCK)).is_ok_and(|lock| lock.try_lock().is_ok());
        if ended {
            // Another run may be removing it too.
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("plane-")
        .tempdir_in(&root)
        .expect("data directory")
        .keep();
    // Locked before it gets its name, so that no other run ever sees it unlocked.
    let partial = dir.join("lock.partial");
    let lock = File::create(&partial).expect("lock file");
    lock.lock().expect("lock");
    std::fs::rename(&partial, dir.join(LOCK)).expect("name the lock file");
    (dir, lock)
}

/// Local mode with the Ankang seed, on a runtime of its own, in a data directory locked while the
/// process runs: kept in a `static`, it serves every test of a file.
pub struct Plane {
    runtime: tokio::runtime::Runtime,
    /// Local mode.
    pub local: LocalControlPlane,
    _lock: File,
}

impl Plane {
    /// Starts local mode in a data directory under `name` (see [`data_dir`]); returns it and its
    /// data directory (the controller's database is `govcloud.db` in it).
    pub fn start(name: &str) -> (Self, PathBuf) {
        let (data, lock) = data_dir(name);
        let runtime = runtime();
        let local = runtime.block_on(start_local(&data, true));
        let plane = Self {
            runtime,
            local,
            _lock: lock,
        };
        (plane, data)
    }

    /// Runs `future` on local mode's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}
