//! Pool validation: every refusal names the field to fix.

use govcloud_crds::common::{Duration, Prefix as SpecPrefix};
use govcloud_crds::network::address_pool::{AddressPool, AddressPoolSpec, PrefixLengths};
use serde::Deserialize as _;

use super::error::PoolError;
use super::level::Level;
use super::pool::{ValidPool, check_overlaps};
use super::testing::{ankang_spec, p, spec};

fn refusal(spec: &AddressPoolSpec) -> String {
    match ValidPool::from_spec(spec) {
        Ok(pool) => panic!("accepted: {pool:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_ankang_example_is_valid() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/ankang/50-address-pool.yaml"
    );
    let text = std::fs::read_to_string(path).expect("the example exists");
    let pools: Vec<AddressPool> = serde_norway::Deserializer::from_str(&text)
        .map(|document| AddressPool::deserialize(document).expect("the example parses"))
        .collect();
    assert_eq!(pools.len(), 2, "the city's pool and the DR centre's");
    let valid = ValidPool::from_spec(&pools[0].spec).expect("the example is valid");
    let dr = ValidPool::from_spec(&pools[1].spec).expect("the DR centre's pool is valid");
    assert_eq!(
        check_overlaps(
            dr.prefix(),
            [(
                pools[0].metadata.name.as_deref().unwrap_or_default(),
                valid.prefix()
            )]
        ),
        Ok(()),
        "the two pools do not overlap"
    );
    assert_eq!(valid.prefix(), p("2001:db8:a00::/48"));
    let lengths: Vec<u8> = Level::ALL.iter().map(|l| valid.length(*l)).collect();
    assert_eq!(lengths, [48, 52, 60, 64]);
    assert_eq!(valid.reserved().len(), 2);
    assert_eq!(valid.hold(), chrono::TimeDelta::hours(168));
    assert_eq!(valid.level_of_length(60), Some(Level::Township));
    assert_eq!(ValidPool::from_spec(&ankang_spec()), Ok(valid));
}

#[test]
fn the_schema_defaults_are_valid() {
    let mut defaults = spec("2001:db8:100::/48", [48, 56, 60, 64]);
    defaults.lengths = PrefixLengths::default();
    assert!(ValidPool::from_spec(&defaults).is_ok());
}

#[test]
fn a_misaligned_pool_prefix_is_refused() {
    let e = refusal(&spec("2001:db8:a00::/47", [48, 52, 60, 64]));
    assert_eq!(
        e,
        "spec.prefix: /47 is not on a nibble boundary (a multiple of 4)"
    );
}

#[test]
fn host_bits_and_ipv4_are_refused_in_spec_prefix() {
    let e = refusal(&spec("2001:db8:a00:1::/48", [48, 52, 60, 64]));
    assert!(
        e.starts_with("spec.prefix: ") && e.contains("host bits"),
        "{e}"
    );
    let e = refusal(&spec("192.0.2.0/24", [48, 52, 60, 64]));
    assert!(e.starts_with("spec.prefix: ") && e.contains("IPv4"), "{e}");
}

#[test]
fn a_county_longer_than_a_township_is_refused() {
    let e = refusal(&spec("2001:db8:a00::/48", [48, 60, 56, 64]));
    assert_eq!(
        e,
        "spec.lengths.township: /56 must be longer than spec.lengths.county (/60)"
    );
    let e = refusal(&spec("2001:db8:a00::/48", [48, 56, 56, 64]));
    assert!(e.starts_with("spec.lengths.township: /56"), "{e}");
    let e = refusal(&spec("2001:db8:a00::/48", [52, 48, 60, 64]));
    assert!(e.starts_with("spec.lengths.county: /48"), "{e}");
}

#[test]
fn lengths_off_nibbles_or_out_of_bounds_are_refused() {
    let e = refusal(&spec("2001:db8:a00::/48", [48, 50, 60, 64]));
    assert_eq!(
        e,
        "spec.lengths.county: /50 is not on a nibble boundary (a multiple of 4)"
    );
    let e = refusal(&spec("2001:db8:a00::/48", [48, 52, 60, 68]));
    assert_eq!(e, "spec.lengths.segment: /68 is outside /16–/64");
    let e = refusal(&spec("2001:db8:a00::/48", [44, 52, 60, 64]));
    assert!(
        e.starts_with("spec.lengths.city: /44 is shorter than spec.prefix (/48)"),
        "{e}"
    );
}

#[test]
fn reserved_prefixes_must_lie_inside_the_pool() {
    let mut outside = ankang_spec();
    outside.reserved[1] = SpecPrefix::from("2001:db8:b00::/56");
    let e = refusal(&outside);
    assert_eq!(
        e,
        "spec.reserved[1]: 2001:db8:b00::/56 does not lie inside spec.prefix (2001:db8:a00::/48)"
    );
    let mut malformed = ankang_spec();
    malformed.reserved[0] = SpecPrefix::from("2001:db8:a00:ff00::1/56");
    assert!(refusal(&malformed).starts_with("spec.reserved[0]: "));
}

#[test]
fn a_hold_that_is_not_a_duration_is_refused() {
    let mut bad = ankang_spec();
    bad.release_hold = Duration::from("7d");
    let e = refusal(&bad);
    assert!(e.starts_with("spec.releaseHold: "), "{e}");
    let mut zero = ankang_spec();
    zero.release_hold = Duration::from("0s");
    assert!(ValidPool::from_spec(&zero).is_ok());
}

#[test]
fn overlapping_pools_are_refused_naming_the_other() {
    let others = [
        ("shaanxi-west", p("2001:db8:b00::/40")),
        ("hanzhong", p("2001:db8:900::/48")),
    ];
    let named = || others.iter().map(|(n, prefix)| (*n, *prefix));
    assert_eq!(check_overlaps(p("2001:db8:a00::/48"), named()), Ok(()));
    let e = check_overlaps(p("2001:db8:b10::/48"), named()).expect_err("inside another pool");
    assert_eq!(e.category(), "PoolsOverlap");
    assert_eq!(
        e.to_string(),
        "spec.prefix: 2001:db8:b10::/48 overlaps 2001:db8:b00::/40 of AddressPool shaanxi-west"
    );
    // A pool containing another overlaps it too.
    assert!(matches!(
        check_overlaps(p("2001:db8::/32"), named()),
        Err(PoolError::Overlaps { .. })
    ));
}
