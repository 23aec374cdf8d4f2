//! Deletes of what is already gone, against the real kernel: the agent plans from one
//! observation, addresses and routes are removed by hand (`ip`), then the plan runs. A delete
//! whose address or route is gone counts as done, the rest of its batch applies (nothing is
//! rolled back) and the kernel ends as desired. Each case builds its own network namespace
//! (veth links `eth1` and `eth2`, each with a connected network for the next hops, and `lan0`)
//! and deletes it afterwards.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;
use std::path::PathBuf;

use govcloud_agent::apply::desired::{self, InterfaceAddress, MAIN_TABLE};
use govcloud_agent::apply::execute::{self, BatchReport, Executor};
use govcloud_agent::apply::{self, ConvergeOutcome, DesiredState, Plan, observed, state_file};
use govcloud_agent::netlink::request::{self, AddressChange, RouteChange, RouteSpec};
use govcloud_agent::netlink::{Netlink, NetlinkError, Operation};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use support::Namespace;

/// The interfaces the agent's addresses go on.
const LINKS: [&str; 3] = ["eth1", "eth2", "lan0"];

/// The next hops of the agent's routes, on the namespace's connected networks.
const HOPS: [(&str, &str); 3] = [
    ("2001:db8:1::2", "eth1"),
    ("2001:db8:1::3", "eth1"),
    ("2001:db8:2::2", "eth2"),
];

/// The addresses the namespace is made with (not the agent's: never in a plan).
const CONNECTED: [(&str, &str); 2] = [("2001:db8:1::1/64", "eth1"), ("2001:db8:2::1/64", "eth2")];

/// A desired configuration over small universes: address `N` is `2001:db8:a00:N::1/64` on
/// `LINKS[i]`, route `N` goes to `2001:db8:b00:N::/64` over the next hops `HOPS[j]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Wanted {
    addresses: BTreeMap<u8, usize>,
    routes: BTreeMap<u8, BTreeSet<usize>>,
}

fn address_text(number: u8) -> String {
    format!("2001:db8:a00:{number:x}::1/64")
}

fn destination(number: u8) -> String {
    format!("2001:db8:b00:{number:x}::/64")
}

impl Wanted {
    fn document(&self) -> String {
        let addresses: Vec<Value> = self
            .addresses
            .iter()
            .map(|(number, link)| json!({"interface": LINKS[*link], "address": address_text(*number)}))
            .collect();
        let routes: Vec<Value> = self
            .routes
            .iter()
            .map(|(number, hops)| {
                let hops: Vec<Value> = hops
                    .iter()
                    .map(|hop| json!({"via": HOPS[*hop].0, "interface": HOPS[*hop].1}))
                    .collect();
                json!({"destination": destination(*number), "nextHops": hops})
            })
            .collect();
        json!({
            "router": "lab-county",
            "generation": 1,
            "addresses": addresses,
            "routes": routes,
            "segments": [],
        })
        .to_string()
    }

    fn desired(&self) -> DesiredState {
        desired::parse(&self.document(), &[]).expect("a valid document")
    }

    /// The addresses as the kernel shows them (`ADDRESS/LENGTH@dev`).
    fn addresses(&self) -> BTreeSet<String> {
        self.addresses
            .iter()
            .map(|(number, link)| format!("{}@{}", address_text(*number), LINKS[*link]))
            .collect()
    }

    /// The addresses as the agent records them.
    fn recorded(&self) -> BTreeSet<InterfaceAddress> {
        self.addresses
            .iter()
            .map(|(number, link)| InterfaceAddress {
                interface: LINKS[*link].to_owned(),
                address: Ipv6Addr::new(0x2001, 0xdb8, 0xa00, u16::from(*number), 0, 0, 0, 1),
                prefix_length: 64,
            })
            .collect()
    }

