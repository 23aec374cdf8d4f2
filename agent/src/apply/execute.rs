//! The executor: runs a plan's batches through the netlink adapter, one acknowledged request per
//! operation. On the first failure in a batch, the operations already done in that batch are
//! undone in reverse order (each through its [`Operation::inverse`]) and the batch's error is
//! reported, naming the operation, its `ip` command and what to do; the next batch still runs.
//! The record of what the agent made follows every operation done or undone.
//!
//! A delete of an address or route that is already gone (removed by hand, or flushed by the
//! kernel, between the observation and the request) counts as done: the intent of a delete is
//! "gone". [`Executor::send`] is the one place that reads the kernel's answer so; nothing is
//! undone for such a delete, since it changed nothing. An address whose interface is gone too is
//! still a failure (`ENODEV`), as is every other refusal.

use std::collections::BTreeMap;
use std::io;

use crate::netlink::request::{self, AddressChange, NewLink, RouteChange, RouteSpec};
use crate::netlink::{self, Netlink, NetlinkError, Operation as Asking};

use super::GOVCLOUD_ROUTE_PROTOCOL;
use super::desired::Route;
use super::diff::{Batch, Observed, Operation, Plan};
use super::record::Record;

const RTM_NEWLINK: u16 = 16;

const ADD_ADDRESS: Asking = Asking("add an address (RTM_NEWADDR)");
const DEL_ADDRESS: Asking = Asking("delete an address (RTM_DELADDR)");
const ADD_ROUTE: Asking = Asking("add a route (RTM_NEWROUTE)");
const REPLACE_ROUTE: Asking = Asking("replace a route (RTM_NEWROUTE, NLM_F_REPLACE)");
const DEL_ROUTE: Asking = Asking("delete a route (RTM_DELROUTE)");
const ADD_LINK: Asking = Asking("create a device (RTM_NEWLINK)");
const SET_MASTER: Asking = Asking("set a device's master (RTM_NEWLINK, IFLA_MASTER)");
const SET_STATE: Asking = Asking("set a device up or down (RTM_NEWLINK)");
const DEL_LINK: Asking = Asking("delete a device (RTM_DELLINK)");
const GET_LINK: Asking = Asking("look up a device by name (RTM_GETLINK)");

/// One operation that failed.
#[derive(Debug, thiserror::Error)]
#[error("failed to {description} (`{command}`): {reason}")]
pub struct OperationError {
    pub description: String,
    pub command: String,
    pub reason: String,
    /// The kernel's errno, when it answered one.
    pub errno: Option<i32>,
}

/// What one operation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Executed {
    /// The kernel changed; `created` is the index of a device the operation created.
    Changed { created: Option<u32> },
    /// A delete found nothing to delete: what it removes was already gone. Its intent holds, so
    /// it counts as done, and there is nothing to undo.
    AlreadyGone,
}

/// What became of one batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchReport {
    pub name: String,
    /// The `ip` commands of the operations done and kept (empty when the batch failed: what was
    /// done was undone).
    pub done: Vec<String>,
    /// The `ip` commands of the deletes that found what they remove already gone (done without
    /// a change, so kept whether or not the batch failed).
    pub already_gone: Vec<String>,
    /// Why the batch failed, with what the rollback did.
    pub error: Option<String>,
}

/// Where operations are executed: the kernel ([`Executor`]) or, in tests, a model of it.
pub trait Target {
    /// Executes one operation; says whether it changed anything, and the index of a device it
    /// created.
    fn execute(&mut self, operation: &Operation) -> Result<Executed, OperationError>;
}

impl Target for Executor<'_> {
    fn execute(&mut self, operation: &Operation) -> Result<Executed, OperationError> {
        Executor::execute(self, operation)
    }
}

/// Runs every batch of `plan` in order, updating `record`; `after_batch` is called with the
/// record after each batch (to write it down) and may report an error of its own.
pub fn run(
    target: &mut impl Target,
    plan: &Plan,
    record: &mut Record,
    mut after_batch: impl FnMut(&Record) -> Result<(), String>,
) -> Vec<BatchReport> {
    plan.batches
        .iter()
        .map(|batch| {
            let mut report = run_batch(target, batch, record);
            if let Err(error) = after_batch(record) {
                let text = match report.error.take() {
                    Some(first) => format!("{first}; {error}"),
                    None => error,
                };
                report.error = Some(text);
            }
            report
        })
        .collect()
}

