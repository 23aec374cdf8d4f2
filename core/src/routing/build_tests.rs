//! The builder on the small city of [`super::testing`]: routes over both members, protected
//! management interfaces, classified networks never emitted, missing allocations left out,
//! byte-identical output whatever the input order.

use std::net::Ipv6Addr;

use govcloud_crds::api::{NextHopConfig, RouteConfig};
use govcloud_crds::network::dedicated_network::Disposition;
use serde_json::json;

use super::build::{BuildError, build};
use super::testing::{CITY, COUNTY, TOWNSHIP, city, network, p};

fn ip(text: &str) -> Ipv6Addr {
    text.parse().expect("address")
}

fn hop(via: &str, interface: &str) -> NextHopConfig {
    NextHopConfig {
        via: ip(via),
        interface: interface.to_owned(),
    }
}

#[test]
fn the_county_routers_configuration_is_exactly_this() {
    let desired = build(COUNTY, &city()).expect("config");
    assert_eq!(desired.prefix, Some(p("2001:db8:a00:100::/56")));
    let json = serde_json::to_value(&desired.config).expect("json");
    assert_eq!(
        json,
        json!({
            "router": "hanyin-core",
            "generation": 0,
            "protectedInterfaces": ["eth9"],
            "addresses": [
                {"interface": "down0", "address": "2001:db8:a00:111::1/64"},
                {"interface": "down1", "address": "2001:db8:a00:112::1/64"},
                {"interface": "lan0", "address": "2001:db8:a00:100::1/64"},
                {"interface": "up0", "address": "2001:db8:a00:101::2/64"},
                {"interface": "up1", "address": "2001:db8:a00:102::2/64"},
            ],
            "routes": [
                {"destination": "2001:db8:a00:110::/60", "nextHops": [
                    {"via": "2001:db8:a00:111::2", "interface": "down0"},
                    {"via": "2001:db8:a00:112::2", "interface": "down1"},
                ]},
                {"destination": "2001:db8:a00::/48", "nextHops": [
                    {"via": "2001:db8:a00:101::1", "interface": "up0"},
                    {"via": "2001:db8:a00:102::1", "interface": "up1"},
                ]},
            ],
            "segments": [{
                "network": "yibao",
                "classified": false,
                "vlan": {"name": "vlan120", "parent": "lan0", "id": 120},
                "vrf": {"name": "vrf1000", "table": 1000},
                "address": "2001:db8:a00:103::1/64",
            }],
            "probes": [{
                "name": "city-lan",
                "target": "2001:db8:a00:1::1",
                "source": "2001:db8:a00:100::1",
            }],
        })
    );
}

#[test]
fn every_route_goes_over_both_members() {
    let city_config = build(CITY, &city()).expect("config").config;
    assert_eq!(
        city_config.routes,
        [RouteConfig {
            destination: "2001:db8:a00:100::/56".to_owned(),
            next_hops: vec![
                hop("2001:db8:a00:101::2", "down0"),
                hop("2001:db8:a00:102::2", "down1"),
            ],
        }]
    );
    for router in [CITY, COUNTY, TOWNSHIP] {
        for route in build(router, &city()).expect("config").config.routes {
            assert_eq!(route.next_hops.len(), 2, "{router}: {route:?}");
        }
    }
    let township = build(TOWNSHIP, &city()).expect("config").config;
    assert_eq!(township.routes[0].destination, "2001:db8:a00::/48");
    assert!(city_config.probes.is_empty(), "the city probes nobody");
    assert_eq!(township.probes[0].target, ip("2001:db8:a00:1::1"));
    assert_eq!(township.probes[0].source, Some(ip("2001:db8:a00:110::1")));
}

#[test]
fn management_interfaces_are_protected_and_never_configured() {
    let mut inputs = city();
    let config = build(CITY, &inputs).expect("config").config;
    assert_eq!(config.protected_interfaces, ["mgmt0"]);
    // A management interface named as a link member: its address and next hop are left out.
    inputs.routers[0].spec.management_interface = Some("down1".to_owned());
    let desired = build(CITY, &inputs).expect("config");
    assert_eq!(desired.config.protected_interfaces, ["down1", "mgmt0"]);
    assert!(
        desired
            .config
            .addresses
            .iter()
            .all(|a| a.interface != "down1")
    );
    assert_eq!(
        desired.config.routes[0].next_hops,
        [hop("2001:db8:a00:101::2", "down0")]
    );
    assert_eq!(
        desired.skipped,
        ["address 2001:db8:a00:102::1/64 left out: interface down1 is protected (management)"]
    );
}