    /// The routes as the kernel shows them: destination → next hops `via@dev`.
    fn routes(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.routes
            .iter()
            .map(|(number, hops)| {
                let hops = hops
                    .iter()
                    .map(|hop| format!("{}@{}", HOPS[*hop].0, HOPS[*hop].1))
                    .collect();
                (destination(*number), hops)
            })
            .collect()
    }

    /// What is left of `self` once the numbers in `addresses` and `routes` are left out.
    fn without(&self, addresses: &BTreeSet<u8>, routes: &BTreeSet<u8>) -> Self {
        Self {
            addresses: self
                .addresses
                .iter()
                .filter(|(number, _)| !addresses.contains(number))
                .map(|(number, link)| (*number, *link))
                .collect(),
            routes: self
                .routes
                .iter()
                .filter(|(number, _)| !routes.contains(number))
                .map(|(number, hops)| (*number, hops.clone()))
                .collect(),
        }
    }
}

/// A router namespace and the agent's state directory.
struct Router {
    ns: Namespace,
    state: tempfile::TempDir,
}

impl Router {
    fn new() -> Self {
        let ns = Namespace::create("govcloud-gone");
        for (name, peer) in [("eth1", "eth1p"), ("eth2", "eth2p"), ("lan0", "lan0p")] {
            ns.ip(&["link", "add", name, "type", "veth", "peer", "name", peer]);
            ns.ip(&["link", "set", name, "up"]);
            ns.ip(&["link", "set", peer, "up"]);
        }
        for (address, name) in CONNECTED {
            ns.ip(&["-6", "address", "add", address, "dev", name, "nodad"]);
        }
        Self {
            ns,
            state: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn state_dir(&self) -> PathBuf {
        self.state.path().join("state")
    }

    /// Runs `work` with an rtnetlink socket opened in the namespace.
    fn netlink<T: Send>(&self, work: impl FnOnce(&mut Netlink) -> T + Send) -> T {
        let path = PathBuf::from(format!("/run/netns/{}", self.ns.name()));
        govcloud_agent::netns::run_in(Some(&path), || {
            let mut netlink = Netlink::route().expect("an rtnetlink socket in the namespace");
            work(&mut netlink)
        })
        .expect("enter the namespace")
    }

    /// The run loop's convergence.
    fn converge(&self, desired: &DesiredState) -> ConvergeOutcome {
        let state_dir = self.state_dir();
        self.netlink(|netlink| apply::converge(netlink, desired, &state_dir))
    }

    /// The plan from the kernel as it is now.
    fn plan(&self, desired: &DesiredState) -> Plan {
        let state_dir = self.state_dir();
        self.netlink(|netlink| apply::plan(netlink, desired, &state_dir))
            .expect("a plan")
    }

    /// Runs `plan` as it is (not planned again), writing the record after each batch as the
    /// convergence does.
    fn run(&self, plan: &Plan) -> Vec<BatchReport> {
        let state_dir = self.state_dir();
        self.netlink(|netlink| {
            let links = observed::observe(netlink).expect("observe the links");
            let mut record = plan.record.clone();
            let mut executor = Executor::new(netlink, &links);
            execute::run(&mut executor, plan, &mut record, |record| {
                state_file::save(&state_dir, record).map_err(|error| error.to_string())
            })
        })
    }

    /// The global IPv6 addresses but the connected networks' (`ADDRESS/LENGTH@dev`).
    fn addresses(&self) -> BTreeSet<String> {
        let links = self
            .ns
            .ip_json(&["-6", "address", "show", "scope", "global"]);
        let mut all = BTreeSet::new();
        for link in links.as_array().expect("links") {
            let name = link["ifname"].as_str().expect("a name");
            // `ip -j` prints an empty object for each address the filter left out.
            for info in link["addr_info"].as_array().into_iter().flatten() {
                if let Some(local) = info["local"].as_str() {
                    let address = format!("{local}/{}", info["prefixlen"]);
                    if !CONNECTED.contains(&(address.as_str(), name)) {
                        all.insert(format!("{address}@{name}"));
                    }
                }
            }
        }
        all
    }

    /// The main table's routes of the agent's protocol: destination → next hops `via@dev`.
    fn agent_routes(&self) -> BTreeMap<String, BTreeSet<String>> {
        let routes = self
            .ns
            .ip_json(&["-6", "route", "show", "table", "main", "proto", "241"]);
        routes
            .as_array()
            .expect("routes")
            .iter()
            .map(|route| {
                let hops = match route["nexthops"].as_array() {
                    Some(hops) => hops.clone(),
                    None => vec![route.clone()],
                };
                let hops = hops
                    .iter()
                    .map(|hop| {
                        format!(
                            "{}@{}",
                            hop["gateway"].as_str().unwrap_or("-"),
                            hop["dev"].as_str().unwrap_or("-")
                        )
                    })
                    .collect();
                (route["dst"].as_str().expect("dst").to_owned(), hops)
            })
            .collect()
    }

    /// Removes by hand the addresses and routes of `wanted` numbered in `addresses` and
    /// `routes` (numbers `wanted` does not hold are skipped).
    fn remove_by_hand(&self, wanted: &Wanted, addresses: &BTreeSet<u8>, routes: &BTreeSet<u8>) {
        for number in addresses {
            if let Some(link) = wanted.addresses.get(number) {
                let address = address_text(*number);
                self.ns
                    .ip(&["-6", "address", "del", &address, "dev", LINKS[*link]]);
            }
        }
        for number in routes {
            if wanted.routes.contains_key(number) {
                let destination = destination(*number);
                self.ns
                    .ip(&["-6", "route", "del", &destination, "proto", "241"]);
            }
        }
    }

    /// Converges to `wanted` and checks the kernel holds exactly it.
    fn converge_to(&self, wanted: &Wanted) -> ConvergeOutcome {
        let outcome = self.converge(&wanted.desired());
        assert!(outcome.complete(), "{:?}", outcome.errors);
        assert!(outcome.drift.is_empty(), "{:?}", outcome.drift);
        assert_eq!(self.addresses(), wanted.addresses());
        assert_eq!(self.agent_routes(), wanted.routes());
        outcome
    }
}

fn already_gone(reports: &[BatchReport]) -> BTreeSet<String> {
    reports
        .iter()
        .flat_map(|report| report.already_gone.iter().cloned())
        .collect()
}

#[test]
fn the_kernel_answers_a_delete_of_what_is_not_there_with_eaddrnotavail_or_esrch() {
    let test = "the_kernel_answers_a_delete_of_what_is_not_there_with_eaddrnotavail_or_esrch";
    if !support::can_make_namespaces(test) {
        return;
    }
    let router = Router::new();
    // Someone else's route to the destination the agent deletes (another protocol).
    router.ns.ip(&[
        "-6",
        "route",
        "add",
        "2001:db8:b00:9::/64",
        "via",
        "2001:db8:1::2",
        "dev",
        "eth1",
        "proto",
        "static",
    ]);
    let errnos = router.netlink(|netlink| {
        let links = observed::observe(netlink).expect("observe the links");
        let index = |name: &str| links.links.get(name).map(|link| link.index).expect("link");
        let mut errno = |request: &request::Request| {
            let answer = netlink.exchange(Operation("delete"), request, |_, _| Ok(()));
            match answer {
                Err(NetlinkError::Kernel { errno, .. }) => errno,
                other => panic!("the kernel should refuse the delete: {other:?}"),
            }
        };
        let missing: Ipv6Addr = "2001:db8:a00:9::1".parse().expect("literal");
        let held_elsewhere: Ipv6Addr = "2001:db8:1::1".parse().expect("literal");
        let route = |table, destination: &str| {
            let destination: Ipv6Addr = destination.parse().expect("literal");
            request::route(
                RouteChange::Delete,
                &RouteSpec {
                    table,
                    destination,
                    prefix_length: 64,
                    protocol: apply::GOVCLOUD_ROUTE_PROTOCOL,
                    next_hops: &[],
                },
            )
        };
        [
            errno(&request::address(
                AddressChange::Delete,
                index("lan0"),
                missing,
                64,
            )),
            // Held by eth1, asked of lan0.
            errno(&request::address(
                AddressChange::Delete,
                index("lan0"),
                held_elsewhere,
                64,
            )),
            // Held by eth1 with another prefix length.
            errno(&request::address(
                AddressChange::Delete,
                index("eth1"),
                held_elsewhere,
                60,
            )),
            errno(&route(MAIN_TABLE, "2001:db8:b00:8::")),
            // A table that does not exist.
            errno(&route(100, "2001:db8:b00:8::")),
            // Only another protocol's route to the destination.
            errno(&route(MAIN_TABLE, "2001:db8:b00:9::")),
        ]
    });
    assert_eq!(
        errnos,
        [
            libc::EADDRNOTAVAIL,
            libc::EADDRNOTAVAIL,
            libc::EADDRNOTAVAIL,
            libc::ESRCH,
            libc::ESRCH,
            libc::ESRCH
        ]
    );
    let other = router
        .ns
        .ip_json(&["-6", "route", "show", "2001:db8:b00:9::/64"]);
    assert_eq!(other[0]["protocol"], "static", "{other}");
}

#[test]
fn a_delete_of_what_is_already_gone_is_done_and_the_rest_of_the_batch_applied() {
    let test = "a_delete_of_what_is_already_gone_is_done_and_the_rest_of_the_batch_applied";
    if !support::can_make_namespaces(test) {
        return;
    }
    let router = Router::new();
    let before = Wanted {
        addresses: BTreeMap::from([(1, 2), (2, 0)]),
        routes: BTreeMap::from([(1, BTreeSet::from([0])), (2, BTreeSet::from([0, 2]))]),
    };
    router.converge_to(&before);
    // Address 1 and route 1 go, route 2 changes next hops, address 3 and route 3 come.
    let after = Wanted {
        addresses: BTreeMap::from([(2, 0), (3, 2)]),
        routes: BTreeMap::from([(2, BTreeSet::from([1])), (3, BTreeSet::from([2]))]),
    };
    let plan = router.plan(&after.desired());
    let planned: Vec<String> = plan
        .operations()
        .map(apply::Operation::ip_command)
        .collect();
    assert_eq!(
        planned,
        [
            "ip -6 route del 2001:db8:b00:1::/64 proto 241",
            "ip -6 address del 2001:db8:a00:1::1/64 dev lan0",
            "ip -6 address add 2001:db8:a00:3::1/64 dev lan0",
            "ip -6 route replace 2001:db8:b00:2::/64 proto 241 via 2001:db8:1::3 dev eth1",
            "ip -6 route add 2001:db8:b00:3::/64 proto 241 via 2001:db8:2::2 dev eth2",
        ]
    );

    // Between the plan and its run, the address and both routes it deletes or replaces go.
    router.remove_by_hand(&before, &BTreeSet::from([1]), &BTreeSet::from([1, 2]));
    let reports = router.run(&plan);
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = &reports[0];
    assert_eq!(report.error, None);
    assert_eq!(report.done, planned[2..]);
    assert_eq!(report.already_gone, planned[..2]);
    assert_eq!(router.addresses(), after.addresses());
    assert_eq!(router.agent_routes(), after.routes());
    let record = state_file::load(&router.state_dir()).expect("the record");
    assert_eq!(record.addresses, after.recorded());

    // The next convergence has nothing to do.
    let again = router.converge_to(&after);
    assert!(again.batches.is_empty(), "{:?}", again.batches);
}

fn arb_wanted() -> impl Strategy<Value = Wanted> {
    (
        proptest::collection::btree_map(1..=8_u8, 0..LINKS.len(), 0..=8),
        proptest::collection::btree_map(
            1..=8_u8,
            proptest::collection::btree_set(0..HOPS.len(), 1..=HOPS.len()),
            0..=8,
        ),
    )
        .prop_map(|(addresses, routes)| Wanted { addresses, routes })
}

fn arb_numbers() -> impl Strategy<Value = BTreeSet<u8>> {
    proptest::collection::btree_set(1..=8_u8, 0..=8)
}

/// One case: converge to `before`, plan `after`, remove by hand what `before` numbers in
/// `gone_addresses` and `gone_routes`, run the plan, then converge to `after` again.
fn stale_plan_case(
    before: &Wanted,
    after: &Wanted,
    gone_addresses: &BTreeSet<u8>,
    gone_routes: &BTreeSet<u8>,
) -> Result<(), TestCaseError> {
    let router = Router::new();
    router.converge_to(before);
    let plan = router.plan(&after.desired());
    router.remove_by_hand(before, gone_addresses, gone_routes);
    let reports = router.run(&plan);
    for report in &reports {
        prop_assert_eq!(&report.error, &None, "{:?}", reports);
    }

    // The deletes that found their address or route gone: those of the plan (what `after`
    // no longer holds as `before` had it) whose target was removed by hand.
    let mut expected_gone = BTreeSet::new();
    for number in gone_addresses {
        if let Some(link) = before.addresses.get(number)
            && after.addresses.get(number) != Some(link)
        {
            let address = address_text(*number);
            expected_gone.insert(format!("ip -6 address del {address} dev {}", LINKS[*link]));
        }
    }
    for number in gone_routes {
        if before.routes.contains_key(number) && !after.routes.contains_key(number) {
            expected_gone.insert(format!(
                "ip -6 route del {} proto 241",
                destination(*number)
            ));
        }
    }
    prop_assert_eq!(already_gone(&reports), expected_gone);

    // The kernel is as desired, but for what the plan did not touch (unchanged from `before`)
    // and was removed by hand: the plan was made before that.
    let untouched_addresses: BTreeSet<u8> = gone_addresses
        .iter()
        .filter(|number| {
            let held = before.addresses.get(number);
            held.is_some() && held == after.addresses.get(number)
        })
        .copied()
        .collect();
    let untouched_routes: BTreeSet<u8> = gone_routes
        .iter()
        .filter(|number| {
            let held = before.routes.get(number);
            held.is_some() && held == after.routes.get(number)
        })
        .copied()
        .collect();
    let expected = after.without(&untouched_addresses, &untouched_routes);
    prop_assert_eq!(router.addresses(), expected.addresses());
    prop_assert_eq!(router.agent_routes(), expected.routes());
    let record = state_file::load(&router.state_dir()).expect("the record");
    prop_assert_eq!(record.addresses, after.recorded());

    // Applying again converges to the desired state exactly, adding back only those.
    let again = router.converge_to(after);
    let added = again.batches.iter().flat_map(|batch| &batch.done).count();
    prop_assert_eq!(added, untouched_addresses.len() + untouched_routes.len());
    Ok(())
}

/// Whatever is removed by hand between the plan and its run, the plan succeeds (its deletes of
/// what is gone are done, nothing is rolled back) and the kernel ends as desired.
#[test]
fn a_plan_run_after_removals_by_hand_succeeds_and_converges() {
    let test = "a_plan_run_after_removals_by_hand_succeeds_and_converges";
    if !support::can_make_namespaces(test) {
        return;
    }
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (arb_wanted(), arb_wanted(), arb_numbers(), arb_numbers());
    let result = runner.run(&strategy, |(before, after, gone_addresses, gone_routes)| {
        stale_plan_case(&before, &after, &gone_addresses, &gone_routes)
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}
