//! The agent's record of what it created — addresses and devices (VLAN, VRF) — so that it only
//! ever removes its own. Routes need no record: they carry the agent's protocol number. Pure:
//! reading and writing the record's file is [`super::state_file`].
//!
//! A device is the agent's only while the kernel still has a link of that name with the index and
//! kind it had when the agent made it: a device deleted and re-made by someone else under the
//! same name is not the agent's any more (see [`Record::pruned`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::desired::InterfaceAddress;
use super::diff::{Observed, Operation};

/// What a device the agent makes is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum DeviceKind {
    /// An 802.1Q subinterface of `parent`.
    Vlan { parent: String, id: u16 },
    /// A VRF device of routing table `table`.
    Vrf { table: u32 },
}

impl DeviceKind {
    /// The link kind the kernel reports (`IFLA_INFO_KIND`).
    pub fn link_kind(&self) -> &'static str {
        match self {
            Self::Vlan { .. } => "vlan",
            Self::Vrf { .. } => "vrf",
        }
    }
}

/// A device: its name and kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Device {
    pub name: String,
    pub kind: DeviceKind,
}

/// A device the agent made. (Unknown fields are not denied here: serde cannot with `flatten`.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedDevice {
    /// Its interface index when the agent made it.
    pub index: u32,
    #[serde(flatten)]
    pub kind: DeviceKind,
}

/// Everything the agent made and has not removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Record {
    #[serde(default)]
    pub addresses: BTreeSet<InterfaceAddress>,
    /// By device name.
    #[serde(default)]
    pub devices: BTreeMap<String, RecordedDevice>,
}

impl Record {
    /// The record after `operation` succeeded; `index` is the index of a device it created.
    pub fn note(&mut self, operation: &Operation, index: Option<u32>) {
        match operation {
            Operation::AddAddress(address) => {
                self.addresses.insert(address.clone());
            }
            Operation::DelAddress(address) => {
                self.addresses.remove(address);
            }
            Operation::AddVlan(vlan) => {
                self.devices.insert(
                    vlan.name.clone(),
                    RecordedDevice {
                        index: index.unwrap_or_default(),
                        kind: DeviceKind::Vlan {
                            parent: vlan.parent.clone(),
                            id: vlan.id,
                        },
                    },
                );
            }
            Operation::AddVrf(vrf) => {
                self.devices.insert(
                    vrf.name.clone(),
                    RecordedDevice {
                        index: index.unwrap_or_default(),
                        kind: DeviceKind::Vrf { table: vrf.table },
                    },
                );
            }
            Operation::DelLink(device) => {
                self.devices.remove(&device.name);
                // The kernel removes a link's addresses with it.
                self.addresses
                    .retain(|address| address.interface != device.name);
            }
            Operation::AddRoute(_)
            | Operation::ReplaceRoute { .. }
            | Operation::DelRoute(_)
            | Operation::SetMaster { .. }
            | Operation::SetUp(_)
            | Operation::SetDown(_) => {}
        }
    }

    /// The record without what the kernel no longer has: devices whose name is gone or now
    /// belongs to another link (another index or kind), and addresses no longer on their
    /// interface.
    #[must_use]
    pub fn pruned(&self, observed: &Observed) -> Self {
        let devices = self
            .devices
            .iter()
            .filter(|(name, device)| {
                observed.links.get(*name).is_some_and(|link| {
                    link.index == device.index
                        && link.kind.as_deref() == Some(device.kind.link_kind())
                })
            })
            .map(|(name, device)| (name.clone(), device.clone()))
            .collect();
        let addresses = self
            .addresses
            .iter()
            .filter(|address| observed.addresses.contains(*address))
            .cloned()
            .collect();
        Self { addresses, devices }
    }

    /// The recorded device `name`, as a [`Device`].
    pub fn device(&self, name: &str) -> Option<Device> {
        self.devices.get(name).map(|device| Device {
            name: name.to_owned(),
            kind: device.kind.clone(),
        })
    }
}
