//! Reachability probes: ICMPv6 echo requests to a target, from a given source address when the
//! probe names one (the site's LAN address, so the path back is tested too), a few attempts
//! with a timeout each; the target is reachable when one echo reply comes back in time.
//!
//! Which socket: a raw ICMPv6 socket (`SOCK_RAW`, `IPPROTO_ICMPV6`), which needs
//! `CAP_NET_RAW` — the systemd unit grants it. The unprivileged "ping socket" (`SOCK_DGRAM`,
//! `IPPROTO_ICMPV6`) is only the fallback when the raw one is refused: ping sockets are allowed
//! to the groups in `net.ipv4.ping_group_range` *of the socket's namespace*, and that range is
//! `1 0` (nobody, root included) in every freshly made namespace — a router's forwarding
//! namespace, the lab's — whatever the host's systemd set for its own. A raw socket sees every
//! ICMPv6 message of its namespace, so it is connected to the target (the kernel then passes
//! only the target's messages) and a packet counts only when it is an echo reply carrying the
//! probe's identifier, sequence number and random payload. The kernel computes ICMPv6 checksums
//! of both kinds of socket.
//!
//! Namespaces: a socket belongs to the namespace it was created in, wherever it is used later.
//! [`run`] opens every probe's socket inside the observed namespace ([`netns::run_in`], like the
//! netlink and ethtool sockets of the observation), then waits for the replies of all probes at
//! once on scoped threads, so several unreachable targets cost one timeout per attempt, not one
//! per probe.
//!
//! "Not reachable" (no reply in time, no route, an ICMPv6 unreachable) is a result; a local
//! failure (a source address the router does not have, no permission to open the socket) is an
//! error, reported with the probe.

use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use govcloud_crds::api::{ProbeConfig, ProbeResult};
use rustix::io::Errno;
use rustix::net::sockopt::{Timeout, set_socket_timeout};
use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, bind, connect, ipproto, recv,
    send, socket_with,
};

use crate::netns::{self, NetnsError};

/// The default time to wait for each echo reply.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// The default number of echo requests before a target counts as unreachable.
pub const DEFAULT_ATTEMPTS: u32 = 2;

const ECHO_REQUEST: u8 = 128;
const ECHO_REPLY: u8 = 129;
/// Marks the payload as a govcloud probe (followed by an 8-byte nonce).
const TAG: &[u8; 8] = b"govcloud";
/// Length of an echo request: the 8-byte ICMPv6 echo header, the tag and the nonce.
const REQUEST_LEN: usize = 24;

/// Identifiers of the raw sockets' echo requests: distinct for probes running at once.
static NEXT_IDENTIFIER: AtomicU16 = AtomicU16::new(0);

/// How long and how often to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeOptions {
    /// Time to wait for the reply of each echo request.
    pub timeout: Duration,
    /// Echo requests sent before giving up (at least one).
    pub attempts: u32,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            attempts: DEFAULT_ATTEMPTS,
        }
    }
}