/// Runs one batch; on a failure undoes what it did, in reverse order.
pub fn run_batch(target: &mut impl Target, batch: &Batch, record: &mut Record) -> BatchReport {
    let mut done: Vec<&Operation> = Vec::new();
    let mut already_gone = Vec::new();
    for operation in &batch.operations {
        match target.execute(operation) {
            Ok(Executed::Changed { created }) => {
                record.note(operation, created);
                done.push(operation);
            }
            Ok(Executed::AlreadyGone) => {
                record.note(operation, None);
                already_gone.push(operation.ip_command());
            }
            Err(error) => {
                let rollback = undo(target, &done, record);
                return BatchReport {
                    name: batch.name.clone(),
                    done: Vec::new(),
                    already_gone,
                    error: Some(format!("batch {}: {error}; {rollback}", batch.name)),
                };
            }
        }
    }
    BatchReport {
        name: batch.name.clone(),
        done: done
            .iter()
            .map(|operation| operation.ip_command())
            .collect(),
        already_gone,
        error: None,
    }
}

/// Undoes `done` in reverse order; says what happened. An inverse that fails is tried once
/// more after the others: reverse order is right for what each operation needed, but an
/// inverse can need what a *later* inverse restores (putting back a route whose next hop is
/// on a network whose address the batch removed before replacing the route).
fn undo(target: &mut impl Target, done: &[&Operation], record: &mut Record) -> String {
    if done.is_empty() {
        return "nothing to roll back".to_owned();
    }
    let mut undone = Vec::new();
    let mut failed = Vec::new();
    for operation in done.iter().rev() {
        let inverse = operation.inverse();
        match target.execute(&inverse) {
            Ok(executed) => {
                record.note(&inverse, created(executed));
                undone.push(format!("`{}`", inverse.ip_command()));
            }
            Err(_) => failed.push(inverse),
        }
    }
    let mut failures = Vec::new();
    for inverse in failed {
        match target.execute(&inverse) {
            Ok(executed) => {
                record.note(&inverse, created(executed));
                undone.push(format!("`{}`", inverse.ip_command()));
            }
            Err(error) => failures.push(format!("rollback {error}")),
        }
    }
    let mut text = format!(
        "rolled back {} operation(s): {}",
        undone.len(),
        undone.join(", ")
    );
    if !failures.is_empty() {
        text.push_str("; ");
        text.push_str(&failures.join("; "));
    }
    text
}

/// The index of the device an operation created, if any.
fn created(executed: Executed) -> Option<u32> {
    match executed {
        Executed::Changed { created } => created,
        Executed::AlreadyGone => None,
    }
}

/// Runs plans against one netlink socket.
#[derive(Debug)]
pub struct Executor<'a> {
    netlink: &'a mut Netlink,
    /// Interface indexes by name, from the observation and kept up to date.
    indexes: BTreeMap<String, u32>,
}

impl<'a> Executor<'a> {
    /// An executor knowing the links of `observed`.
    pub fn new(netlink: &'a mut Netlink, observed: &Observed) -> Self {
        let indexes = observed
            .links
            .iter()
            .map(|(name, link)| (name.clone(), link.index))
            .collect();
        Self { netlink, indexes }
    }

    /// Executes one operation; says whether it changed anything, and the index of a device it
    /// created.
    pub fn execute(&mut self, operation: &Operation) -> Result<Executed, OperationError> {
        self.request(operation).map_err(|reason| OperationError {
            description: operation.describe(),
            command: operation.ip_command(),
            errno: reason.1,
            reason: reason.0,
        })
    }

    fn request(&mut self, operation: &Operation) -> Result<Executed, (String, Option<i32>)> {
        let executed = match operation {
            Operation::AddAddress(address) | Operation::DelAddress(address) => {
                let index = self.index(&address.interface)?;
                let (change, asking) = if matches!(operation, Operation::AddAddress(_)) {
                    (AddressChange::Add, ADD_ADDRESS)
                } else {
                    (AddressChange::Delete, DEL_ADDRESS)
                };
                let request =
                    request::address(change, index, address.address, address.prefix_length);
                self.send(operation, asking, &request)?
            }
            Operation::AddRoute(route) => self.route(operation, RouteChange::Add, route)?,
            Operation::ReplaceRoute { route, .. } => {
                self.route(operation, RouteChange::Replace, route)?
            }
            Operation::DelRoute(route) => self.route(operation, RouteChange::Delete, route)?,
            Operation::AddVlan(vlan) => {
                let parent = self.index(&vlan.parent)?;
                let request = request::link_add(
                    &vlan.name,
                    NewLink::Vlan {
                        parent,
                        id: vlan.id,
                    },
                );
                self.create(operation, &vlan.name, &request)?
            }
            Operation::AddVrf(vrf) => {
                let request = request::link_add(&vrf.name, NewLink::Vrf { table: vrf.table });
                self.create(operation, &vrf.name, &request)?
            }
            Operation::SetMaster { link, master, .. } => {
                let index = self.index(link)?;
                let master = match master {
                    Some(master) => self.index(master)?,
                    None => 0,
                };
                self.send(
                    operation,
                    SET_MASTER,
                    &request::link_set_master(index, master),
                )?
            }
            Operation::SetUp(link) | Operation::SetDown(link) => {
                let index = self.index(link)?;
                let up = matches!(operation, Operation::SetUp(_));
                self.send(operation, SET_STATE, &request::link_set_up(index, up))?
            }
            Operation::DelLink(device) => {
                let index = self.index(&device.name)?;
                let executed = self.send(operation, DEL_LINK, &request::link_delete(index))?;
                self.indexes.remove(&device.name);
                executed
            }
        };
        Ok(executed)
    }