#[test]
fn a_classified_network_is_never_emitted_and_is_reported() {
    let desired = build(COUNTY, &city()).expect("config");
    assert!(desired.config.segments.iter().all(|s| s.network != "jiwei"));
    assert!(desired.config.segments.iter().all(|s| !s.classified));
    assert_eq!(
        desired.skipped,
        [
            "dedicated network jiwei left out: it is classified and never configured on an extranet router"
        ]
    );
    // Even with a disposition claiming the extranet: the classification decides.
    let mut inputs = city();
    inputs.networks = vec![network(
        "jiwei",
        "Classified",
        Disposition::MigrateToExtranet,
        (COUNTY, 130, 1001),
    )];
    let desired = build(COUNTY, &inputs).expect("config");
    assert!(desired.config.segments.is_empty());
    assert_eq!(desired.skipped.len(), 1);
}

#[test]
fn a_missing_member_allocation_leaves_that_member_out() {
    let mut inputs = city();
    inputs.allocations.retain(|a| a.owner.name != "cc-hanyin/1");
    let county = build(COUNTY, &inputs).expect("config").config;
    assert!(county.addresses.iter().all(|a| a.interface != "up1"));
    let upstream = county
        .routes
        .iter()
        .find(|r| r.destination == "2001:db8:a00::/48")
        .expect("route upstream");
    assert_eq!(upstream.next_hops, [hop("2001:db8:a00:101::1", "up0")]);
    let city_config = build(CITY, &inputs).expect("config").config;
    assert_eq!(
        city_config.routes[0].next_hops,
        [hop("2001:db8:a00:101::2", "down0")]
    );
    // Neither member: no route at all, yet the rest stands.
    inputs.allocations.retain(|a| a.owner.name != "cc-hanyin/0");
    let city_config = build(CITY, &inputs).expect("config").config;
    assert!(city_config.routes.is_empty());
    assert_eq!(
        city_config.addresses.len(),
        1,
        "{:?}",
        city_config.addresses
    );
}

#[test]
fn without_prefixes_or_pools_the_configuration_shrinks_instead_of_failing() {
    let mut inputs = city();
    inputs.allocations.retain(|a| a.owner.name != COUNTY);
    let city_config = build(CITY, &inputs).expect("config").config;
    assert!(city_config.routes.is_empty(), "no prefix to route to yet");
    assert_eq!(city_config.addresses.len(), 3, "addresses stay");
    inputs.pools.clear();
    let county = build(COUNTY, &inputs).expect("config");
    assert_eq!(county.prefix, None);
    assert!(county.config.addresses.is_empty() && county.config.routes.is_empty());
    assert_eq!(county.config.protected_interfaces, ["eth9"]);
    assert_eq!(
        build("nowhere", &inputs),
        Err(BuildError::UnknownRouter("nowhere".to_owned()))
    );
}

#[test]
fn bad_vlan_ids_reserved_tables_and_clashes_are_refused() {
    let mut inputs = city();
    inputs.networks = vec![
        network(
            "a-net",
            "Unclassified",
            Disposition::MigrateToExtranet,
            (COUNTY, 120, 1000),
        ),
        network(
            "b-net",
            "Unclassified",
            Disposition::MigrateToExtranet,
            (COUNTY, 120, 1001),
        ),
        network(
            "c-net",
            "Unclassified",
            Disposition::MigrateToExtranet,
            (COUNTY, 4095, 1002),
        ),
        network(
            "d-net",
            "Unclassified",
            Disposition::MigrateToExtranet,
            (COUNTY, 121, 254),
        ),
        network(
            "e-net",
            "Unclassified",
            Disposition::Retire,
            (COUNTY, 122, 1003),
        ),
    ];
    for name in ["a-net", "b-net", "c-net", "d-net", "e-net"] {
        inputs.allocations.push(super::testing::allocation(
            "NetworkSite",
            &format!("{name}/{COUNTY}"),
            "2001:db8:a00:105::/64",
        ));
    }
    let desired = build(COUNTY, &inputs).expect("config");
    let networks: Vec<&str> = desired
        .config
        .segments
        .iter()
        .map(|s| s.network.as_str())
        .collect();
    assert_eq!(networks, ["a-net"]);
    assert_eq!(
        desired.skipped,
        [
            "dedicated network b-net left out: VLAN ID 120 is taken by a-net",
            "dedicated network c-net left out: VLAN ID 4095 is outside 1–4094",
            "dedicated network d-net left out: routing table 254 is reserved",
        ]
    );
}

#[test]
fn the_same_inputs_in_any_order_give_the_same_bytes() {
    let forward = city();
    let mut backward = city();
    backward.routers.reverse();
    backward.links.reverse();
    backward.networks.reverse();
    backward.allocations.reverse();
    for router in [CITY, COUNTY, TOWNSHIP] {
        let a = serde_json::to_string(&build(router, &forward).expect("config").config);
        let b = serde_json::to_string(&build(router, &backward).expect("config").config);
        assert_eq!(a.expect("json"), b.expect("json"), "{router}");
    }
}
