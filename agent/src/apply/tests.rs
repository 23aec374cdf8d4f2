//! Tests of the pure diff against a model of the kernel: unit tests of the plans for the cases
//! of the rollout, and properties — converging then observing leaves nothing to do, and `Del*`
//! operations only name what the agent made or its protocol's routes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;
use proptest::prelude::*;

use super::GOVCLOUD_ROUTE_PROTOCOL;
use super::desired::{
    DesiredState, InterfaceAddress, MAIN_TABLE, NextHop, Route, Segment, Vlan, Vrf, network_of,
};
use super::diff::{self, Observed, ObservedLink, Operation, Plan, plan};
use super::execute::{self, Executed, OperationError, Target};
use super::record::{DeviceKind, Record};

/// A model of the kernel's behaviour that matters to the plan: uniqueness of addresses and
/// routes, devices needing their parent or master, a link taken down or (re-)enslaved to a VRF
/// losing its IPv6 addresses (`keep_addr_on_down` = 0), a deleted link taking its addresses, its
/// routes and its slaves' enslavement with it.
#[derive(Clone, Debug, Default)]
struct Kernel {
    links: BTreeMap<String, ObservedLink>,
    addresses: BTreeSet<InterfaceAddress>,
    /// Routes by (table, destination), with their protocol.
    routes: BTreeMap<(u32, Ipv6Net), (Route, u8)>,
    next_index: u32,
}

fn refuse(operation: &Operation, errno: i32) -> OperationError {
    OperationError {
        description: operation.describe(),
        command: operation.ip_command(),
        reason: format!("errno {errno}"),
        errno: Some(errno),
    }
}

impl Kernel {
    fn with_links(names: &[&str]) -> Self {
        let mut kernel = Self::default();
        for name in names {
            kernel.add_link(name, Some("veth"), true);
        }
        kernel
    }

    fn add_link(&mut self, name: &str, kind: Option<&str>, up: bool) -> u32 {
        self.next_index += 1;
        self.links.insert(
            name.to_owned(),
            ObservedLink {
                index: self.next_index,
                kind: kind.map(str::to_owned),
                master: None,
                up,
            },
        );
        self.next_index
    }

    fn observe(&self) -> Observed {
        Observed {
            links: self.links.clone(),
            addresses: self.addresses.clone(),
            routes: self
                .routes
                .values()
                .filter(|(_, protocol)| *protocol == GOVCLOUD_ROUTE_PROTOCOL)
                .map(|(route, _)| route.clone())
                .collect(),
        }
    }

    fn flush_addresses(&mut self, link: &str) {
        self.addresses.retain(|address| address.interface != link);
    }

    fn delete_link(&mut self, name: &str) {
        self.links.remove(name);
        self.flush_addresses(name);
        self.routes.retain(|_, (route, _)| !route.uses(name));
        let slaves: Vec<String> = self
            .links
            .iter()
            .filter(|(_, link)| link.master.as_deref() == Some(name))
            .map(|(slave, _)| slave.clone())
            .collect();
        for slave in slaves {
            if let Some(link) = self.links.get_mut(&slave) {
                link.master = None;
            }
            self.flush_addresses(&slave);
        }
    }

    /// The kernel refuses a next hop on a missing device, or on one that is down.
    fn route_ok(&self, route: &Route) -> bool {
        route
            .next_hops
            .iter()
            .all(|hop| self.links.get(&hop.interface).is_some_and(|link| link.up))
    }
}