    fn route(
        &mut self,
        operation: &Operation,
        change: RouteChange,
        route: &Route,
    ) -> Result<Executed, (String, Option<i32>)> {
        let mut next_hops = Vec::new();
        if change != RouteChange::Delete {
            for hop in &route.next_hops {
                next_hops.push((hop.via, self.index(&hop.interface)?));
            }
        }
        let spec = RouteSpec {
            table: route.table,
            destination: route.destination.addr(),
            prefix_length: route.destination.prefix_len(),
            protocol: GOVCLOUD_ROUTE_PROTOCOL,
            next_hops: &next_hops,
        };
        let asking = match change {
            RouteChange::Add => ADD_ROUTE,
            RouteChange::Replace => REPLACE_ROUTE,
            RouteChange::Delete => DEL_ROUTE,
        };
        self.send(operation, asking, &request::route(change, &spec))
    }

    /// Creates a device and learns its index.
    fn create(
        &mut self,
        operation: &Operation,
        name: &str,
        request: &request::Request,
    ) -> Result<Executed, (String, Option<i32>)> {
        self.send(operation, ADD_LINK, request)?;
        self.indexes.remove(name);
        let index = self.index(name)?;
        Ok(Executed::Changed {
            created: Some(index),
        })
    }

    /// Sends the request of `operation` and reads the kernel's answer: every request of every
    /// operation passes here, so this is where a delete of what is already gone becomes done.
    fn send(
        &mut self,
        operation: &Operation,
        asking: Asking,
        request: &request::Request,
    ) -> Result<Executed, (String, Option<i32>)> {
        match self.netlink.exchange(asking, request, |_, _| Ok(())) {
            Ok(()) => Ok(Executed::Changed { created: None }),
            Err(error) if already_gone(operation, &error) => Ok(Executed::AlreadyGone),
            Err(error) => Err((reason(operation, &error), error.errno())),
        }
    }

    /// The index of the link `name`: known, or asked for.
    fn index(&mut self, name: &str) -> Result<u32, (String, Option<i32>)> {
        if let Some(index) = self.indexes.get(name) {
            return Ok(*index);
        }
        let mut found = None;
        let answer = self
            .netlink
            .exchange(GET_LINK, &request::link_get(name), |kind, payload| {
                if kind == RTM_NEWLINK {
                    found = netlink::attr::u32_of(payload.get(4..).unwrap_or_default());
                }
                Ok(())
            });
        match (answer, found) {
            (Ok(()), Some(index)) => {
                self.indexes.insert(name.to_owned(), index);
                Ok(index)
            }
            (Err(error), _) if error.errno() == Some(libc::ENODEV) => {
                Err((format!("no interface named {name}"), Some(libc::ENODEV)))
            }
            (Err(error), _) => Err((error.to_string(), error.errno())),
            (Ok(()), None) => Err((format!("the kernel answered no index for {name}"), None)),
        }
    }
}

/// Whether the kernel's refusal of `operation` says that what the operation deletes is not
/// there. The kernel answers `EADDRNOTAVAIL` to `RTM_DELADDR` of an address the interface does
/// not hold, and `ESRCH` to `RTM_DELROUTE` of a route it does not have (none to the destination
/// in the table, none of the protocol given, or no such table), for IPv6 as for IPv4. Any other
/// errno, and any errno of another operation, stays a failure.
fn already_gone(operation: &Operation, error: &NetlinkError) -> bool {
    let NetlinkError::Kernel { errno, .. } = error else {
        return false;
    };
    matches!(
        (operation, *errno),
        (Operation::DelAddress(_), libc::EADDRNOTAVAIL) | (Operation::DelRoute(_), libc::ESRCH)
    )
}

/// Why an operation failed, with what to do about it.
fn reason(operation: &Operation, error: &NetlinkError) -> String {
    let NetlinkError::Kernel { errno, message, .. } = error else {
        return error.to_string();
    };
    let mut text = format!(
        "the kernel refused it: {}",
        io::Error::from_raw_os_error(*errno)
    );
    if let Some(message) = message {
        text.push_str(" (");
        text.push_str(message);
        text.push(')');
    }
    match advice(operation, *errno) {
        Some(advice) => {
            text.push_str(": ");
            text.push_str(&advice);
        }
        None => text.push_str(netlink::hint(Some(*errno))),
    }
    text
}

