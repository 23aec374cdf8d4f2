//! Properties of the builder over any subset of the small city's allocations, in any order:
//! the output does not depend on the order; every route has one or two next hops, each on
//! one of the router's link member interfaces and none on a protected one; no classified
//! segment is ever emitted; addresses lie in the allocations they come from.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::build::build;
use super::testing::{CITY, COUNTY, TOWNSHIP, city};

fn subset_and_shuffle() -> impl Strategy<Value = (Vec<bool>, Vec<usize>)> {
    let count = city().allocations.len();
    (
        proptest::collection::vec(any::<bool>(), count),
        Just((0..count).collect::<Vec<usize>>()).prop_shuffle(),
    )
}

proptest! {
    #[test]
    fn any_subset_in_any_order_builds_a_sane_configuration((keep, order) in subset_and_shuffle()) {
        let full = city();
        let mut inputs = city();
        inputs.allocations = order
            .iter()
            .filter(|i| keep[**i])
            .map(|i| full.allocations[*i].clone())
            .collect();
        let mut sorted = inputs.clone();
        sorted.allocations.sort_by(|a, b| a.owner.cmp(&b.owner));
        sorted.routers.reverse();
        for router in [CITY, COUNTY, TOWNSHIP] {
            let desired = build(router, &inputs).expect("config");
            let again = build(router, &sorted).expect("config");
            prop_assert_eq!(
                serde_json::to_string(&desired.config).expect("json"),
                serde_json::to_string(&again.config).expect("json")
            );
            let config = desired.config;
            let protected: BTreeSet<&str> =
                config.protected_interfaces.iter().map(String::as_str).collect();
            for route in &config.routes {
                prop_assert!((1..=2).contains(&route.next_hops.len()), "{:?}", route);
                for hop in &route.next_hops {
                    prop_assert!(!protected.contains(hop.interface.as_str()));
                    prop_assert!(hop.interface.starts_with("up") || hop.interface.starts_with("down"));
                }
            }
            for address in &config.addresses {
                prop_assert!(!protected.contains(address.interface.as_str()));
                let inside = inputs.allocations.iter().any(|a| {
                    let (host, len) = address.address.split_once('/').expect("length");
                    let host: std::net::Ipv6Addr = host.parse().expect("address");
                    len == a.prefix.length().to_string()
                        && a.prefix.first() < u128::from(host)
                        && u128::from(host) <= a.prefix.last()
                });
                prop_assert!(inside, "{:?}", address);
            }
            prop_assert!(config.segments.iter().all(|s| !s.classified && s.network != "jiwei"));
        }
    }
}