/// The model answers as the executor does over the real kernel: a delete of an address or route
/// that is not there is done without a change ([`Executed::AlreadyGone`]).
impl Target for Kernel {
    fn execute(&mut self, operation: &Operation) -> Result<Executed, OperationError> {
        let fail = |errno| Err(refuse(operation, errno));
        match operation {
            Operation::AddAddress(address) => {
                if !self.links.contains_key(&address.interface) {
                    return fail(libc::ENODEV);
                }
                let taken = self.addresses.iter().any(|held| {
                    held.interface == address.interface && held.address == address.address
                });
                if taken {
                    return fail(libc::EEXIST);
                }
                self.addresses.insert(address.clone());
            }
            Operation::DelAddress(address) => {
                if !self.addresses.remove(address) {
                    return Ok(Executed::AlreadyGone);
                }
            }
            Operation::AddRoute(route) | Operation::ReplaceRoute { route, .. } => {
                let key = (route.table, route.destination);
                if matches!(operation, Operation::AddRoute(_)) && self.routes.contains_key(&key) {
                    return fail(libc::EEXIST);
                }
                if !self.route_ok(route) {
                    return fail(libc::ENODEV);
                }
                self.routes
                    .insert(key, (route.clone(), GOVCLOUD_ROUTE_PROTOCOL));
            }
            Operation::DelRoute(route) => {
                let key = (route.table, route.destination);
                match self.routes.get(&key) {
                    Some((_, protocol)) if *protocol == GOVCLOUD_ROUTE_PROTOCOL => {
                        self.routes.remove(&key);
                    }
                    _ => return Ok(Executed::AlreadyGone),
                }
            }
            Operation::AddVlan(vlan) => {
                if self.links.contains_key(&vlan.name) {
                    return fail(libc::EEXIST);
                }
                if !self.links.contains_key(&vlan.parent) {
                    return fail(libc::ENODEV);
                }
                let created = Some(self.add_link(&vlan.name, Some("vlan"), false));
                return Ok(Executed::Changed { created });
            }
            Operation::AddVrf(vrf) => {
                if self.links.contains_key(&vrf.name) {
                    return fail(libc::EEXIST);
                }
                let created = Some(self.add_link(&vrf.name, Some("vrf"), false));
                return Ok(Executed::Changed { created });
            }
            Operation::SetMaster { link, master, .. } => {
                if master
                    .as_ref()
                    .is_some_and(|master| !self.links.contains_key(master))
                {
                    return fail(libc::ENODEV);
                }
                let Some(slave) = self.links.get_mut(link) else {
                    return fail(libc::ENODEV);
                };
                slave.master.clone_from(master);
                // Enslaving to (or releasing from) a VRF cycles the device.
                self.flush_addresses(link);
            }
            Operation::SetUp(link) | Operation::SetDown(link) => {
                let up = matches!(operation, Operation::SetUp(_));
                let Some(state) = self.links.get_mut(link) else {
                    return fail(libc::ENODEV);
                };
                state.up = up;
                if !up {
                    self.flush_addresses(link);
                }
            }
            Operation::DelLink(device) => {
                if !self.links.contains_key(&device.name) {
                    return fail(libc::ENODEV);
                }
                self.delete_link(&device.name);
            }
        }
        Ok(Executed::Changed { created: None })
    }
}

fn ip(text: &str) -> Ipv6Addr {
    text.parse().expect("literal")
}

fn address(interface: &str, text: &str, length: u8) -> InterfaceAddress {
    InterfaceAddress {
        interface: interface.to_owned(),
        address: ip(text),
        prefix_length: length,
    }
}

fn hop(via: &str, interface: &str) -> NextHop {
    NextHop {
        via: ip(via),
        interface: interface.to_owned(),
    }
}

fn route(destination: &str, hops: Vec<NextHop>) -> Route {
    let (network, length) = destination.split_once('/').expect("prefix");
    let mut next_hops = hops;
    next_hops.sort();
    Route {
        table: MAIN_TABLE,
        destination: network_of(ip(network), length.parse().expect("length")),
        next_hops,
    }
}

fn segment(network: &str, id: u16, table: u32, parent: &str, prefix: &str) -> Segment {
    let vlan = format!("vlan{id}");
    Segment {
        network: network.to_owned(),
        vlan: Vlan {
            name: vlan.clone(),
            parent: parent.to_owned(),
            id,
        },
        vrf: Vrf {
            name: format!("vrf{table}"),
            table,
        },
        address: address(&vlan, prefix, 64),
    }
}

fn desired(
    addresses: Vec<InterfaceAddress>,
    routes: Vec<Route>,
    segments: Vec<Segment>,
) -> DesiredState {
    DesiredState {
        router: "r".to_owned(),
        generation: 1,
        protected_interfaces: BTreeSet::from(["eth0".to_owned()]),
        addresses,
        routes,
        segments,
        ..DesiredState::default()
    }
}

/// Plans and runs on the model; panics when an operation of the plan fails.
fn converge(kernel: &mut Kernel, desired: &DesiredState, record: &mut Record) -> Plan {
    let plan = plan(desired, &kernel.observe(), record);
    *record = plan.record.clone();
    let reports = execute::run(kernel, &plan, record, |_| Ok(()));
    for report in &reports {
        assert_eq!(report.error, None, "plan {plan:#?}");
    }
    plan
}