/// What an errno means for this operation, when it means something specific.
fn advice(operation: &Operation, errno: i32) -> Option<String> {
    let advice = match (operation, errno) {
        (Operation::AddVrf(_), libc::EOPNOTSUPP) => {
            "the kernel has no VRF support (CONFIG_NET_VRF): load the vrf module or use a kernel built with it".to_owned()
        }
        (Operation::AddVlan(_), libc::EOPNOTSUPP) => {
            "the kernel has no 802.1Q VLAN support (CONFIG_VLAN_8021Q): load the 8021q module or use a kernel built with it".to_owned()
        }
        (Operation::AddVlan(vlan), libc::EEXIST) => format!(
            "a device named {} exists, or VLAN {} is already configured on {}",
            vlan.name, vlan.id, vlan.parent
        ),
        (Operation::AddVrf(vrf), libc::EEXIST) => format!("a device named {} exists", vrf.name),
        (
            Operation::AddRoute(route) | Operation::ReplaceRoute { route, .. },
            libc::ENETUNREACH | libc::EHOSTUNREACH,
        ) => {
            let hops: Vec<String> = route
                .next_hops
                .iter()
                .map(|hop| format!("next hop {} is not on a connected network of dev {}", hop.via, hop.interface))
                .collect();
            format!(
                "{} (give the interface an address in the next hop's network first)",
                hops.join(", or ")
            )
        }
        (Operation::AddRoute(route), libc::EEXIST) => format!(
            "a route to {} exists that the agent did not make (another protocol than {GOVCLOUD_ROUTE_PROTOCOL}): the agent never replaces it; remove it, or take the route out of the desired configuration",
            route.destination
        ),
        (Operation::AddAddress(address), libc::EEXIST) => format!(
            "{} already holds {} (perhaps with another prefix length) and the agent did not add it",
            address.interface, address.address
        ),
        (Operation::SetUp(link), libc::ENETDOWN) => {
            format!("the device under {link} is down: bring its parent up first")
        }
        (_, libc::ENODEV) => "the device does not exist (any more)".to_owned(),
        _ => return None,
    };
    Some(advice)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;
    use crate::apply::desired::{InterfaceAddress, MAIN_TABLE, NextHop, network_of};

    fn refusal(errno: i32) -> NetlinkError {
        NetlinkError::Kernel {
            operation: DEL_ADDRESS,
            errno,
            message: None,
        }
    }

    fn operations() -> (Operation, Operation, Operation) {
        let address = InterfaceAddress {
            interface: "lan0".to_owned(),
            address: Ipv6Addr::new(0x2001, 0xdb8, 0xa00, 0x10, 0, 0, 0, 1),
            prefix_length: 64,
        };
        let route = Route {
            table: MAIN_TABLE,
            destination: network_of(Ipv6Addr::new(0x2001, 0xdb8, 0xa00, 0x100, 0, 0, 0, 0), 56),
            next_hops: vec![NextHop {
                via: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2),
                interface: "eth1".to_owned(),
            }],
        };
        (
            Operation::DelAddress(address),
            Operation::DelRoute(route.clone()),
            Operation::AddRoute(route),
        )
    }

    #[test]
    fn only_the_kernels_not_there_answer_to_a_delete_is_already_gone() {
        let (del_address, del_route, add_route) = operations();
        assert!(already_gone(&del_address, &refusal(libc::EADDRNOTAVAIL)));
        assert!(already_gone(&del_route, &refusal(libc::ESRCH)));
        // The errno of the other kind of delete, of an add, or any other errno: a failure.
        assert!(!already_gone(&del_address, &refusal(libc::ESRCH)));
        assert!(!already_gone(&del_route, &refusal(libc::EADDRNOTAVAIL)));
        assert!(!already_gone(&add_route, &refusal(libc::ESRCH)));
        for errno in [libc::ENOENT, libc::ENODEV, libc::EPERM, libc::EINVAL] {
            assert!(!already_gone(&del_address, &refusal(errno)), "{errno}");
            assert!(!already_gone(&del_route, &refusal(errno)), "{errno}");
        }
        // Only the kernel's answer counts, not a socket's error of the same number.
        let io = NetlinkError::Io {
            operation: DEL_ROUTE,
            source: io::Error::from_raw_os_error(libc::ESRCH),
        };
        assert!(!already_gone(&del_route, &io));
    }

    #[test]
    fn other_refusals_of_a_delete_keep_their_advice() {
        let (del_address, del_route, _) = operations();
        let text = reason(&del_address, &refusal(libc::EPERM));
        assert!(text.contains("CAP_NET_ADMIN"), "{text}");
        let text = reason(&del_route, &refusal(libc::ENODEV));
        assert!(
            text.ends_with(": the device does not exist (any more)"),
            "{text}"
        );
    }
}
