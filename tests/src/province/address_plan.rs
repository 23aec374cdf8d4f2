//! The province's IPv6 plan inside the documentation range 2001:db8::/32 (RFC 3849): the /32
//! holds 256 /40s; city `k` (from 1) takes the /40 number `2(k−1)` for its extranet and the
//! next one for its DR centre (a second city-level site needs a pool of its own), so 64 cities
//! use half of the range and never overlap. Inside a city's /40: counties get /48s (room for
//! 255 of them beside the reserved one), townships /56s (256 per county), segments /64s; the
//! top /48 is reserved for infrastructure.

use std::net::Ipv6Addr;

use serde_json::{Value, json};

use super::layout::CityLayout;

/// The most cities the plan (and the generator) supports.
pub const MAX_CITIES: usize = 64;

/// Prefix lengths at each level.
const CITY_LENGTH: u8 = 40;
const COUNTY_LENGTH: u8 = 48;
const TOWNSHIP_LENGTH: u8 = 56;
const SEGMENT_LENGTH: u8 = 64;

/// The /40 number `slot` of 2001:db8::/32, with `low_byte` as the last byte of its third group.
fn prefix_of(slot: usize, low_byte: u16, length: u8) -> String {
    let slot = u16::try_from(slot % 256).unwrap_or(0);
    let address = Ipv6Addr::new(0x2001, 0x0db8, (slot << 8) | low_byte, 0, 0, 0, 0, 0);
    format!("{address}/{length}")
}

/// The extranet pool of city `index` (1-based).
pub fn city_pool_prefix(index: usize) -> String {
    prefix_of(2 * (index - 1), 0, CITY_LENGTH)
}

/// The DR centre's pool of city `index` (1-based).
pub fn dr_pool_prefix(index: usize) -> String {
    prefix_of(2 * (index - 1) + 1, 0, CITY_LENGTH)
}

/// The name of the city's extranet pool (the routers' `govcloud.io/address-pool` label).
pub fn city_pool(layout: &CityLayout) -> String {
    layout.code.clone()
}

/// The name of the DR centre's pool.
pub fn dr_pool(layout: &CityLayout) -> String {
    format!("{}-dr", layout.code)
}

fn pool(name: &str, prefix: &str, reserved: &[String]) -> Value {
    let mut spec = json!({
        "prefix": prefix,
        "lengths": {
            "city": CITY_LENGTH,
            "county": COUNTY_LENGTH,
            "township": TOWNSHIP_LENGTH,
            "segment": SEGMENT_LENGTH,
        },
        "releaseHold": "168h",
    });
    if !reserved.is_empty() {
        spec["reserved"] = json!(reserved);
    }
    json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "AddressPool",
        "metadata": {"name": name},
        "spec": spec,
    })
}

/// The city's two pools.
pub fn pools(layout: &CityLayout) -> Vec<Value> {
    let infrastructure = prefix_of(2 * (layout.index - 1), 0xff, COUNTY_LENGTH);
    vec![
        pool(
            &city_pool(layout),
            &city_pool_prefix(layout.index),
            &[infrastructure],
        ),
        pool(&dr_pool(layout), &dr_pool_prefix(layout.index), &[]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_city_has_two_distinct_prefixes_inside_the_documentation_range() {
        assert_eq!(city_pool_prefix(1), "2001:db8::/40");
        assert_eq!(dr_pool_prefix(1), "2001:db8:100::/40");
        assert_eq!(city_pool_prefix(2), "2001:db8:200::/40");
        assert_eq!(dr_pool_prefix(MAX_CITIES), "2001:db8:7f00::/40");
        assert_eq!(prefix_of(0, 0xff, COUNTY_LENGTH), "2001:db8:ff::/48");
        let mut all: Vec<String> = (1..=MAX_CITIES)
            .flat_map(|i| [city_pool_prefix(i), dr_pool_prefix(i)])
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 2 * MAX_CITIES);
    }
}
