//! [`Prefix`]: an IPv6 prefix as the allocator's value (network bits as a number and a length)
//! with the arithmetic it needs on numbers: first and last address, containment, overlap,
//! aligned subprefixes and their count, nibble alignment. It converts to and from `ipnet`'s
//! `Ipv6Net`, the prefix type of the agent and of the API's wire; why the allocator keeps its
//! own is in `docs/adr/0015-core-crate-and-capability-layout.md`.
//!
//! Text is read through [`canonical_prefix`] (which the ledger also applies), so the pool, the
//! allocator and the ledger agree on what a prefix is, and [`Prefix`]'s `Display` is that
//! canonical text.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use ipnet::{IpNet, Ipv6Net};

/// `prefix` (`address/length`, IPv6 or IPv4) in canonical text: RFC 5952 for IPv6, with no
/// host bits set. Two spellings of one prefix give the same text, so the ledger's uniqueness
/// rules hold. The errors name what is wrong (ipnet's own parse error does not).
pub fn canonical_prefix(prefix: &str) -> Result<String, String> {
    let (address, length) = prefix
        .split_once('/')
        .ok_or_else(|| format!("prefix {prefix:?} has no /length"))?;
    let address: IpAddr = address
        .parse()
        .map_err(|e| format!("prefix {prefix:?} has an invalid address: {e}"))?;
    let length: u8 = length
        .parse()
        .map_err(|_| format!("prefix {prefix:?} has an invalid length"))?;
    let net = IpNet::new(address, length).map_err(|_| {
        let width = if address.is_ipv6() { 128 } else { 32 };
        format!("prefix {prefix:?} is longer than {width} bits")
    })?;
    if net.trunc() != net {
        return Err(format!("prefix {prefix:?} has host bits set"));
    }
    Ok(net.to_string())
}

/// Why text is not an IPv6 prefix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// Not `address/length`, a bad address or length, or host bits set (the ledger's words).
    #[error("{0}")]
    Malformed(String),
    /// An IPv4 prefix where IPv6 is wanted.
    #[error("prefix {0:?} is IPv4; an address pool is IPv6")]
    NotIpv6(String),
}

/// An IPv6 prefix: `bits` has no bit set past `len`. Ordered by first address, then length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    bits: u128,
    len: u8,
}

/// The host part of a prefix of length `len`: the low `128 - len` bits set.
pub(crate) fn host_mask(len: u8) -> u128 {
    u128::MAX.checked_shr(u32::from(len)).unwrap_or(0)
}

impl Prefix {
    /// The prefix of length `len` (at most 128) whose network bits are those of `address`;
    /// host bits of `address` are cleared.
    pub fn truncate(address: u128, len: u8) -> Self {
        let len = len.min(128);
        Self {
            bits: address & !host_mask(len),
            len,
        }
    }

    /// Reads `2001:db8:a00::/48` (any spelling [`canonical_prefix`] accepts); host bits set,
    /// a length over 128 or an IPv4 prefix are errors.
    pub fn parse(text: &str) -> Result<Self, PrefixError> {
        let canonical = canonical_prefix(text).map_err(PrefixError::Malformed)?;
        let (address, len) = canonical
            .split_once('/')
            .ok_or_else(|| PrefixError::Malformed(format!("prefix {text:?} has no /length")))?;
        let address: Ipv6Addr = address
            .parse()
            .map_err(|_| PrefixError::NotIpv6(text.to_owned()))?;
        let len: u8 = len.parse().map_err(|_| {
            PrefixError::Malformed(format!("prefix {text:?} has an invalid length"))
        })?;
        Ok(Self::truncate(u128::from(address), len))
    }

    /// The prefix length.
    pub fn length(self) -> u8 {
        self.len
    }

    /// The first address, as a number.
    pub fn first(self) -> u128 {
        self.bits
    }

    /// The last address, as a number.
    pub fn last(self) -> u128 {
        self.bits | host_mask(self.len)
    }

    /// Whether `other` lies inside this prefix (a prefix contains itself).
    pub fn contains(self, other: Self) -> bool {
        other.len >= self.len && other.bits & !host_mask(self.len) == self.bits
    }

    /// Whether the two share an address: for prefixes, one contains the other.
    pub fn overlaps(self, other: Self) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// Whether the length falls on a nibble boundary (a multiple of 4), so that the prefix
    /// reads cleanly in hexadecimal.
    pub fn is_nibble_aligned(self) -> bool {
        self.len.is_multiple_of(4)
    }

    /// The prefix of length `len` containing this one (itself if `len` is not shorter).
    #[must_use]
    pub fn supernet(self, len: u8) -> Self {
        Self::truncate(self.bits, len.min(self.len))
    }

