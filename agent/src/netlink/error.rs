//! Errors of the netlink adapter: every one names the operation that failed, and a kernel errno
//! comes with what an operator can do about it.

use std::fmt;
use std::io;

/// What the agent was asking the kernel when something failed, e.g. `dump links (RTM_GETLINK)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation(pub &'static str);

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A failure of one netlink exchange.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The socket could not be opened or set up.
    #[error("netlink: cannot open a {protocol} socket ({step}): {source}{}", hint(source.raw_os_error()))]
    Open {
        protocol: &'static str,
        step: &'static str,
        source: io::Error,
    },
    /// Sending the request or receiving the answer failed.
    #[error("netlink: {operation}: {source}{}", hint(source.raw_os_error()))]
    Io {
        operation: Operation,
        source: io::Error,
    },
    /// The kernel answered with an error.
    #[error("netlink: {operation}: the kernel refused it: {}{}{}", io::Error::from_raw_os_error(*errno), extended(message.as_deref()), hint(Some(*errno)))]
    Kernel {
        operation: Operation,
        /// The positive errno.
        errno: i32,
        /// The kernel's extended acknowledgement message, when it sent one.
        message: Option<String>,
    },
    /// The answer could not be read.
    #[error("netlink: {operation}: malformed answer from the kernel: {detail}")]
    Malformed {
        operation: Operation,
        detail: String,
    },
}

impl NetlinkError {
    /// The kernel's errno, when the kernel or a system call reported one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Open { source, .. } | Self::Io { source, .. } => source.raw_os_error(),
            Self::Kernel { errno, .. } => Some(*errno),
            Self::Malformed { .. } => None,
        }
    }
}

fn extended(message: Option<&str>) -> String {
    message.map_or_else(String::new, |message| format!(" ({message})"))
}

/// What to do about an errno, as a suffix of the message (empty when there is nothing to add).
pub(crate) fn hint(errno: Option<i32>) -> &'static str {
    match errno {
        Some(libc::EPERM | libc::EACCES) => {
            "; the agent needs CAP_NET_ADMIN (the systemd unit grants it; run as root otherwise)"
        }
        Some(libc::EPROTONOSUPPORT | libc::EAFNOSUPPORT) => {
            "; this kernel lacks the netlink protocol (CONFIG_NETLINK / CONFIG_GENERIC_NETLINK)"
        }
        Some(libc::ENOENT) => "; the kernel does not know the object or family asked for",
        Some(libc::ENODEV) => {
            "; the interface disappeared while it was read: the next observation will retry"
        }
        Some(libc::EOPNOTSUPP) => "; the device's driver does not support this request",
        Some(libc::ENOBUFS) => {
            "; the socket's receive buffer overflowed: the next observation will retry"
        }
        Some(libc::EINVAL) => {
            "; the kernel rejected the request's format (netlink strict checking): report this as a bug of the agent"
        }
        Some(libc::EMFILE | libc::ENFILE) => "; too many open files: raise LimitNOFILE",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_operation_and_what_to_do() {
        let error = NetlinkError::Kernel {
            operation: Operation("dump links (RTM_GETLINK)"),
            errno: libc::EPERM,
            message: Some("not allowed".to_owned()),
        };
        let text = error.to_string();
        assert!(
            text.starts_with("netlink: dump links (RTM_GETLINK): the kernel refused it: "),
            "{text}"
        );
        assert!(text.contains("(not allowed)"), "{text}");
        assert!(text.contains("CAP_NET_ADMIN"), "{text}");
        assert_eq!(error.errno(), Some(libc::EPERM));

        let error = NetlinkError::Io {
            operation: Operation("dump IPv6 routes of all tables (RTM_GETROUTE)"),
            source: io::Error::from_raw_os_error(libc::ENOBUFS),
        };
        assert!(
            error
                .to_string()
                .contains("the next observation will retry"),
            "{error}"
        );
    }
}