fn commands(plan: &Plan) -> Vec<String> {
    plan.operations().map(Operation::ip_command).collect()
}

fn example() -> DesiredState {
    desired(
        vec![
            address("eth1", "2001:db8:1::1", 64),
            address("eth2", "2001:db8:2::1", 64),
        ],
        vec![route(
            "2001:db8:a00:100::/56",
            vec![hop("2001:db8:1::2", "eth1"), hop("2001:db8:2::2", "eth2")],
        )],
        vec![segment("yibao", 120, 1000, "lan0", "2001:db8:3::1")],
    )
}

#[test]
fn a_fresh_router_gets_the_base_then_the_segment_rendered_as_ip_commands() {
    let kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
    let plan = plan(&example(), &kernel.observe(), &Record::default());
    let names: Vec<&str> = plan
        .batches
        .iter()
        .map(|batch| batch.name.as_str())
        .collect();
    assert_eq!(names, ["base", "segment yibao"]);
    assert_eq!(
        commands(&plan),
        [
            "ip -6 address add 2001:db8:1::1/64 dev eth1",
            "ip -6 address add 2001:db8:2::1/64 dev eth2",
            "ip -6 route add 2001:db8:a00:100::/56 proto 241 nexthop via 2001:db8:1::2 dev eth1 nexthop via 2001:db8:2::2 dev eth2",
            "ip link add vrf1000 type vrf table 1000",
            "ip link set vrf1000 up",
            "ip link add link lan0 name vlan120 type vlan id 120",
            "ip link set vlan120 master vrf1000",
            "ip link set vlan120 up",
            "ip -6 address add 2001:db8:3::1/64 dev vlan120",
        ]
    );
    assert!(plan.conflicts.is_empty());
}

#[test]
fn a_member_down_leaves_the_route_on_the_other_and_it_comes_back_with_the_member() {
    let mut kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
    let mut record = Record::default();
    converge(&mut kernel, &example(), &mut record);
    let set_up = |kernel: &mut Kernel, name: &str, up: bool| {
        if let Some(link) = kernel.links.get_mut(name) {
            link.up = up;
        }
    };
    set_up(&mut kernel, "eth1", false);
    let down = plan(&example(), &kernel.observe(), &record);
    assert_eq!(
        commands(&down),
        ["ip -6 route replace 2001:db8:a00:100::/56 proto 241 via 2001:db8:2::2 dev eth2"]
    );
    converge(&mut kernel, &example(), &mut record);
    assert!(plan(&example(), &kernel.observe(), &record).is_empty());
    set_up(&mut kernel, "eth1", true);
    let up = plan(&example(), &kernel.observe(), &record);
    assert_eq!(
        commands(&up),
        [
            "ip -6 route replace 2001:db8:a00:100::/56 proto 241 nexthop via 2001:db8:1::2 dev eth1 nexthop via 2001:db8:2::2 dev eth2"
        ]
    );
    // Both members down: nothing the kernel would take; the route is left as it is, and said.
    set_up(&mut kernel, "eth1", false);
    set_up(&mut kernel, "eth2", false);
    let both = plan(&example(), &kernel.observe(), &record);
    assert!(
        both.batches.iter().all(|batch| batch
            .operations
            .iter()
            .all(|operation| !matches!(operation, Operation::DelRoute(_)))),
        "{both:#?}"
    );
    assert!(
        both.conflicts.iter().any(|c| c.contains(
            "2001:db8:a00:100::/56 has no next hop on an interface that exists and is up"
        )),
        "{both:#?}"
    );
}

#[test]
fn converging_twice_does_nothing_the_second_time() {
    let mut kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
    let mut record = Record::default();
    let first = converge(&mut kernel, &example(), &mut record);
    assert_eq!(first.operations().count(), 9);
    assert_eq!(record.devices.len(), 2);
    let second = plan(&example(), &kernel.observe(), &record);
    assert!(second.is_empty(), "{second:#?}");
    assert!(second.drift().is_empty());
}

