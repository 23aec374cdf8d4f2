//! `AddressPool`: the IPv6 address plan, allocated hierarchically on nibble boundaries.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use crate::common::{Duration, Prefix};

/// The IPv6 plan of the government network (IPv6应用): one prefix divided hierarchically —
/// by default the city's /48, a /56 per county, a /60 per township and a /64 per segment, all
/// on nibble boundaries so that prefixes read cleanly. Allocations are stable, never overlap
/// (the controller's ledger enforces it), and are released a hold period after their owner is
/// deleted. Allocations show in their owner's status; the pool's status holds totals only.
#[derive(CustomResource, KubeSchema, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[kube(
    group = "govcloud.io",
    version = "v1alpha1",
    kind = "AddressPool",
    status = "AddressPoolStatus",
    shortname = "apool",
    category = "govcloud",
    category = "govcloud-network",
    doc = "An IPv6 prefix allocated hierarchically to counties, townships and segments.",
    printcolumn(name = "Prefix", type_ = "string", json_path = ".spec.prefix"),
    printcolumn(name = "Allocated", type_ = "integer", json_path = ".status.allocated"),
    printcolumn(
        name = "Exhausted",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Exhausted\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct AddressPoolSpec {
    /// The prefix to divide, e.g. `2001:db8:a00::/48`.
    pub prefix: Prefix,
    /// Prefix length allocated at each level.
    #[serde(default)]
    pub lengths: PrefixLengths,
    /// Prefixes inside the pool that are never allocated (infrastructure, loopbacks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub reserved: Vec<Prefix>,
    /// How long a released prefix is held before it can go to another owner.
    #[serde(default = "default_hold")]
    pub release_hold: Duration,
}

fn default_hold() -> Duration {
    Duration::from("168h")
}

/// Prefix lengths by level. Each is a multiple of 4 (a nibble boundary) and each level is
/// longer than the one above.
#[derive(Clone, Debug, Deserialize, Serialize, KubeSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.city < self.county && self.county < self.township && self.township < self.segment").message("prefix lengths must grow from city to county to township to segment"),
    validation = Rule::new("self.city % 4 == 0 && self.county % 4 == 0 && self.township % 4 == 0 && self.segment % 4 == 0").message("prefix lengths must fall on nibble boundaries (multiples of 4)")
)]
pub struct PrefixLengths {
    /// Length of the city's prefix (the pool's own, normally).
    #[schemars(range(min = 16, max = 64))]
    pub city: u8,
    /// Length of each county's prefix.
    #[schemars(range(min = 16, max = 64))]
    pub county: u8,
    /// Length of each township's prefix.
    #[schemars(range(min = 16, max = 64))]
    pub township: u8,
    /// Length of each segment (a LAN or a consolidated dedicated network at a site).
    #[schemars(range(min = 16, max = 64))]
    pub segment: u8,
}

impl Default for PrefixLengths {
    fn default() -> Self {
        Self {
            city: 48,
            county: 56,
            township: 60,
            segment: 64,
        }
    }
}

/// Totals of a pool.
#[derive(Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AddressPoolStatus {
    /// Prefixes allocated, all levels together.
    #[serde(default)]
    pub allocated: u64,
    /// Prefixes allocated per level (`county`, `township`, `segment`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allocated_by_level: BTreeMap<String, u64>,
    /// Prefixes still free per level, under the allocated parents.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub free_by_level: BTreeMap<String, u64>,
    /// Released prefixes still on hold.
    #[serde(default)]
    pub on_hold: u64,
    /// `Ready`, `Exhausted`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
