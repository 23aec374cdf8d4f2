//! The routing tests' small city: the `ankang` pool (2001:db8:a00::/48), the city router
//! `ankang-core`, the county router `hanyin-core` behind link `cc-hanyin`, a township
//! `chengguan` behind `ct-chengguan`, the consolidated network `yibao` at `hanyin-core` and the
//! classified `jiwei`, with every allocation of the conventions.

use govcloud_crds::network::dedicated_network::{
    ConsolidationPhase, DedicatedNetworkSpec, DedicatedNetworkStatus, Disposition, SiteAllocation,
};
use govcloud_crds::network::extranet_link::ExtranetLinkSpec;
use govcloud_crds::{DedicatedNetwork, ExtranetLink, Router};
use serde_json::json;

use super::inputs::{Allocation, Inputs, Pool};
use crate::ipam::{Owner, Prefix};

pub(crate) const CITY: &str = "ankang-core";
pub(crate) const COUNTY: &str = "hanyin-core";
pub(crate) const TOWNSHIP: &str = "chengguan";

pub(crate) fn p(text: &str) -> Prefix {
    Prefix::parse(text).expect("prefix")
}

/// A router: `interfaces` as `(name, role)`.
pub(crate) fn router(
    name: &str,
    level: &str,
    upstream: Option<&str>,
    interfaces: &[(&str, &str)],
    management: Option<&str>,
) -> Router {
    let interfaces: Vec<_> = interfaces
        .iter()
        .map(|(name, role)| json!({"name": name, "role": role}))
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "Router",
        "metadata": {"name": name},
        "spec": {
            "displayName": name,
            "site": {"level": level, "divisionCode": "610921", "name": name},
            "upstream": upstream,
            "interfaces": interfaces,
            "managementInterface": management,
        },
    }))
    .expect("router")
}

/// A link between `upstream` and `downstream` on members `up0/up1` … as given.
pub(crate) fn link(
    name: &str,
    upstream: (&str, [&str; 2]),
    downstream: (&str, [&str; 2]),
) -> ExtranetLink {
    let spec: ExtranetLinkSpec = serde_json::from_value(json!({
        "tier": "CityCounty",
        "upstream": {"router": upstream.0, "members": upstream.1},
        "downstream": {"router": downstream.0, "members": downstream.1},
    }))
    .expect("link spec");
    ExtranetLink::new(name, spec)
}

/// A dedicated network with one site at `router`.
pub(crate) fn network(
    name: &str,
    classification: &str,
    disposition: Disposition,
    site: (&str, u16, u32),
) -> DedicatedNetwork {
    let spec: DedicatedNetworkSpec = serde_json::from_value(json!({
        "displayName": name,
        "department": "yibaoju",
        "classification": classification,
        "lifecycle": "Existing",
        "sites": [{"router": site.0}],
    }))
    .expect("network spec");
    let mut network = DedicatedNetwork::new(name, spec);
    network.status = Some(DedicatedNetworkStatus {
        disposition: Some(disposition),
        phase: ConsolidationPhase::Planned,
        sites: vec![SiteAllocation {
            router: site.0.to_owned(),
            vlan_id: site.1,
            vrf: format!("vrf{}", site.2),
            vrf_table: site.2,
            prefix: None,
        }],
        ..DedicatedNetworkStatus::default()
    });
    network
}

pub(crate) fn allocation(kind: &str, name: &str, prefix: &str) -> Allocation {
    Allocation {
        pool: "ankang".to_owned(),
        owner: Owner::new(kind, name),
        prefix: p(prefix),
    }
}

/// The small city, every allocation made.
pub(crate) fn city() -> Inputs {
    Inputs {
        routers: vec![
            router(
                CITY,
                "City",
                None,
                &[
                    ("lan0", "Lan"),
                    ("down0", "Downlink"),
                    ("down1", "Downlink"),
                    ("mgmt0", "Management"),
                ],
                Some("mgmt0"),
            ),
            router(
                COUNTY,
                "County",
                Some(CITY),
                &[
                    ("up0", "Uplink"),
                    ("up1", "Uplink"),
                    ("lan0", "Lan"),
                    ("down0", "Downlink"),
                    ("down1", "Downlink"),
                    ("eth9", "Uplink"),
                ],
                Some("eth9"),
            ),
            router(
                TOWNSHIP,
                "Township",
                Some(COUNTY),
                &[("up0", "Uplink"), ("up1", "Uplink"), ("lan0", "Lan")],
                None,
            ),
        ],
        links: vec![
            link(
                "cc-hanyin",
                (CITY, ["down0", "down1"]),
                (COUNTY, ["up0", "up1"]),
            ),
            link(
                "ct-chengguan",
                (COUNTY, ["down0", "down1"]),
                (TOWNSHIP, ["up0", "up1"]),
            ),
        ],
        networks: vec![
            network(
                "yibao",
                "Unclassified",
                Disposition::MigrateToExtranet,
                (COUNTY, 120, 1000),
            ),
            network(
                "jiwei",
                "Classified",
                Disposition::MigrateToIntranet,
                (COUNTY, 130, 1001),
            ),
        ],
        pools: vec![Pool {
            name: "ankang".to_owned(),
            prefix: p("2001:db8:a00::/48"),
        }],
        allocations: vec![
            allocation("Router", CITY, "2001:db8:a00::/48"),
            allocation("RouterLan", "ankang-core/lan0", "2001:db8:a00:1::/64"),
            allocation("Router", COUNTY, "2001:db8:a00:100::/56"),
            allocation("RouterLan", "hanyin-core/lan0", "2001:db8:a00:100::/64"),
            allocation("LinkMember", "cc-hanyin/0", "2001:db8:a00:101::/64"),
            allocation("LinkMember", "cc-hanyin/1", "2001:db8:a00:102::/64"),
            allocation("NetworkSite", "yibao/hanyin-core", "2001:db8:a00:103::/64"),
            allocation("NetworkSite", "jiwei/hanyin-core", "2001:db8:a00:104::/64"),
            allocation("Router", TOWNSHIP, "2001:db8:a00:110::/60"),
            allocation("RouterLan", "chengguan/lan0", "2001:db8:a00:110::/64"),
            allocation("LinkMember", "ct-chengguan/0", "2001:db8:a00:111::/64"),
            allocation("LinkMember", "ct-chengguan/1", "2001:db8:a00:112::/64"),
        ],
    }
}