#[test]
fn a_changed_route_is_replaced_and_a_removed_one_deleted_with_the_agents_protocol() {
    let mut kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
    let mut record = Record::default();
    converge(&mut kernel, &example(), &mut record);
    let mut changed = example();
    changed.routes = vec![route(
        "2001:db8:a00:100::/56",
        vec![hop("2001:db8:1::2", "eth1")],
    )];
    let plan = plan(&changed, &kernel.observe(), &record);
    assert_eq!(
        commands(&plan),
        ["ip -6 route replace 2001:db8:a00:100::/56 proto 241 via 2001:db8:1::2 dev eth1"]
    );
    let Some(Operation::ReplaceRoute { previous, .. }) = plan.operations().next() else {
        panic!("a replace");
    };
    assert_eq!(
        previous.next_hops.len(),
        2,
        "the replaced route is kept for rollback"
    );
    assert_eq!(
        plan.drift(),
        [
            "route 2001:db8:a00:100::/56 has next hops via 2001:db8:1::2 dev eth1, via 2001:db8:2::2 dev eth2, desired via 2001:db8:1::2 dev eth1"
        ]
    );
    changed.routes.clear();
    let plan = diff::plan(&changed, &kernel.observe(), &record);
    assert_eq!(
        commands(&plan),
        ["ip -6 route del 2001:db8:a00:100::/56 proto 241"]
    );
}

#[test]
fn unmanaged_addresses_and_routes_are_never_removed() {
    let mut kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
    kernel
        .addresses
        .insert(address("eth1", "2001:db8:99::1", 64));
    kernel
        .addresses
        .insert(address("eth0", "2001:db8:ff::1", 64));
    let static_route = route("2001:db8:77::/48", vec![hop("2001:db8:1::9", "eth1")]);
    kernel
        .routes
        .insert((MAIN_TABLE, static_route.destination), (static_route, 4));
    let mut record = Record::default();
    converge(&mut kernel, &example(), &mut record);
    let empty = desired(Vec::new(), Vec::new(), Vec::new());
    let plan = converge(&mut kernel, &empty, &mut record);
    for operation in plan.operations() {
        assert!(
            !operation.ip_command().contains("2001:db8:99::1"),
            "{operation:?}"
        );
        assert!(
            !operation.ip_command().contains("2001:db8:77::"),
            "{operation:?}"
        );
    }
    assert_eq!(
        kernel.addresses,
        BTreeSet::from([
            address("eth0", "2001:db8:ff::1", 64),
            address("eth1", "2001:db8:99::1", 64)
        ])
    );
    assert_eq!(kernel.routes.len(), 1);
    assert!(
        kernel
            .links
            .keys()
            .all(|name| !name.starts_with("vlan") && !name.starts_with("vrf"))
    );
    assert!(record.addresses.is_empty() && record.devices.is_empty());
}

#[test]
fn a_device_of_a_desired_name_that_the_agent_did_not_make_is_a_conflict() {
    let mut kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
    kernel.add_link("vlan120", Some("vlan"), true);
    let plan = plan(&example(), &kernel.observe(), &Record::default());
    assert_eq!(plan.batches.len(), 1, "only the base: {plan:#?}");
    assert!(
        plan.conflicts[0].contains("vlan120 exists that the agent did not create"),
        "{:?}",
        plan.conflicts
    );
}

#[test]
fn a_device_made_again_by_someone_else_under_the_same_name_is_not_the_agents() {
    let mut kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
    let mut record = Record::default();
    converge(&mut kernel, &example(), &mut record);
    kernel.delete_link("vlan120");
    kernel.add_link("vlan120", Some("vlan"), true);
    let empty = desired(Vec::new(), Vec::new(), Vec::new());
    let plan = plan(&empty, &kernel.observe(), &record);
    assert!(
        plan.operations()
            .all(|operation| !operation.ip_command().contains("vlan120")),
        "{plan:#?}"
    );
    assert!(commands(&plan).contains(&"ip link del vrf1000".to_owned()));
}

#[test]
fn the_agents_route_via_a_now_protected_interface_is_left_alone() {
    let mut kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
    let mine = route("2001:db8:a00:500::/56", vec![hop("2001:db8:ff::2", "eth0")]);
    kernel.routes.insert(
        (MAIN_TABLE, mine.destination),
        (mine, GOVCLOUD_ROUTE_PROTOCOL),
    );
    let mut record = Record::default();
    record
        .addresses
        .insert(address("eth0", "2001:db8:ff::1", 64));
    kernel
        .addresses
        .insert(address("eth0", "2001:db8:ff::1", 64));
    let plan = plan(
        &desired(Vec::new(), Vec::new(), Vec::new()),
        &kernel.observe(),
        &record,
    );
    assert!(plan.is_empty(), "{plan:#?}");
    assert_eq!(plan.conflicts.len(), 2, "{:?}", plan.conflicts);
    assert!(plan.conflicts.iter().all(|line| line.contains("protected")));
}

