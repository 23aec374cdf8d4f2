//! Helpers of the IPAM tests: the Ankang pool of the examples, owners, prefixes and times.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use govcloud_crds::common::{Duration, Prefix as SpecPrefix};
use govcloud_crds::network::address_pool::{AddressPoolSpec, PrefixLengths};

use super::ledger::Owner;
use super::pool::ValidPool;
use super::prefix::Prefix;

/// A spec with the given prefix and lengths (city, county, township, segment).
pub(crate) fn spec(prefix: &str, lengths: [u8; 4]) -> AddressPoolSpec {
    AddressPoolSpec {
        prefix: SpecPrefix::from(prefix),
        lengths: PrefixLengths {
            city: lengths[0],
            county: lengths[1],
            township: lengths[2],
            segment: lengths[3],
        },
        reserved: Vec::new(),
        release_hold: Duration::from("168h"),
    }
}

/// `examples/ankang/50-address-pool.yaml`: a /48 in county /52s, township /60s, segment /64s,
/// two /56s reserved.
pub(crate) fn ankang_spec() -> AddressPoolSpec {
    AddressPoolSpec {
        reserved: vec![
            SpecPrefix::from("2001:db8:a00:ff00::/56"),
            SpecPrefix::from("2001:db8:a00:fe00::/56"),
        ],
        ..spec("2001:db8:a00::/48", [48, 52, 60, 64])
    }
}

/// A checked pool; panics (in tests only) on a bad spec.
pub(crate) fn valid(spec: &AddressPoolSpec) -> ValidPool {
    match ValidPool::from_spec(spec) {
        Ok(pool) => pool,
        Err(e) => panic!("test pool refused: {e}"),
    }
}

/// A parsed prefix; panics (in tests only) on bad text.
pub(crate) fn p(text: &str) -> Prefix {
    match Prefix::parse(text) {
        Ok(prefix) => prefix,
        Err(e) => panic!("test prefix {text}: {e}"),
    }
}

/// A `Router` owner.
pub(crate) fn router(name: &str) -> Owner {
    Owner::new("Router", name)
}

/// A `Segment` owner.
pub(crate) fn segment(name: &str) -> Owner {
    Owner::new("Segment", name)
}

/// Midnight, 1 November 2026 (UTC), plus `hours`.
pub(crate) fn at(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + TimeDelta::hours(hours)
}
