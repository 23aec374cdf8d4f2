//! The agent's one netlink adapter: every netlink socket, request and answer of the agent goes
//! through here, and every failure comes back as a [`NetlinkError`] naming the operation.
//!
//! It is deliberately synchronous and zero-copy: one blocking socket per protocol, one large
//! receive buffer reused for every datagram, and answers handed to the caller as borrowed
//! `(message type, payload)` pairs so that a dump of 100,000 routes is walked in place and never
//! decoded into owned structures (the hot paths read a few header fields; see
//! docs/benchmarks.md "Router agent"). Callers in async code run it on a blocking thread.

pub mod attr;
mod error;
pub mod request;

use std::io;

use netlink_packet_core::{NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NetlinkBuffer};
use netlink_sys::protocols::{NETLINK_GENERIC, NETLINK_ROUTE};
use netlink_sys::{Socket, SocketAddr};

pub(crate) use error::hint;
pub use error::{NetlinkError, Operation};
pub use request::{LinkDetail, Request};

/// Bytes reserved for one datagram. The kernel fills at most ~32 KiB per dump datagram (it caps
/// its buffer at `SKB_WITH_OVERHEAD(32768)` unless one message is larger), so this is ample; the
/// pages never written stay unmapped and cost no resident memory.
const DATAGRAM_BUFFER: usize = 1 << 20;

/// `SO_RCVBUF` asked for (as `ip` does): room for the kernel to queue the next datagrams.
const SOCKET_RECEIVE_BUFFER: i32 = 1 << 20;

/// `NLM_F_CAPPED` / `NLM_F_ACK_TLVS` of an `NLMSG_ERROR` (not exported by netlink-packet-core
/// under these names for error messages), and `NLMSGERR_ATTR_MSG`.
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;

/// One netlink socket connected to the kernel.
#[derive(Debug)]
pub struct Netlink {
    socket: Socket,
    sequence: u32,
    buffer: Vec<u8>,
}

impl Netlink {
    /// An rtnetlink socket with strict checking (so dump requests are validated and filtered by
    /// the kernel) and extended acknowledgements.
    pub fn route() -> Result<Self, NetlinkError> {
        let netlink = Self::open(NETLINK_ROUTE, "rtnetlink")?;
        netlink
            .socket
            .set_netlink_get_strict_chk(true)
            .map_err(open_error("rtnetlink", "NETLINK_GET_STRICT_CHK"))?;
        Ok(netlink)
    }

    /// A generic netlink socket (for the ethtool family).
    pub fn generic() -> Result<Self, NetlinkError> {
        Self::open(NETLINK_GENERIC, "generic netlink")
    }

    fn open(protocol: isize, name: &'static str) -> Result<Self, NetlinkError> {
        let mut socket = Socket::new(protocol).map_err(open_error(name, "socket"))?;
        socket.bind_auto().map_err(open_error(name, "bind"))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(open_error(name, "connect"))?;
        socket
            .set_rx_buf_sz(SOCKET_RECEIVE_BUFFER)
            .map_err(open_error(name, "SO_RCVBUF"))?;
        // Extended acknowledgements only improve error messages: an old kernel without them
        // is still usable.
        let _ = socket.set_ext_ack(true);
        Ok(Self {
            socket,
            sequence: std::process::id().rotate_left(16),
            buffer: Vec::with_capacity(DATAGRAM_BUFFER),
        })
    }

    /// Sends `request` and calls `each(message type, payload)` for every message of the answer,
    /// in order, until the dump's `NLMSG_DONE` or the request's acknowledgement. An error of
    /// `each` is returned after the rest of the answer was drained, so the socket stays usable.
    pub fn exchange(
        &mut self,
        operation: Operation,
        request: &Request,
        mut each: impl FnMut(u16, &[u8]) -> Result<(), String>,
    ) -> Result<(), NetlinkError> {
        self.send(operation, request)?;
        let mut failure: Option<NetlinkError> = None;
        loop {
            let length = self.receive(operation)?;
            let mut offset = 0;
            while offset < length {
                let (step, end) =
                    self.message(operation, offset, length, &mut |kind, payload| {
                        if failure.is_none()
                            && let Err(detail) = each(kind, payload)
                        {
                            failure = Some(NetlinkError::Malformed { operation, detail });
                        }
                    })?;
                if end {
                    return failure.map_or(Ok(()), Err);
                }
                offset += step;
            }
        }
    }