#[test]
fn a_vlan_down_or_in_the_wrong_vrf_is_brought_back() {
    let mut kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
    let mut record = Record::default();
    converge(&mut kernel, &example(), &mut record);
    kernel
        .execute(&Operation::SetDown("vlan120".to_owned()))
        .expect("down");
    let plan = converge(&mut kernel, &example(), &mut record);
    assert_eq!(
        commands(&plan),
        [
            "ip link set vlan120 up",
            "ip -6 address add 2001:db8:3::1/64 dev vlan120"
        ]
    );
    // Moved to another VRF: made again (enslaving drops IPv6 addresses).
    let mut moved = example();
    moved.segments[0].vrf = Vrf {
        name: "vrf1001".to_owned(),
        table: 1001,
    };
    let plan = converge(&mut kernel, &moved, &mut record);
    assert_eq!(
        commands(&plan),
        [
            "ip link del vrf1000",
            "ip link del vlan120",
            "ip link add vrf1001 type vrf table 1001",
            "ip link set vrf1001 up",
            "ip link add link lan0 name vlan120 type vlan id 120",
            "ip link set vlan120 master vrf1001",
            "ip link set vlan120 up",
            "ip -6 address add 2001:db8:3::1/64 dev vlan120",
        ]
    );
    assert!(diff::plan(&moved, &kernel.observe(), &record).is_empty());
}

#[test]
fn every_operation_undoes_to_the_state_before() {
    let mut kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
    let mut record = Record::default();
    let plan = plan(&example(), &kernel.observe(), &record);
    let before = kernel.observe();
    // A batch whose last operation fails is rolled back whole.
    let mut batch = plan.batches[0].clone();
    batch.operations.push(Operation::AddRoute(route(
        "2001:db8:a00:300::/56",
        vec![hop("2001:db8:1::2", "nosuch0")],
    )));
    let report = execute::run_batch(&mut kernel, &batch, &mut record);
    let error = report.error.expect("failed");
    assert!(
        error.contains("failed to add route 2001:db8:a00:300::/56"),
        "{error}"
    );
    assert!(error.contains("rolled back 3 operation(s)"), "{error}");
    assert_eq!(kernel.observe(), before);
    assert_eq!(record, Record::default());
}

#[test]
fn a_delete_of_what_is_already_gone_is_done_and_never_undone() {
    let mut kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
    let mut record = Record::default();
    let gone_address = address("lan0", "2001:db8:a00:10::1", 64);
    let gone_route = route("2001:db8:a00:200::/56", vec![hop("2001:db8:2::2", "eth2")]);
    record.addresses.insert(gone_address.clone());
    let new_address = address("lan0", "2001:db8:a00:11::1", 64);
    let deletes = vec![
        Operation::DelRoute(gone_route.clone()),
        Operation::DelAddress(gone_address.clone()),
    ];

    // The rest of the batch is applied.
    let mut operations = deletes.clone();
    operations.push(Operation::AddAddress(new_address.clone()));
    let batch = diff::Batch {
        name: "base".to_owned(),
        operations,
    };
    let report = execute::run_batch(&mut kernel, &batch, &mut record);
    assert_eq!(report.error, None);
    assert_eq!(
        report.done,
        ["ip -6 address add 2001:db8:a00:11::1/64 dev lan0"]
    );
    assert_eq!(
        report.already_gone,
        [
            "ip -6 route del 2001:db8:a00:200::/56 proto 241",
            "ip -6 address del 2001:db8:a00:10::1/64 dev lan0",
        ]
    );
    assert_eq!(kernel.addresses, BTreeSet::from([new_address.clone()]));
    assert_eq!(record.addresses, BTreeSet::from([new_address.clone()]));

    // A batch that fails later undoes what it changed, and does not bring back what was gone.
    let before = kernel.observe();
    record.addresses.insert(gone_address.clone());
    let mut operations = deletes;
    operations.push(Operation::AddAddress(address("eth1", "2001:db8:1::1", 64)));
    operations.push(Operation::AddRoute(route(
        "2001:db8:a00:300::/56",
        vec![hop("2001:db8:1::2", "nosuch0")],
    )));
    let batch = diff::Batch {
        name: "base".to_owned(),
        operations,
    };
    let report = execute::run_batch(&mut kernel, &batch, &mut record);
    let error = report.error.expect("the route via a missing device fails");
    assert!(
        error.contains("rolled back 1 operation(s): `ip -6 address del 2001:db8:1::1/64 dev eth1`"),
        "{error}"
    );
    assert!(report.done.is_empty());
    assert_eq!(report.already_gone.len(), 2);
    assert_eq!(kernel.observe(), before);
    assert_eq!(record.addresses, BTreeSet::from([new_address]));
    assert!(
        !kernel
            .routes
            .contains_key(&(MAIN_TABLE, gone_route.destination))
    );
}

