//! `govcloud-agent inventory` against the real kernel: each test builds its own network namespace
//! (veths, a bridge with two ports, a macvlan, a bond and a VLAN where the kernel has them,
//! addresses of both families, routes in several tables), runs the agent binary in it with
//! `ip netns exec`, and compares every field with what `ip -j` reports for the same namespace.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use support::Namespace;

const AGENT: &str = env!("CARGO_BIN_EXE_govcloud-agent");

/// Runs `govcloud-agent inventory ARGS` in `namespace` and parses its JSON.
fn inventory(namespace: &Namespace, args: &[&str]) -> Value {
    let mut all = vec!["inventory"];
    all.extend_from_slice(args);
    let output = namespace.exec(AGENT, &all);
    assert!(
        output.status.success(),
        "inventory failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("inventory prints JSON")
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// The agent's links by index.
fn agent_links(inventory: &Value) -> BTreeMap<u64, Value> {
    let links = inventory["links"].as_array().expect("links");
    links
        .iter()
        .map(|link| (link["index"].as_u64().expect("index"), link.clone()))
        .collect()
}

/// Builds the topology of the main test: the router namespace `ns` and a `peer` to send to.
fn build(ns: &Namespace, peer: &Namespace) {
    ns.ip(&[
        "link",
        "add",
        "up0",
        "type",
        "veth",
        "peer",
        "name",
        "up0p",
        "netns",
        peer.name(),
    ]);
    ns.ip(&["link", "set", "up0", "mtu", "9000", "up"]);
    peer.ip(&["link", "set", "up0p", "mtu", "9000", "up"]);
    for (name, peer_name) in [("m0", "m0p"), ("m1", "m1p"), ("dn0", "dn0p")] {
        ns.ip(&[
            "link", "add", name, "type", "veth", "peer", "name", peer_name,
        ]);
    }
    ns.ip(&["link", "add", "br0", "type", "bridge"]);
    for port in ["m0", "m1"] {
        ns.ip(&["link", "set", port, "master", "br0"]);
        ns.ip(&["link", "set", port, "up"]);
    }
    for name in ["m0p", "br0", "dn0"] {
        ns.ip(&["link", "set", name, "up"]);
    }
    ns.ip(&[
        "link", "add", "link", "up0", "name", "mv0", "type", "macvlan", "mode", "bridge",
    ]);
    ns.ip(&["link", "set", "mv0", "mtu", "1400", "up"]);
    for (device, address) in [
        ("up0", "192.0.2.1/24"),
        ("up0", "2001:db8:1::1/64"),
        ("br0", "198.51.100.1/24"),
        ("br0", "2001:db8:2::1/64"),
    ] {
        ns.ip(&["address", "add", address, "dev", device, "nodad"]);
    }
    peer.ip(&["address", "add", "192.0.2.2/24", "dev", "up0p"]);
    peer.ip(&["address", "add", "2001:db8:1::2/64", "dev", "up0p", "nodad"]);
    for route in [
        "route add default via 192.0.2.2",
        "route add 203.0.113.0/24 via 192.0.2.2 proto static",
        "route add default via 198.51.100.254 table 100",
        "route add 203.0.113.0/25 dev br0 table 100",
        "route add 192.0.2.128/25 dev up0 table 1000 proto bird",
        "-6 route add default via 2001:db8:1::2",
        "-6 route add 2001:db8:99::/48 via 2001:db8:1::2 proto static",
        "-6 route add 2001:db8:100::/48 dev up0 table 1000 proto 77",
    ] {
        ns.ip(&route.split(' ').collect::<Vec<_>>());
    }
}

/// Sends UDP datagrams from `ns` to the peer (bash's /dev/udp: no ping on the machine needed).
fn send_traffic(ns: &Namespace) {
    let script = "for i in $(seq 1 30); do echo govcloud > /dev/udp/192.0.2.2/9; sleep 0.01; done";
    let output = ns.exec("bash", &["-c", script]);
    assert!(
        output.status.success(),
        "traffic: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn inventory_matches_ip_in_a_fresh_namespace() {
    if !support::can_make_namespaces("inventory_matches_ip_in_a_fresh_namespace") {
        return;
    }
    let ns = Namespace::create("govcloud-t");
    let peer = Namespace::create("govcloud-t");
    build(&ns, &peer);
    send_traffic(&ns);

    let before = ns.ip_json(&["-s", "link", "show"]);
    let inventory = inventory(&ns, &[]);
    let after = ns.ip_json(&["-s", "link", "show"]);

    compare_links(&ns, &inventory);
    compare_counters(&inventory, &before, &after);
    compare_addresses(&ns, &inventory);
    compare_routes(&ns, &inventory);
    compare_speeds(&ns, &inventory);

    let links = agent_links(&inventory);
    let by_name = |name: &str| {
        links
            .values()
            .find(|link| link["name"] == name)
            .expect(name)
            .clone()
    };
    assert_eq!(by_name("m0")["master"], "br0");
    assert_eq!(by_name("dn0")["operState"], "lowerlayerdown");
    assert_eq!(by_name("dn0p")["operState"], "down");
    assert_eq!(by_name("mv0")["kind"], "macvlan");
    assert_eq!(by_name("up0")["mtu"], 9000);
    assert_eq!(by_name("up0")["speedMbps"], 10000);
    assert!(by_name("up0")["counters"]["txPackets"].as_u64() >= Some(30));
    assert_eq!(
        inventory["hostname"].as_str().map(str::is_empty),
        Some(false)
    );
}

/// Names, states, MTUs, masters, kinds and MACs equal `ip -j -d link show`.
fn compare_links(ns: &Namespace, inventory: &Value) {
    let ip = ns.ip_json(&["-d", "link", "show"]);
    let ip = ip.as_array().expect("ip link list");
    let agent = agent_links(inventory);
    let indexes: BTreeSet<u64> = ip
        .iter()
        .map(|link| link["ifindex"].as_u64().expect("ifindex"))
        .collect();
    assert_eq!(indexes, agent.keys().copied().collect(), "same interfaces");
    for link in ip {
        let ours = &agent[&link["ifindex"].as_u64().expect("ifindex")];
        let name = link["ifname"].as_str().expect("ifname");
        assert_eq!(ours["name"], name);
        let state = link["operstate"]
            .as_str()
            .expect("operstate")
            .to_lowercase();
        assert_eq!(ours["operState"], state.as_str(), "{name}: state");
        assert_eq!(ours["mtu"], link["mtu"], "{name}: mtu");
        assert_eq!(
            text(&ours["master"]),
            text(&link["master"]),
            "{name}: master"
        );
        assert_eq!(
            text(&ours["kind"]),
            text(&link["linkinfo"]["info_kind"]),
            "{name}: kind"
        );
        assert_eq!(text(&ours["mac"]), text(&link["address"]), "{name}: mac");
        let flags: Vec<&str> = link["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if flags.contains(&"UP") {
            assert_eq!(
                ours["carrier"],
                flags.contains(&"LOWER_UP"),
                "{name}: carrier"
            );
        }
    }
}

/// Every counter of the agent lies between two `ip -s link` snapshots taken around it.
fn compare_counters(inventory: &Value, before: &Value, after: &Value) {
    let agent = agent_links(inventory);
    let snapshot = |value: &Value| -> BTreeMap<u64, Value> {
        let links = value.as_array().expect("ip -s link list");
        links
            .iter()
            .map(|link| {
                (
                    link["ifindex"].as_u64().expect("ifindex"),
                    link["stats64"].clone(),
                )
            })
            .collect()
    };
    let (before, after) = (snapshot(before), snapshot(after));
    for (index, ours) in &agent {
        for (field, direction, key) in [
            ("rxBytes", "rx", "bytes"),
            ("rxPackets", "rx", "packets"),
            ("rxErrors", "rx", "errors"),
            ("rxDropped", "rx", "dropped"),
            ("txBytes", "tx", "bytes"),
            ("txPackets", "tx", "packets"),
            ("txErrors", "tx", "errors"),
            ("txDropped", "tx", "dropped"),
        ] {
            let value = ours["counters"][field].as_u64().expect("counter");
            let low = before[index][direction][key].as_u64().expect("ip counter");
            let high = after[index][direction][key].as_u64().expect("ip counter");
            assert!(
                (low..=high).contains(&value),
                "{}: {field} {value} not within [{low}, {high}]",
                ours["name"]
            );
        }
    }
}

/// The addresses of each link equal `ip -j addr show`'s.
fn compare_addresses(ns: &Namespace, inventory: &Value) {
    let ip = ns.ip_json(&["address", "show"]);
    let agent = agent_links(inventory);
    for link in ip.as_array().expect("ip addr list") {
        let index = link["ifindex"].as_u64().expect("ifindex");
        let expected: BTreeSet<String> = link["addr_info"]
            .as_array()
            .expect("addr_info")
            .iter()
            .map(|address| {
                format!(
                    "{}/{}",
                    address["local"].as_str().expect("local"),
                    address["prefixlen"]
                )
            })
            .collect();
        let ours = agent[&index]["addresses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let ours: BTreeSet<String> = ours.iter().filter_map(text).collect();
        assert_eq!(ours, expected, "addresses of {}", link["ifname"]);
    }
}

/// (count, has a default, by protocol) per (family, table), from `ip -j [-6] route show table all`.
type RouteCounts = BTreeMap<(String, u64), (u64, bool, BTreeMap<String, u64>)>;

fn ip_routes(ns: &Namespace) -> RouteCounts {
    let mut counts = RouteCounts::new();
    for (family, flag) in [("inet", "-4"), ("inet6", "-6")] {
        let routes = ns.ip_json(&[flag, "route", "show", "table", "all"]);
        for route in routes.as_array().expect("route list") {
            let table = match route["table"].as_str() {
                None | Some("main") => 254,
                Some("local") => 255,
                Some("default") => 253,
                Some(number) => number.parse().expect("table number"),
            };
            // `ip` leaves out `proto boot` unless asked for details.
            let protocol = text(&route["protocol"]).unwrap_or_else(|| "boot".to_owned());
            let entry = counts.entry((family.to_owned(), table)).or_default();
            entry.0 += 1;
            entry.1 |= route["dst"] == "default";
            *entry.2.entry(protocol).or_default() += 1;
        }
    }
    counts
}

/// Per-table counts, defaults and protocols equal `ip`'s.
fn compare_routes(ns: &Namespace, inventory: &Value) {
    let mut ours = RouteCounts::new();
    for summary in inventory["routes"].as_array().expect("routes") {
        let key = (
            text(&summary["family"]).expect("family"),
            summary["table"].as_u64().expect("table"),
        );
        let protocols: BTreeMap<String, u64> = summary["byProtocol"]
            .as_object()
            .expect("byProtocol")
            .iter()
            .map(|(name, count)| (name.clone(), count.as_u64().expect("count")))
            .collect();
        let value = (
            summary["routes"].as_u64().expect("routes"),
            summary["hasDefault"] == true,
            protocols,
        );
        ours.insert(key, value);
    }
    assert_eq!(ours, ip_routes(ns));
    for table in [100, 1000] {
        assert!(
            ours.contains_key(&("inet".to_owned(), table)),
            "table {table} reported"
        );
    }
    assert_eq!(ours[&("inet6".to_owned(), 1000)].2.get("77"), Some(&1));
}

/// Speeds equal what the namespace's own sysfs says (`ip netns exec` remounts /sys). Sysfs
/// has no speed for an interface that is administratively down, ethtool has: a down veth must
/// still report its 10000.
fn compare_speeds(ns: &Namespace, inventory: &Value) {
    let ip = ns.ip_json(&["link", "show"]);
    let up: BTreeSet<String> = ip
        .as_array()
        .expect("ip link list")
        .iter()
        .filter(|link| {
            link["flags"]
                .as_array()
                .is_some_and(|flags| flags.contains(&Value::from("UP")))
        })
        .filter_map(|link| text(&link["ifname"]))
        .collect();
    for link in agent_links(inventory).values() {
        let name = link["name"].as_str().expect("name");
        if !up.contains(name) {
            if link["kind"] == "veth" {
                assert_eq!(link["speedMbps"], 10000, "{name}: speed while down");
            }
            continue;
        }
        let output = ns.exec("cat", &[&format!("/sys/class/net/{name}/speed")]);
        let sysfs = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse::<i64>()
            .ok();
        let expected = sysfs.filter(|&speed| speed > 0 && speed != i64::from(u32::MAX));
        assert_eq!(link["speedMbps"].as_i64(), expected, "{name}: speed");
    }
}

#[test]
fn bond_and_vlan_match_ip_where_the_kernel_has_them() {
    let test = "bond_and_vlan_match_ip_where_the_kernel_has_them";
    if !support::can_make_namespaces(test) {
        return;
    }
    let ns = Namespace::create("govcloud-t");
    ns.ip(&["link", "add", "s0", "type", "veth", "peer", "name", "s0p"]);
    ns.ip(&["link", "add", "s1", "type", "veth", "peer", "name", "s1p"]);
    // Kernels built without bonding or 802.1Q (such as this project's build machines) answer
    // "Unknown device type": that is a property of the kernel, not a missing package, so the
    // test reports it and checks what it can.
    match ns.try_ip(&[
        "link",
        "add",
        "bond0",
        "type",
        "bond",
        "mode",
        "active-backup",
    ]) {
        Ok(_) => {
            for slave in ["s0", "s1"] {
                ns.ip(&["link", "set", slave, "master", "bond0"]);
            }
            ns.ip(&["link", "set", "bond0", "up"]);
        }
        Err(error) => eprintln!("{test}: no bond: the kernel refused it ({error})"),
    }
    if let Err(error) = ns.try_ip(&[
        "link", "add", "link", "s0p", "name", "s0p.10", "type", "vlan", "id", "10",
    ]) {
        eprintln!("{test}: no VLAN: the kernel refused it ({error})");
    }
    let inventory = inventory(&ns, &["--no-routes"]);
    compare_links(&ns, &inventory);
    compare_addresses(&ns, &inventory);
}

#[test]
fn inventory_of_named_interfaces_and_of_a_missing_one() {
    if !support::can_make_namespaces("inventory_of_named_interfaces_and_of_a_missing_one") {
        return;
    }
    let ns = Namespace::create("govcloud-t");
    ns.ip(&["link", "add", "w0", "type", "veth", "peer", "name", "w1"]);
    let only = inventory(&ns, &["--interface", "w1", "--no-routes"]);
    let names: Vec<_> = only["links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|link| link["name"].clone())
        .collect();
    assert_eq!(names, vec!["w1"]);
    assert_eq!(only["routes"], serde_json::json!([]));

    let missing = ns.exec(AGENT, &["inventory", "--interface", "nope0"]);
    assert_eq!(missing.status.code(), Some(1));
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(message.contains("no interface named nope0"), "{message}");

    let usage = ns.exec(AGENT, &["inventory", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn observation_from_a_thread_that_entered_the_namespace_has_its_speeds() {
    let test = "observation_from_a_thread_that_entered_the_namespace_has_its_speeds";
    if !support::can_make_namespaces(test) {
        return;
    }
    let ns = Namespace::create("govcloud-t");
    ns.ip(&["link", "add", "sp0", "type", "veth", "peer", "name", "sp1"]);
    let path = std::path::PathBuf::from(format!("/run/netns/{}", ns.name()));
    // setns(2) without remounting /sys: sysfs would still show the test's own namespace, where
    // sp0 does not exist. ethtool over generic netlink answers for the namespace entered.
    let options = govcloud_agent::observe::ObserveOptions::default();
    let observation =
        govcloud_agent::netns::run_in(Some(&path), || govcloud_agent::observe::observe(&options))
            .expect("enter the namespace")
            .expect("observe");
    let speeds: BTreeMap<&str, Option<u32>> = observation
        .links
        .iter()
        .map(|link| (link.name.as_str(), link.speed_mbps))
        .collect();
    assert_eq!(
        speeds,
        BTreeMap::from([("lo", None), ("sp0", Some(10_000)), ("sp1", Some(10_000))])
    );
}