/// A local failure of a probe (an unreachable target is not one).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(
        "failed to open an ICMPv6 socket (a raw socket needs CAP_NET_RAW; a ping socket needs the agent's group in net.ipv4.ping_group_range): {source}"
    )]
    Socket {
        #[source]
        source: std::io::Error,
    },
    #[error("failed to probe from {address}: no such source address on this router")]
    NoSuchSource { address: Ipv6Addr },
    #[error("failed to probe from {address}: {source}")]
    Bind {
        address: Ipv6Addr,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to send an echo request to {target}: {source}")]
    Send {
        target: Ipv6Addr,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to receive an echo reply from {target}: {source}")]
    Receive {
        target: Ipv6Addr,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to probe {target}: the probing thread panicked")]
    Panicked { target: Ipv6Addr },
}

/// One probe's result, and the local failure that made it unreachable, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeOutcome {
    pub result: ProbeResult,
    pub error: Option<String>,
}

/// An echo request: type, code, checksum (the kernel fills it), identifier, sequence, then the
/// tag and `nonce`.
pub fn echo_request(identifier: u16, sequence: u16, nonce: u64) -> [u8; REQUEST_LEN] {
    let mut packet = [0; REQUEST_LEN];
    packet[0] = ECHO_REQUEST;
    packet[4..6].copy_from_slice(&identifier.to_be_bytes());
    packet[6..8].copy_from_slice(&sequence.to_be_bytes());
    packet[8..16].copy_from_slice(TAG);
    packet[16..24].copy_from_slice(&nonce.to_be_bytes());
    packet
}

/// Whether `packet` (an ICMPv6 message, no IPv6 header) is the reply to one of this probe's
/// requests: its identifier, a sequence number up to `sequence` (the reply to an earlier attempt
/// that was late — e.g. held while the neighbour was resolved — still proves reachability), and
/// its nonce. `identifier` is `None` for a ping socket, whose identifier the kernel chooses (and
/// matches) itself.
pub fn is_echo_reply(packet: &[u8], identifier: Option<u16>, sequence: u16, nonce: u64) -> bool {
    let Some(header) = packet.get(..8) else {
        return false;
    };
    header[0] == ECHO_REPLY
        && header[1] == 0
        && identifier.is_none_or(|id| header[4..6] == id.to_be_bytes())
        && u16::from_be_bytes([header[6], header[7]]) <= sequence
        && packet.get(8..16) == Some(TAG.as_slice())
        && packet.get(16..24) == Some(nonce.to_be_bytes().as_slice())
}

/// Errors that mean "no path to the target" rather than a local failure.
fn is_unreachable(errno: Errno) -> bool {
    [
        Errno::NETUNREACH,
        Errno::HOSTUNREACH,
        Errno::ADDRNOTAVAIL,
        Errno::CONNREFUSED,
        Errno::NETDOWN,
        Errno::HOSTDOWN,
        Errno::PROTO,
    ]
    .contains(&errno)
}

/// An echo socket opened in some namespace, for one target.
#[derive(Debug)]
pub struct EchoSocket {
    fd: OwnedFd,
    /// The identifier of a raw socket's requests; `None` for a ping socket.
    identifier: Option<u16>,
    target: Ipv6Addr,
}

impl EchoSocket {
    /// Opens a socket in the calling thread's namespace for probing `target`, bound to `source`
    /// when given.
    pub fn open(target: Ipv6Addr, source: Option<Ipv6Addr>) -> Result<Self, ProbeError> {
        let (fd, identifier) = match socket_with(
            AddressFamily::INET6,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            Some(ipproto::ICMPV6),
        ) {
            Ok(fd) => {
                let pid = u16::try_from(std::process::id() & 0xffff).unwrap_or(0);
                let identifier = pid ^ NEXT_IDENTIFIER.fetch_add(1, Ordering::Relaxed);
                (fd, Some(identifier))
            }
            Err(raw) if raw == Errno::PERM || raw == Errno::ACCESS => {
                let fd = socket_with(
                    AddressFamily::INET6,
                    SocketType::DGRAM,
                    SocketFlags::CLOEXEC,
                    Some(ipproto::ICMPV6),
                )
                .map_err(|_| ProbeError::Socket { source: raw.into() })?;
                (fd, None)
            }
            Err(error) => {
                return Err(ProbeError::Socket {
                    source: error.into(),
                });
            }
        };
        // A ping socket is bound in any case: binding gives it its identifier.
        if source.is_some() || identifier.is_none() {
            let address = source.unwrap_or(Ipv6Addr::UNSPECIFIED);
            bind(&fd, &SocketAddrV6::new(address, 0, 0, 0)).map_err(|error| {
                if error == Errno::ADDRNOTAVAIL {
                    ProbeError::NoSuchSource { address }
                } else {
                    ProbeError::Bind {
                        address,
                        source: error.into(),
                    }
                }
            })?;
        }
        Ok(Self {
            fd,
            identifier,
            target,
        })
    }

    /// Sends up to `options.attempts` echo requests, each waiting up to `options.timeout` for
    /// its reply; whether one came back.
    pub fn probe(&self, options: &ProbeOptions) -> Result<bool, ProbeError> {
        let send_error = |error: Errno| ProbeError::Send {
            target: self.target,
            source: error.into(),
        };
        match connect(&self.fd, &SocketAddrV6::new(self.target, 0, 0, 0)) {
            Ok(()) => {}
            Err(error) if is_unreachable(error) => return Ok(false),
            Err(error) => return Err(send_error(error)),
        }
        let nonce = nonce();
        for attempt in 0..options.attempts.max(1) {
            let sequence = u16::try_from(attempt & 0xffff).unwrap_or(0);
            let request = echo_request(self.identifier.unwrap_or(0), sequence, nonce);
            match send(&self.fd, &request, SendFlags::empty()) {
                Ok(_) => {}
                Err(error) if is_unreachable(error) => continue,
                Err(error) => return Err(send_error(error)),
            }
            if self.wait_for_reply(sequence, nonce, options.timeout)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Receives until the reply to `sequence` comes or `timeout` passes.
    fn wait_for_reply(
        &self,
        sequence: u16,
        nonce: u64,
        timeout: Duration,
    ) -> Result<bool, ProbeError> {
        let receive_error = |error: Errno| ProbeError::Receive {
            target: self.target,
            source: error.into(),
        };
        let deadline = Instant::now() + timeout;
        let mut buffer = [0_u8; 1500];
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Ok(false);
            }
            // A zero SO_RCVTIMEO would mean "wait for ever".
            let wait = remaining.max(Duration::from_millis(1));
            set_socket_timeout(&self.fd, Timeout::Recv, Some(wait)).map_err(receive_error)?;
            match recv(&self.fd, &mut buffer[..], RecvFlags::empty()) {
                Ok((length, _)) => {
                    let packet = buffer.get(..length).unwrap_or_default();
                    if is_echo_reply(packet, self.identifier, sequence, nonce) {
                        return Ok(true);
                    }
                }
                // An ICMPv6 error for an earlier request (e.g. the neighbour did not answer in
                // time): this attempt may still be answered.
                Err(error)
                    if error == Errno::AGAIN || error == Errno::INTR || is_unreachable(error) => {}
                Err(error) => return Err(receive_error(error)),
            }
        }
    }
}

/// A payload value no other pinger is likely to echo back by chance.
fn nonce() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    now.as_secs().rotate_left(32)
        ^ u64::from(now.subsec_nanos())
        ^ u64::from(NEXT_IDENTIFIER.fetch_add(1, Ordering::Relaxed))
}