// ---- Properties --------------------------------------------------------------------------

const INTERFACES: [&str; 3] = ["eth1", "eth2", "lan0"];

fn arb_address() -> impl Strategy<Value = InterfaceAddress> {
    (0..3_usize, 1..5_u16, prop_oneof![Just(64_u8), Just(56_u8)]).prop_map(|(at, net, length)| {
        address(INTERFACES[at], &format!("2001:db8:{net}::1"), length)
    })
}

fn arb_route() -> impl Strategy<Value = Route> {
    let hops = [
        hop("2001:db8:1::2", "eth1"),
        hop("2001:db8:2::2", "eth2"),
        hop("2001:db8:1::3", "eth1"),
    ];
    (
        0..4_u16,
        proptest::sample::subsequence(hops.to_vec(), 1..=2),
    )
        .prop_map(|(net, hops)| route(&format!("2001:db8:a00:{}00::/56", net + 1), hops))
}

fn arb_segment() -> impl Strategy<Value = Segment> {
    (
        0..3_u16,
        0..2_u32,
        prop_oneof![Just("lan0"), Just("eth2")],
        0..2_u16,
    )
        .prop_map(|(network, table, parent, net)| {
            segment(
                &format!("net{network}"),
                120 + network,
                1000 + u32::from(network) * 2 + table,
                parent,
                &format!("2001:db8:3{network}{net}::1"),
            )
        })
}

fn arb_desired() -> impl Strategy<Value = DesiredState> {
    (
        proptest::collection::vec(arb_address(), 0..5),
        proptest::collection::vec(arb_route(), 0..4),
        proptest::collection::vec(arb_segment(), 0..3),
    )
        .prop_map(|(addresses, routes, segments)| {
            // What validation guarantees: one address per (interface, address), one route per
            // destination, one segment per network.
            let mut seen = BTreeSet::new();
            let addresses = addresses
                .into_iter()
                .filter(|a| seen.insert((a.interface.clone(), a.address)))
                .collect();
            let mut seen = BTreeSet::new();
            let routes = routes
                .into_iter()
                .filter(|r| seen.insert(r.destination))
                .collect();
            let mut seen = BTreeSet::new();
            let segments = segments
                .into_iter()
                .filter(|s| seen.insert(s.network.clone()))
                .collect();
            desired(addresses, routes, segments)
        })
}

/// What someone else does between two convergences.
#[derive(Clone, Debug)]
enum Meddling {
    ForeignAddress(usize, u16),
    ForeignRoute(u16),
    DeleteLink(usize),
    SetDown(usize),
    DeleteAddress(usize),
}

fn arb_meddling() -> impl Strategy<Value = Meddling> {
    prop_oneof![
        (0..3_usize, 0..4_u16).prop_map(|(at, n)| Meddling::ForeignAddress(at, n)),
        (0..4_u16).prop_map(Meddling::ForeignRoute),
        (0..8_usize).prop_map(Meddling::DeleteLink),
        (0..8_usize).prop_map(Meddling::SetDown),
        (0..8_usize).prop_map(Meddling::DeleteAddress),
    ]
}