    /// How many subprefixes of length `len` this prefix holds: `2^(len - self.len)`, `None`
    /// when `len` is shorter than this prefix or the count exceeds `u128`.
    pub fn count_of(self, len: u8) -> Option<u128> {
        let extra = len.checked_sub(self.len)?;
        if len > 128 {
            return None;
        }
        1_u128.checked_shl(u32::from(extra))
    }

    /// The subprefixes of length `len` in address order; `None` when `len` is shorter than
    /// this prefix or longer than 128.
    pub fn subprefixes(self, len: u8) -> Option<Subprefixes> {
        if len < self.len || len > 128 {
            return None;
        }
        Some(Subprefixes {
            next: Some(self.bits),
            last: self.last(),
            len,
        })
    }
}

impl From<Prefix> for Ipv6Net {
    fn from(prefix: Prefix) -> Self {
        // A length of at most 128 is a valid `Ipv6Net` length.
        Ipv6Net::new_assert(Ipv6Addr::from(prefix.bits), prefix.len)
    }
}

impl From<Ipv6Net> for Prefix {
    /// The network of `net` (host bits cleared).
    fn from(net: Ipv6Net) -> Self {
        Self::truncate(u128::from(net.addr()), net.prefix_len())
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv6Addr::from(self.bits), self.len)
    }
}

/// The aligned subprefixes of one length inside a prefix, lowest first (see
/// [`Prefix::subprefixes`]).
#[derive(Clone, Debug)]
pub struct Subprefixes {
    next: Option<u128>,
    last: u128,
    len: u8,
}

impl Iterator for Subprefixes {
    type Item = Prefix;

    fn next(&mut self) -> Option<Prefix> {
        let start = self.next?;
        let item = Prefix::truncate(start, self.len);
        let end = item.last();
        self.next = end.checked_add(1).filter(|n| *n <= self.last);
        Some(item)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ipam::testing::p;

    #[test]
    fn display_is_the_ledgers_canonical_text() {
        for text in ["2001:DB8:0A00:0000::/48", "2001:db8:a00:ff00::/56", "::/0"] {
            let shown = p(text).to_string();
            assert_eq!(canonical_prefix(&shown).unwrap(), shown);
            assert_eq!(canonical_prefix(text).unwrap(), shown);
        }
        assert_eq!(p("2001:db8::1/128").to_string(), "2001:db8::1/128");
    }

    #[test]
    fn refuses_ipv4_host_bits_and_garbage() {
        assert!(matches!(
            Prefix::parse("192.0.2.0/24"),
            Err(PrefixError::NotIpv6(_))
        ));
        for bad in ["2001:db8::1/64", "2001:db8::/129", "2001:db8::", "x/64"] {
            assert!(
                matches!(Prefix::parse(bad), Err(PrefixError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn containment_and_overlap() {
        let county = p("2001:db8:a00:1000::/52");
        let township = p("2001:db8:a00:1010::/60");
        let other = p("2001:db8:a00:2000::/52");
        assert!(county.contains(township) && county.contains(county));
        assert!(!township.contains(county));
        assert!(county.overlaps(township) && township.overlaps(county));
        assert!(!county.overlaps(other));
        assert_eq!(township.supernet(52), county);
        assert!(p("::/0").contains(county));
    }

    #[test]
    fn subprefixes_are_aligned_and_in_order() {
        let township = p("2001:db8:a00:1010::/60");
        let segments: Vec<String> = township
            .subprefixes(64)
            .unwrap()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(segments.len(), 16);
        assert_eq!(segments[0], "2001:db8:a00:1010::/64");
        assert_eq!(segments[15], "2001:db8:a00:101f::/64");
        assert_eq!(township.subprefixes(60).unwrap().count(), 1);
        assert!(township.subprefixes(56).is_none());
        assert_eq!(township.count_of(64), Some(16));
        assert_eq!(p("::/0").count_of(128), None);
        let top: Vec<Prefix> = p("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126")
            .subprefixes(128)
            .unwrap()
            .collect();
        assert_eq!(top.len(), 4);
    }

    #[test]
    fn converts_to_and_from_ipnet() {
        let township = p("2001:db8:a00:1010::/60");
        let net = Ipv6Net::from(township);
        assert_eq!(net.to_string(), township.to_string());
        assert_eq!(Prefix::from(net), township);
        let with_host_bits: Ipv6Net = "2001:db8:a00:1011::1/60".parse().unwrap();
        assert_eq!(Prefix::from(with_host_bits), township);
    }

    #[test]
    fn nibble_alignment() {
        assert!(p("2001:db8:a00::/48").is_nibble_aligned());
        assert!(!p("2001:db8:a00::/47").is_nibble_aligned());
    }
}