    fn send(&mut self, operation: Operation, request: &Request) -> Result<(), NetlinkError> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut bytes = request.bytes.clone();
        NetlinkBuffer::new(&mut bytes[..]).set_sequence_number(self.sequence);
        self.socket
            .send(&bytes, 0)
            .map_err(|source| NetlinkError::Io { operation, source })?;
        Ok(())
    }

    /// Receives one datagram into the buffer; returns its length.
    fn receive(&mut self, operation: Operation) -> Result<usize, NetlinkError> {
        loop {
            self.buffer.clear();
            match self.socket.recv(&mut self.buffer, libc::MSG_TRUNC) {
                Ok(length) if length > self.buffer.len() => {
                    return Err(NetlinkError::Malformed {
                        operation,
                        detail: format!(
                            "a datagram of {length} bytes does not fit the {} bytes buffer",
                            self.buffer.capacity()
                        ),
                    });
                }
                Ok(length) => return Ok(length),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(NetlinkError::Io { operation, source }),
            }
        }
    }

    /// Handles the message at `offset`: returns its aligned length and whether the answer ended.
    fn message(
        &self,
        operation: Operation,
        offset: usize,
        length: usize,
        each: &mut dyn FnMut(u16, &[u8]),
    ) -> Result<(usize, bool), NetlinkError> {
        let message =
            NetlinkBuffer::new_checked(&self.buffer[offset..length]).map_err(|error| {
                NetlinkError::Malformed {
                    operation,
                    detail: error.to_string(),
                }
            })?;
        let step = (message.length() as usize).next_multiple_of(4);
        if message.sequence_number() != self.sequence {
            // The rest of an answer to an earlier request that was given up on.
            return Ok((step, false));
        }
        let payload = message.payload();
        match message.message_type() {
            NLMSG_NOOP => Ok((step, false)),
            NLMSG_OVERRUN => Err(kernel_error(operation, libc::ENOBUFS, None)),
            NLMSG_DONE | NLMSG_ERROR => {
                let code = attr::u32_of(payload).map_or(0, u32::cast_signed);
                if code < 0 {
                    let text = extended_ack(message.message_type(), message.flags(), payload);
                    return Err(kernel_error(operation, -code, text));
                }
                Ok((step, true))
            }
            kind => {
                // A non-dump answer is one message followed by the acknowledgement asked for,
                // so every answer ends with `NLMSG_DONE` or `NLMSG_ERROR`.
                each(kind, payload);
                Ok((step, false))
            }
        }
    }
}

fn open_error(
    protocol: &'static str,
    step: &'static str,
) -> impl FnOnce(io::Error) -> NetlinkError {
    move |source| NetlinkError::Open {
        protocol,
        step,
        source,
    }
}

fn kernel_error(operation: Operation, errno: i32, message: Option<String>) -> NetlinkError {
    NetlinkError::Kernel {
        operation,
        errno,
        message,
    }
}

/// The text of `NLMSGERR_ATTR_MSG` in an error or done message, when the kernel sent one.
fn extended_ack(kind: u16, flags: u16, payload: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let start = if kind == NLMSG_DONE {
        4
    } else if flags & NLM_F_CAPPED != 0 {
        4 + 16
    } else {
        // The error code, then the whole request echoed back.
        let echoed = attr::u32_of(payload.get(4..)?)? as usize;
        (4 + echoed).next_multiple_of(4)
    };
    let text = attr::find(payload.get(start..)?, NLMSGERR_ATTR_MSG).ok()??;
    Some(attr::str_of(text))
}