fn meddle(kernel: &mut Kernel, meddling: &Meddling) {
    let agent_links: Vec<String> = kernel
        .links
        .iter()
        .filter(|(_, link)| link.kind.as_deref() != Some("veth"))
        .map(|(name, _)| name.clone())
        .collect();
    match meddling {
        Meddling::ForeignAddress(at, n) => {
            kernel
                .addresses
                .insert(address(INTERFACES[*at], &format!("2001:db8:f{n}::1"), 64));
        }
        Meddling::ForeignRoute(n) => {
            let foreign = route(
                &format!("2001:db8:f00:{n}::/64"),
                vec![hop("2001:db8:1::9", "eth1")],
            );
            kernel
                .routes
                .insert((MAIN_TABLE, foreign.destination), (foreign, 4));
        }
        Meddling::DeleteLink(at) => {
            if let Some(name) = agent_links.get(*at) {
                kernel.delete_link(&name.clone());
            }
        }
        Meddling::SetDown(at) => {
            if let Some(name) = agent_links.get(*at) {
                let _ = kernel.execute(&Operation::SetDown(name.clone()));
            }
        }
        Meddling::DeleteAddress(at) => {
            let held = kernel
                .addresses
                .iter()
                .filter(|a| a.interface != "eth0")
                .nth(*at)
                .cloned();
            if let Some(held) = held {
                kernel.addresses.remove(&held);
            }
        }
    }
}

fn unmanaged(kernel: &Kernel, record: &Record) -> (BTreeSet<InterfaceAddress>, Vec<Route>) {
    let addresses = kernel
        .addresses
        .iter()
        .filter(|address| !record.addresses.contains(*address))
        .cloned()
        .collect();
    let routes = kernel
        .routes
        .values()
        .filter(|(_, protocol)| *protocol != GOVCLOUD_ROUTE_PROTOCOL)
        .map(|(route, _)| route.clone())
        .collect();
    (addresses, routes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Diff, apply the operations to the model of the kernel, observe: nothing left to do — from
    /// any earlier configuration, after anything someone else did in between.
    #[test]
    fn converging_leaves_an_empty_diff(
        before in arb_desired(),
        meddling in proptest::collection::vec(arb_meddling(), 0..4),
        after in arb_desired(),
    ) {
        let mut kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
        kernel.addresses.insert(address("eth0", "2001:db8:ff::1", 64));
        let mut record = Record::default();
        converge(&mut kernel, &before, &mut record);
        prop_assert!(plan(&before, &kernel.observe(), &record).is_empty());
        for meddling in &meddling {
            meddle(&mut kernel, meddling);
        }
        converge(&mut kernel, &after, &mut record);
        let again = plan(&after, &kernel.observe(), &record);
        prop_assert!(again.is_empty(), "{:#?}", again);
        prop_assert!(again.drift().is_empty());
        prop_assert!(kernel.addresses.contains(&address("eth0", "2001:db8:ff::1", 64)));
    }

    /// `Del*` operations only name what the agent made (its record) or its protocol's routes;
    /// nothing else is ever removed, and nothing touches the protected interface.
    #[test]
    fn only_what_the_agent_made_is_removed(
        before in arb_desired(),
        meddling in proptest::collection::vec(arb_meddling(), 0..4),
        after in arb_desired(),
    ) {
        let mut kernel = Kernel::with_links(&["eth0", "eth1", "eth2", "lan0"]);
        kernel.addresses.insert(address("eth0", "2001:db8:ff::1", 64));
        let mut record = Record::default();
        converge(&mut kernel, &before, &mut record);
        for meddling in &meddling {
            meddle(&mut kernel, meddling);
        }
        let observed = kernel.observe();
        let (addresses, routes) = unmanaged(&kernel, &record);
        let plan = plan(&after, &observed, &record);
        for operation in plan.operations() {
            match operation {
                Operation::DelAddress(address) => prop_assert!(record.addresses.contains(address)),
                Operation::DelRoute(route) | Operation::ReplaceRoute { previous: route, .. } => {
                    prop_assert!(observed.routes.contains(route));
                }
                Operation::DelLink(device) => {
                    let recorded = record.devices.get(&device.name);
                    prop_assert_eq!(recorded.map(|d| &d.kind), Some(&device.kind));
                    prop_assert_eq!(
                        recorded.map(|d| d.index),
                        observed.links.get(&device.name).map(|l| l.index)
                    );
                }
                _ => {}
            }
            prop_assert!(!operation.interfaces().contains(&"eth0"), "{:?}", operation);
        }
        let mut record = plan.record.clone();
        execute::run(&mut kernel, &plan, &mut record, |_| Ok(()));
        let (addresses_after, routes_after) = unmanaged(&kernel, &record);
        prop_assert!(addresses.is_subset(&addresses_after));
        for route in routes {
            prop_assert!(routes_after.contains(&route));
        }
        let recorded_kinds: BTreeSet<DeviceKind> = record.devices.values().map(|d| d.kind.clone()).collect();
        prop_assert!(recorded_kinds.len() <= 2 * after.segments.len());
    }
}