/// Probes `target` (from `source` when given) in the calling thread's namespace.
pub fn probe(
    target: Ipv6Addr,
    source: Option<Ipv6Addr>,
    options: &ProbeOptions,
) -> Result<bool, ProbeError> {
    EchoSocket::open(target, source)?.probe(options)
}

/// Runs `probes` in the namespace at `netns` (the calling thread's own when `None`), all at
/// once; one outcome per probe, in order. Only entering the namespace fails as a whole.
pub fn run(
    netns: Option<&Path>,
    probes: &[ProbeConfig],
    options: &ProbeOptions,
) -> Result<Vec<ProbeOutcome>, NetnsError> {
    let sockets: Vec<Result<EchoSocket, ProbeError>> = netns::run_in(netns, || {
        probes
            .iter()
            .map(|probe| EchoSocket::open(probe.target, probe.source))
            .collect()
    })?;
    let results: Vec<Result<bool, ProbeError>> = std::thread::scope(|scope| {
        let running: Vec<_> = sockets
            .into_iter()
            .map(|socket| scope.spawn(move || socket.and_then(|socket| socket.probe(options))))
            .collect();
        running
            .into_iter()
            .zip(probes)
            .map(|(thread, probe)| {
                thread.join().unwrap_or(Err(ProbeError::Panicked {
                    target: probe.target,
                }))
            })
            .collect()
    });
    Ok(probes
        .iter()
        .zip(results)
        .map(|(probe, result)| ProbeOutcome {
            result: ProbeResult {
                name: probe.name.clone(),
                target: probe.target,
                reachable: matches!(result, Ok(true)),
            },
            error: result
                .err()
                .map(|error| format!("probe {}: {error}", probe.name)),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_matches_only_its_own_request() {
        let mut reply = echo_request(0x1234, 7, 42);
        reply[0] = ECHO_REPLY;
        assert!(is_echo_reply(&reply, Some(0x1234), 7, 42));
        assert!(
            is_echo_reply(&reply, None, 7, 42),
            "a ping socket's identifier is the kernel's"
        );
        assert!(!is_echo_reply(&reply, Some(0x1235), 7, 42), "identifier");
        assert!(
            !is_echo_reply(&reply, Some(0x1234), 6, 42),
            "a later sequence"
        );
        assert!(
            is_echo_reply(&reply, Some(0x1234), 8, 42),
            "a late reply to an earlier attempt"
        );
        assert!(!is_echo_reply(&reply, Some(0x1234), 7, 43), "nonce");
        assert!(!is_echo_reply(&reply[..20], Some(0x1234), 7, 42), "short");
        assert!(
            !is_echo_reply(&echo_request(0x1234, 7, 42), Some(0x1234), 7, 42),
            "our own request looped back is no reply"
        );
        assert!(!is_echo_reply(&[], None, 0, 0));
    }

    #[test]
    fn a_request_carries_identifier_sequence_and_nonce() {
        let request = echo_request(0xabcd, 0x0102, 0x1122_3344_5566_7788);
        assert_eq!(request[..8], [128, 0, 0, 0, 0xab, 0xcd, 0x01, 0x02]);
        assert_eq!(&request[8..16], b"govcloud");
        assert_eq!(
            request[16..],
            [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]
        );
    }
}
