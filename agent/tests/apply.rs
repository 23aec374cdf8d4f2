//! `govcloud-agent apply` against the real kernel: each test builds its own network namespace (a
//! management interface with its address and default route, two veth links towards a
//! neighbour, a LAN), runs the agent binary with `--netns`, and checks the kernel with `ip -j`:
//! addresses and a multipath route of the agent's protocol appear, a re-apply does nothing, a
//! failing batch is rolled back, what the agent did not make is left alone, a classified segment
//! and anything on the management interface is refused, `--dry-run` changes nothing, a document
//! that does not parse is refused before the kernel is touched; VLAN and VRF devices where the
//! kernel has the drivers, and an actionable refusal where it has not.

use crate::support;

use std::path::PathBuf;
use std::process::Output;

use serde_json::{Value, json};
use support::Namespace;

const AGENT: &str = env!("CARGO_BIN_EXE_govcloud-agent");

/// A router namespace: `eth0` (management: address and default route, protected), `eth1` and
/// `eth2` (veths to a neighbour namespace holding the next hops), `lan0` (a veth).
struct Router {
    ns: Namespace,
    _neighbour: Namespace,
    state: tempfile::TempDir,
}

impl Router {
    fn new() -> Self {
        let ns = Namespace::create("govcloud-apply");
        let neighbour = Namespace::create("govcloud-apply");
        for (name, peer) in [("eth0", "eth0p"), ("eth1", "eth1p"), ("eth2", "eth2p")] {
            ns.ip(&[
                "link",
                "add",
                name,
                "type",
                "veth",
                "peer",
                "name",
                peer,
                "netns",
                neighbour.name(),
            ]);
            ns.ip(&["link", "set", name, "up"]);
            neighbour.ip(&["link", "set", peer, "up"]);
        }
        ns.ip(&[
            "link", "add", "lan0", "type", "veth", "peer", "name", "lan0p",
        ]);
        ns.ip(&["link", "set", "lan0", "up"]);
        ns.ip(&["link", "set", "lan0p", "up"]);
        ns.ip(&[
            "-6",
            "address",
            "add",
            "2001:db8:ff::5/64",
            "dev",
            "eth0",
            "nodad",
        ]);
        ns.ip(&[
            "-6",
            "route",
            "add",
            "default",
            "via",
            "2001:db8:ff::1",
            "dev",
            "eth0",
        ]);
        Self {
            ns,
            _neighbour: neighbour,
            state: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Runs `govcloud-agent apply --file F --state-dir D --netns NS EXTRA…` with `document`.
    fn apply(&self, document: &str, extra: &[&str]) -> Output {
        let file = self.state.path().join("desired.json");
        std::fs::write(&file, document).expect("write the desired configuration");
        std::process::Command::new(AGENT)
            .args(["apply", "--file"])
            .arg(&file)
            .arg("--state-dir")
            .arg(self.state_dir())
            .args(["--netns", self.ns.name()])
            .args(extra)
            .output()
            .expect("run the agent")
    }

    fn state_dir(&self) -> PathBuf {
        self.state.path().join("state")
    }

    /// Global IPv6 addresses per interface, sorted (`addr/len@dev`).
    fn addresses(&self) -> Vec<String> {
        let links = self
            .ns
            .ip_json(&["-6", "address", "show", "scope", "global"]);
        let mut all = Vec::new();
        for link in links.as_array().expect("links") {
            // `ip -j` prints an empty object for each address the filter left out.
            for info in link["addr_info"].as_array().into_iter().flatten() {
                if let Some(local) = info["local"].as_str() {
                    let name = link["ifname"].as_str().expect("name");
                    all.push(format!("{local}/{}@{name}", info["prefixlen"]));
                }
            }
        }
        all.sort();
        all
    }

    /// Routes of the main table as (destination, protocol, next hops `gateway@dev` sorted).
    fn routes(&self) -> Vec<(String, String, Vec<String>)> {
        let routes = self.ns.ip_json(&["-6", "route", "show", "table", "main"]);
        let mut all: Vec<_> = routes
            .as_array()
            .expect("routes")
            .iter()
            .filter(|route| route["dst"] != "fe80::/64")
            .map(|route| {
                let hops: Vec<Value> = match route["nexthops"].as_array() {
                    Some(hops) => hops.clone(),
                    None => vec![route.clone()],
                };
                let mut hops: Vec<String> = hops
                    .iter()
                    .map(|hop| {
                        format!(
                            "{}@{}",
                            hop["gateway"].as_str().unwrap_or("-"),
                            hop["dev"].as_str().unwrap_or("-")
                        )
                    })
                    .collect();
                hops.sort();
                let protocol = route["protocol"].as_str().unwrap_or("boot").to_owned();
                (
                    route["dst"].as_str().expect("dst").to_owned(),
                    protocol,
                    hops,
                )
            })
            .collect();
        all.sort();
        all
    }

    fn agent_routes(&self) -> Vec<(String, Vec<String>)> {
        self.routes()
            .into_iter()
            .filter(|(_, protocol, _)| protocol == "241")
            .map(|(destination, _, hops)| (destination, hops))
            .collect()
    }

    fn links(&self) -> Vec<String> {
        let links = self.ns.ip_json(&["link", "show"]);
        links
            .as_array()
            .expect("links")
            .iter()
            .map(|link| link["ifname"].as_str().expect("name").to_owned())
            .collect()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The `ip` commands an apply printed (comment lines left out).
fn commands(output: &Output) -> Vec<String> {
    stdout(output)
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn document(addresses: &Value, routes: &Value, segments: &Value) -> String {
    json!({
        "router": "lab-county",
        "generation": 3,
        "protectedInterfaces": ["eth0"],
        "addresses": addresses,
        "routes": routes,
        "segments": segments,
    })
    .to_string()
}

fn base_addresses() -> Value {
    json!([
        {"interface": "eth1", "address": "2001:db8:1::1/64"},
        {"interface": "eth2", "address": "2001:db8:2::1/64"},
        {"interface": "lan0", "address": "2001:db8:a00:10::1/64"},
    ])
}

fn base_routes() -> Value {
    json!([
        {"destination": "2001:db8:a00:100::/56", "nextHops": [
            {"via": "2001:db8:1::2", "interface": "eth1"},
            {"via": "2001:db8:2::2", "interface": "eth2"},
        ]},
        {"destination": "2001:db8:a00:200::/56", "nextHops": [{"via": "2001:db8:2::2", "interface": "eth2"}]},
    ])
}

fn base() -> String {
    document(&base_addresses(), &base_routes(), &json!([]))
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "apply failed:\n{}{}",
        stdout(output),
        stderr(output)
    );
}

fn expected_agent_routes() -> Vec<(String, Vec<String>)> {
    vec![
        (
            "2001:db8:a00:100::/56".to_owned(),
            vec![
                "2001:db8:1::2@eth1".to_owned(),
                "2001:db8:2::2@eth2".to_owned(),
            ],
        ),
        (
            "2001:db8:a00:200::/56".to_owned(),
            vec!["2001:db8:2::2@eth2".to_owned()],
        ),
    ]
}

#[test]
fn apply_then_reapply_does_nothing() {
    if !support::can_make_namespaces("apply_then_reapply_does_nothing") {
        return;
    }
    let router = Router::new();
    let output = router.apply(&base(), &[]);
    assert_success(&output);
    assert_eq!(
        commands(&output),
        [
            "ip -6 address add 2001:db8:1::1/64 dev eth1",
            "ip -6 address add 2001:db8:2::1/64 dev eth2",
            "ip -6 address add 2001:db8:a00:10::1/64 dev lan0",
            "ip -6 route add 2001:db8:a00:100::/56 proto 241 nexthop via 2001:db8:1::2 dev eth1 nexthop via 2001:db8:2::2 dev eth2",
            "ip -6 route add 2001:db8:a00:200::/56 proto 241 via 2001:db8:2::2 dev eth2",
        ]
    );
    assert_eq!(
        router.addresses(),
        [
            "2001:db8:1::1/64@eth1",
            "2001:db8:2::1/64@eth2",
            "2001:db8:a00:10::1/64@lan0",
            "2001:db8:ff::5/64@eth0"
        ]
    );
    assert_eq!(router.agent_routes(), expected_agent_routes());
    let record =
        std::fs::read_to_string(router.state_dir().join("applied.json")).expect("the record");
    assert!(record.contains("2001:db8:a00:10::1"), "{record}");

    for extra in [&[][..], &["--dry-run"][..]] {
        let again = router.apply(&base(), extra);
        assert_success(&again);
        assert!(
            commands(&again).is_empty(),
            "a second apply {extra:?} has nothing to do: {}",
            stdout(&again)
        );
        assert!(
            stdout(&again).contains("nothing to do"),
            "{}",
            stdout(&again)
        );
    }
    assert_eq!(router.agent_routes(), expected_agent_routes());
}

#[test]
fn a_failing_batch_is_rolled_back_and_names_the_route() {
    if !support::can_make_namespaces("a_failing_batch_is_rolled_back_and_names_the_route") {
        return;
    }
    let router = Router::new();
    let before = (router.addresses(), router.routes());
    // The base batch: add the address (done), then a route via a next hop on no connected
    // network (refused): the address is removed again.
    let failing = document(
        &json!([{"interface": "lan0", "address": "2001:db8:a00:10::1/64"}]),
        &json!([{"destination": "2001:db8:a00:300::/56", "nextHops": [{"via": "2001:db8:99::2", "interface": "eth1"}]}]),
        &json!([]),
    );
    let output = router.apply(&failing, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let message = stderr(&output);
    assert!(
        message.contains("batch base: failed to add route 2001:db8:a00:300::/56"),
        "{message}"
    );
    assert!(
        message.contains("next hop 2001:db8:99::2 is not on a connected network of dev eth1"),
        "{message}"
    );
    assert!(
        message.contains(
            "rolled back 1 operation(s): `ip -6 address del 2001:db8:a00:10::1/64 dev lan0`"
        ),
        "{message}"
    );
    assert!(
        stdout(&output).contains("# drift: route 2001:db8:a00:300::/56 missing"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        (router.addresses(), router.routes()),
        before,
        "the kernel is as it was"
    );

    // The library's entry point, as the run loop calls it: the same outcome, structured.
    let desired = govcloud_agent::apply::desired::parse(&failing, &[]).expect("valid");
    let path = PathBuf::from(format!("/run/netns/{}", router.ns.name()));
    let state_dir = router.state_dir();
    let outcome = govcloud_agent::netns::run_in(Some(&path), || {
        let mut netlink = govcloud_agent::netlink::Netlink::route().expect("netlink");
        govcloud_agent::apply::converge(&mut netlink, &desired, &state_dir)
    })
    .expect("enter the namespace");
    assert!(!outcome.complete());
    assert_eq!(outcome.generation, 3);
    assert_eq!(outcome.errors.len(), 1, "{:?}", outcome.errors);
    assert_eq!(outcome.batches.len(), 1);
    assert!(outcome.batches[0].done.is_empty());
    assert_eq!(outcome.applied_batches().count(), 0);
    assert_eq!(
        outcome.drift,
        [
            "address 2001:db8:a00:10::1/64 on lan0 missing",
            "route 2001:db8:a00:300::/56 missing"
        ]
    );
    assert_eq!((router.addresses(), router.routes()), before);
}

#[test]
fn what_the_agent_did_not_make_is_left_alone_and_what_is_no_longer_desired_removed() {
    if !support::can_make_namespaces(
        "what_the_agent_did_not_make_is_left_alone_and_what_is_no_longer_desired_removed",
    ) {
        return;
    }
    let router = Router::new();
    // Someone else's address, routes (one of another protocol, one to a destination the agent
    // will also want — refused with EEXIST, never replaced).
    router.ns.ip(&[
        "-6",
        "address",
        "add",
        "2001:db8:99::1/64",
        "dev",
        "eth1",
        "nodad",
    ]);
    router.ns.ip(&[
        "-6",
        "route",
        "add",
        "2001:db8:77::/48",
        "via",
        "2001:db8:99::9",
        "dev",
        "eth1",
        "proto",
        "static",
    ]);
    router
        .ns
        .ip(&["-6", "route", "add", "2001:db8:78::/48", "dev", "lan0"]);
    assert_success(&router.apply(&base(), &[]));
    let unmanaged = [
        (
            "2001:db8:77::/48".to_owned(),
            "static".to_owned(),
            vec!["2001:db8:99::9@eth1".to_owned()],
        ),
        (
            "2001:db8:78::/48".to_owned(),
            "boot".to_owned(),
            vec!["-@lan0".to_owned()],
        ),
        (
            "default".to_owned(),
            "boot".to_owned(),
            vec!["2001:db8:ff::1@eth0".to_owned()],
        ),
    ];
    let present = router.routes();
    for route in &unmanaged {
        assert!(present.contains(route), "{route:?} in {present:?}");
    }

    // The second route and the LAN address leave the desired configuration.
    let smaller = document(
        &json!([
            {"interface": "eth1", "address": "2001:db8:1::1/64"},
            {"interface": "eth2", "address": "2001:db8:2::1/64"},
        ]),
        &json!([base_routes()[0].clone()]),
        &json!([]),
    );
    let output = router.apply(&smaller, &[]);
    assert_success(&output);
    assert_eq!(
        commands(&output),
        [
            "ip -6 route del 2001:db8:a00:200::/56 proto 241",
            "ip -6 address del 2001:db8:a00:10::1/64 dev lan0",
        ]
    );
    assert_eq!(router.agent_routes(), expected_agent_routes()[..1]);

    // Nothing desired at all: only what the agent made goes.
    let output = router.apply(&document(&json!([]), &json!([]), &json!([])), &[]);
    assert_success(&output);
    assert!(router.agent_routes().is_empty());
    assert_eq!(
        router.addresses(),
        ["2001:db8:99::1/64@eth1", "2001:db8:ff::5/64@eth0"]
    );
    let present = router.routes();
    for route in &unmanaged {
        assert!(present.contains(route), "{route:?} in {present:?}");
    }

    // A desired route to a destination someone else's route holds: refused, never replaced.
    let clash = document(
        &json!([]),
        &json!([{"destination": "2001:db8:78::/48", "nextHops": [{"via": "2001:db8:99::2", "interface": "eth1"}]}]),
        &json!([]),
    );
    let output = router.apply(&clash, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("a route to 2001:db8:78::/48 exists that the agent did not make"),
        "{}",
        stderr(&output)
    );
    assert!(router.routes().contains(&unmanaged[1]));
}

#[test]
fn the_management_interface_and_a_classified_segment_are_refused() {
    if !support::can_make_namespaces(
        "the_management_interface_and_a_classified_segment_are_refused",
    ) {
        return;
    }
    let router = Router::new();
    let before_management: Vec<_> = router
        .routes()
        .into_iter()
        .filter(|(destination, _, _)| destination == "default")
        .collect();
    let refused = document(
        &json!([
            {"interface": "lan0", "address": "2001:db8:a00:10::1/64"},
            {"interface": "eth0", "address": "2001:db8:ff::6/64"},
        ]),
        &json!([{"destination": "::/0", "nextHops": [{"via": "2001:db8:ff::2", "interface": "eth0"}]}]),
        &json!([
            {"network": "gongan", "classified": true, "vlan": {"name": "vlan130", "parent": "lan0", "id": 130},
             "vrf": {"name": "vrf1010", "table": 1010}, "address": "2001:db8:a00:30::1/64"},
            {"network": "guanli", "vlan": {"name": "vlan131", "parent": "eth0", "id": 131},
             "vrf": {"name": "vrf1011", "table": 1011}, "address": "2001:db8:a00:31::1/64"},
        ]),
    );
    for extra in [&["--dry-run"][..], &[][..]] {
        let output = router.apply(&refused, extra);
        let message = stderr(&output);
        assert!(
            message.contains(
                "refused addresses[1] (2001:db8:ff::6/64 on eth0): eth0 is a protected interface"
            ),
            "{message}"
        );
        assert!(message.contains("refused routes[0] (::/0): next hop 2001:db8:ff::2 is via the protected interface eth0"), "{message}");
        assert!(
            message.contains("refused segments[0] (network gongan): it is classified"),
            "{message}"
        );
        assert!(message.contains("refused segments[1] (network guanli): its VLAN's parent eth0 is a protected interface"), "{message}");
        for command in commands(&output) {
            assert!(
                !command.contains("eth0")
                    && !command.contains("vlan13")
                    && !command.contains("vrf101"),
                "{command}"
            );
        }
    }
    let output = router.apply(&refused, &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "refusals make the apply incomplete"
    );
    assert_eq!(
        router.addresses(),
        ["2001:db8:a00:10::1/64@lan0", "2001:db8:ff::5/64@eth0"],
        "the rest applied"
    );
    assert!(
        router
            .links()
            .iter()
            .all(|name| !name.starts_with("vlan") && !name.starts_with("vrf"))
    );
    let after_management: Vec<_> = router
        .routes()
        .into_iter()
        .filter(|(destination, _, _)| destination == "default")
        .collect();
    assert_eq!(after_management, before_management);

    // `--protect` adds the agent's own protected interfaces to the document's.
    let output = router.apply(&refused, &["--protect", "lan0"]);
    assert!(
        stderr(&output).contains(
            "refused addresses[0] (2001:db8:a00:10::1/64 on lan0): lan0 is a protected interface"
        ),
        "{}",
        stderr(&output)
    );
    assert!(
        commands(&output).is_empty(),
        "nothing else to do: {}",
        stdout(&output)
    );
}

#[test]
fn dry_run_prints_ip_commands_and_changes_nothing() {
    if !support::can_make_namespaces("dry_run_prints_ip_commands_and_changes_nothing") {
        return;
    }
    let router = Router::new();
    let before = (router.addresses(), router.routes(), router.links());
    let output = router.apply(&base(), &["--dry-run"]);
    assert_success(&output);
    let text = stdout(&output);
    assert!(text.starts_with("# batch base\n"), "{text}");
    assert!(text.contains("ip -6 route add 2001:db8:a00:100::/56 proto 241 nexthop via 2001:db8:1::2 dev eth1 nexthop via 2001:db8:2::2 dev eth2\n"), "{text}");
    assert_eq!(commands(&output).len(), 5, "{text}");
    assert_eq!(
        (router.addresses(), router.routes(), router.links()),
        before
    );
    assert!(
        !router.state_dir().join("applied.json").exists(),
        "a dry run writes no record"
    );
    // The printed commands are ones `ip` accepts, and do what the agent would.
    for command in commands(&output) {
        let words: Vec<&str> = command.split(' ').skip(1).collect();
        router.ns.ip(&words);
    }
    assert_eq!(router.agent_routes(), expected_agent_routes());
}

#[test]
fn a_file_that_does_not_parse_is_refused_naming_the_line_without_touching_the_kernel() {
    if !support::can_make_namespaces(
        "a_file_that_does_not_parse_is_refused_naming_the_line_without_touching_the_kernel",
    ) {
        return;
    }
    let router = Router::new();
    let before = (router.addresses(), router.routes(), router.links());
    let broken = "{\n  \"router\": \"lab-county\",\n  \"generation\": 3,\n  \"addresses\": [\n    {\"interface\": \"lan0\", \"address\": 17}\n  ]\n}\n";
    let invalid = base().replace("2001:db8:a00:100::/56", "2001:db8:a00:101::/56");
    for (text, expected) in [
        (
            broken,
            "failed to parse the desired configuration at `addresses[0].address` (line 5",
        ),
        (
            "{\"router\": \"r\", \"generation\": ",
            "failed to parse the desired configuration at `generation` (line 1",
        ),
        (
            &invalid,
            "routes[0].destination: 2001:db8:a00:101::/56 has host bits set",
        ),
    ] {
        for extra in [&[][..], &["--dry-run"][..]] {
            let output = router.apply(text, extra);
            assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
            let message = stderr(&output);
            assert!(message.contains(expected), "{message}");
            assert!(message.contains("the kernel was not touched"), "{message}");
            assert!(stdout(&output).is_empty());
        }
    }
    assert_eq!(
        (router.addresses(), router.routes(), router.links()),
        before
    );
    assert!(!router.state_dir().exists());
}

/// Whether this kernel can make a device of `kind` (probed in a scratch namespace).
fn kernel_has(kind: &str) -> bool {
    let scratch = Namespace::create("govcloud-probe");
    scratch.ip(&[
        "link", "add", "probe0", "type", "veth", "peer", "name", "probe1",
    ]);
    let args: Vec<&str> = match kind {
        "vrf" => vec!["link", "add", "vrfprobe", "type", "vrf", "table", "4000"],
        _ => vec![
            "link", "add", "link", "probe0", "name", "probe0.9", "type", "vlan", "id", "9",
        ],
    };
    scratch.try_ip(&args).is_ok()
}

#[test]
fn segments_become_vlans_in_vrfs_where_the_kernel_has_them() {
    let test = "segments_become_vlans_in_vrfs_where_the_kernel_has_them";
    if !support::can_make_namespaces(test) {
        return;
    }
    let router = Router::new();
    let segments = json!([
        {"network": "yibao", "vlan": {"name": "vlan120", "parent": "lan0", "id": 120},
         "vrf": {"name": "vrf1000", "table": 1000}, "address": "2001:db8:a00:11::1/64"},
    ]);
    let with_segment = document(&base_addresses(), &base_routes(), &segments);
    let (vrf, vlan) = (kernel_has("vrf"), kernel_has("vlan"));
    let output = router.apply(&with_segment, &[]);
    if vrf && vlan {
        assert_success(&output);
        let details = router.ns.ip_json(&["-d", "link", "show", "vlan120"]);
        let link = &details[0];
        assert_eq!(link["master"], "vrf1000");
        assert_eq!(link["linkinfo"]["info_kind"], "vlan");
        assert_eq!(link["linkinfo"]["info_data"]["id"], 120);
        assert!(
            link["flags"]
                .as_array()
                .expect("flags")
                .contains(&json!("UP"))
        );
        let vrf = router.ns.ip_json(&["-d", "link", "show", "vrf1000"]);
        assert_eq!(vrf[0]["linkinfo"]["info_data"]["table"], 1000);
        assert!(
            router
                .addresses()
                .contains(&"2001:db8:a00:11::1/64@vlan120".to_owned())
        );
        let again = router.apply(&with_segment, &[]);
        assert!(commands(&again).is_empty(), "{}", stdout(&again));
        // Removed from the desired configuration: both devices go.
        assert_success(&router.apply(&base(), &[]));
        assert!(
            router
                .links()
                .iter()
                .all(|name| name != "vlan120" && name != "vrf1000")
        );
        return;
    }
    // This kernel lacks a driver: the segment's batch fails with what to do about it and is
    // rolled back, while the base batch is applied.
    eprintln!("{test}: vrf driver {vrf}, vlan driver {vlan}: checking the refusal");
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let message = stderr(&output);
    if vrf {
        assert!(message.contains("failed to create VLAN vlan120 (ID 120 on lan0) (`ip link add link lan0 name vlan120 type vlan id 120`)"), "{message}");
        assert!(
            message.contains("the kernel has no 802.1Q VLAN support (CONFIG_VLAN_8021Q)"),
            "{message}"
        );
        assert!(message.contains("rolled back 2 operation(s)"), "{message}");
    } else {
        assert!(message.contains("batch segment yibao: failed to create VRF vrf1000 (table 1000) (`ip link add vrf1000 type vrf table 1000`)"), "{message}");
        assert!(message.contains("Operation not supported"), "{message}");
        assert!(
            message.contains("the kernel has no VRF support (CONFIG_NET_VRF)"),
            "{message}"
        );
    }
    let printed = stdout(&output);
    assert!(printed.contains("# batch base: applied\n"), "{printed}");
    assert!(
        printed.contains("# batch segment yibao: failed, rolled back\n"),
        "{printed}"
    );
    assert!(
        printed.contains("# drift: VRF device vrf1000 (table 1000) missing") || vrf,
        "{printed}"
    );
    assert_eq!(
        router.agent_routes(),
        expected_agent_routes(),
        "the base batch is applied"
    );
    assert!(
        router
            .addresses()
            .contains(&"2001:db8:a00:10::1/64@lan0".to_owned())
    );
    assert!(
        router
            .links()
            .iter()
            .all(|name| name != "vlan120" && name != "vrf1000"),
        "nothing left of the segment"
    );
    let record =
        std::fs::read_to_string(router.state_dir().join("applied.json")).expect("the record");
    assert!(
        !record.contains("vrf1000") && !record.contains("vlan120"),
        "{record}"
    );
    // The base is not redone on the next attempt; only the segment is tried again.
    let again = router.apply(&with_segment, &["--dry-run"]);
    let printed = stdout(&again);
    assert!(!printed.contains("# batch base"), "{printed}");
    assert!(printed.contains("# batch segment yibao"), "{printed}");
}
