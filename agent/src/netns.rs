//! Observing another network namespace: a scoped thread enters it with `setns(2)` (through
//! rustix's safe wrapper), runs the observation there and ends, so no other thread of the agent
//! ever changes namespace. Netlink and ethtool sockets belong to the namespace they were opened
//! in, while the agent's HTTPS connections stay in its own — which is what lets the lab run one
//! agent per router namespace while the controller listens on the host's loopback, and what a
//! router that keeps its forwarding plane in a namespace needs.

use std::fs::File;
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

/// Why the namespace could not be entered.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("failed to open the network namespace {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to enter the network namespace {} (the agent needs CAP_SYS_ADMIN for another namespace): {source}", path.display())]
    Enter {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the thread observing {} panicked", path.display())]
    Panicked { path: PathBuf },
}

/// Runs `work` in the network namespace at `path` (e.g. `/run/netns/NAME`), or in the calling
/// thread's own when `path` is `None`.
pub fn run_in<T: Send>(
    path: Option<&Path>,
    work: impl FnOnce() -> T + Send,
) -> Result<T, NetnsError> {
    let Some(path) = path else {
        return Ok(work());
    };
    let namespace = File::open(path).map_err(|source| NetnsError::Open {
        path: path.to_owned(),
        source,
    })?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                move_into_link_name_space(namespace.as_fd(), Some(LinkNameSpaceType::Network))
                    .map_err(|error| NetnsError::Enter {
                        path: path.to_owned(),
                        source: error.into(),
                    })?;
                Ok(work())
            })
            .join()
            .map_err(|_| NetnsError::Panicked {
                path: path.to_owned(),
            })?
    })
}
