//! What `govctl network` prints for people: dedicated networks with their disposition, phase
//! and savings, and one network's sites with their VLAN, VRF and /64.

use std::fmt::Write as _;

use govcloud_crds::api::{ConditionView, DedicatedNetworkSummary, DedicatedNetworkView};
use govcloud_crds::network::dedicated_network::Disposition;

use super::{NONE, Table, fields, optional_time};

/// `1,260,000 yuan`.
pub fn yuan(amount: u64) -> String {
    let digits = amount.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{grouped} yuan")
}

fn optional_yuan(amount: Option<u64>) -> String {
    amount.map_or_else(|| NONE.to_owned(), yuan)
}

fn disposition(disposition: Option<Disposition>) -> String {
    disposition.map_or_else(|| NONE.to_owned(), |d| format!("{d:?}"))
}

/// `govctl network list`
pub fn networks(networks: &[DedicatedNetworkSummary]) -> String {
    if networks.is_empty() {
        return "No dedicated networks.\n".to_owned();
    }
    let mut table = Table::new(&[
        "NETWORK",
        "DEPARTMENT",
        "CLASS",
        "DISPOSITION",
        "PHASE",
        "SITES",
        "ANNUAL COST",
        "SAVINGS",
    ]);
    for network in networks {
        table.row(vec![
            network.name.clone(),
            network.department.clone(),
            format!("{:?}", network.classification),
            disposition(network.disposition),
            format!("{:?}", network.phase),
            network.site_count.to_string(),
            optional_yuan(network.annual_cost_yuan),
            optional_yuan(network.annual_savings_yuan),
        ]);
    }
    let mut text = table.render();
    let savings: u64 = networks
        .iter()
        .filter_map(|n| n.annual_savings_yuan)
        .fold(0, u64::saturating_add);
    let cost: u64 = networks
        .iter()
        .filter_map(|n| n.annual_cost_yuan)
        .fold(0, u64::saturating_add);
    let decommissioned = networks
        .iter()
        .filter(|n| n.annual_savings_yuan.is_some())
        .count();
    let _ = writeln!(
        text,
        "\n{} dedicated networks, {decommissioned} decommissioned: annual savings {} of {}.",
        networks.len(),
        yuan(savings),
        yuan(cost),
    );
    text
}

fn conditions(text: &mut String, conditions: &[ConditionView]) {
    if conditions.is_empty() {
        return;
    }
    let mut table = Table::new(&["CONDITION", "STATUS", "REASON", "MESSAGE"]);
    for condition in conditions {
        table.row(vec![
            condition.kind.clone(),
            condition.status.clone(),
            condition.reason.clone(),
            condition.message.clone(),
        ]);
    }
    let _ = write!(text, "\nConditions:\n{}", table.render());
}

/// `govctl network show NAME`
pub fn network(view: &DedicatedNetworkView) -> String {
    let summary = &view.summary;
    let class = match view.sensitivity {
        Some(sensitivity) => format!("{:?} ({sensitivity:?})", summary.classification),
        None => format!("{:?}", summary.classification),
    };
    let lifecycle = match &view.exemption {
        Some(reference) => format!("{:?} (exemption {reference})", view.lifecycle),
        None => format!("{:?}", view.lifecycle),
    };
    let old = match (view.technology, view.bandwidth_mbps) {
        (Some(technology), Some(mbps)) => format!("{technology:?}, {mbps} Mbit/s"),
        (Some(technology), None) => format!("{technology:?}"),
        (None, Some(mbps)) => format!("{mbps} Mbit/s"),
        (None, None) => NONE.to_owned(),
    };
    let mut text = fields(&[
        ("Network", summary.name.clone()),
        ("Display name", summary.display_name.clone()),
        ("Department", summary.department.clone()),
        ("Class", class),
        ("Lifecycle", lifecycle),
        ("Disposition", disposition(summary.disposition)),
        ("Phase", format!("{:?}", summary.phase)),
        ("Old network", old),
        ("Annual cost", optional_yuan(summary.annual_cost_yuan)),
        ("Annual savings", optional_yuan(summary.annual_savings_yuan)),
        (
            "Decommission",
            view.decommission_confirmed_by.as_ref().map_or_else(
                || "not confirmed".to_owned(),
                |by| format!("confirmed by {by}"),
            ),
        ),
        (
            "Decommissioned",
            optional_time(view.decommissioned_at.as_ref(), NONE),
        ),
    ]);
    if !view.sites.is_empty() {
        let mut sites = Table::new(&["ROUTER", "VLAN", "VRF", "TABLE", "PREFIX"]);
        for site in &view.sites {
            let vlan = match (site.vlan_id, site.pinned_vlan_id) {
                (Some(vlan), _) => format!("vlan{vlan}"),
                (None, Some(pinned)) => format!("({pinned} pinned)"),
                (None, None) => NONE.to_owned(),
            };
            sites.row(vec![
                site.router.clone(),
                vlan,
                site.vrf.clone().unwrap_or_else(|| NONE.to_owned()),
                site.vrf_table
                    .map_or_else(|| NONE.to_owned(), |t| t.to_string()),
                site.prefix.clone().unwrap_or_else(|| NONE.to_owned()),
            ]);
        }
        let _ = write!(text, "\nSites:\n{}", sites.render());
    }
    conditions(&mut text, &view.conditions);
    text
}

#[cfg(test)]
mod tests {
    use govcloud_crds::api::NetworkSiteView;
    use govcloud_crds::common::Classification;
    use govcloud_crds::network::dedicated_network::{ConsolidationPhase, Lifecycle};

    use super::*;

    fn summary(
        name: &str,
        phase: ConsolidationPhase,
        savings: Option<u64>,
    ) -> DedicatedNetworkSummary {
        DedicatedNetworkSummary {
            name: name.to_owned(),
            display_name: "医保专网".to_owned(),
            department: "city-medins".to_owned(),
            classification: Classification::Unclassified,
            disposition: Some(Disposition::MigrateToExtranet),
            phase,
            site_count: 2,
            annual_cost_yuan: Some(1_260_000),
            annual_savings_yuan: savings,
            ready: Some(true),
        }
    }

    #[test]
    fn networks_are_a_table_with_the_total_savings() {
        let text = networks(&[
            summary(
                "hrss-net",
                ConsolidationPhase::Decommissioned,
                Some(980_000),
            ),
            summary("medins-net", ConsolidationPhase::Planned, None),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("NETWORK     DEPARTMENT   CLASS"),
            "{text}"
        );
        assert!(
            lines[1].contains("Decommissioned") && lines[1].ends_with("980,000 yuan"),
            "{text}"
        );
        assert!(lines[2].ends_with("1,260,000 yuan  -"), "{text}");
        assert!(
            text.ends_with(
                "2 dedicated networks, 1 decommissioned: annual savings 980,000 yuan of \
                 2,520,000 yuan.\n"
            ),
            "{text}"
        );
        assert_eq!(networks(&[]), "No dedicated networks.\n");
        assert_eq!(yuan(0), "0 yuan");
        assert_eq!(yuan(1000), "1,000 yuan");
    }

    #[test]
    fn a_network_shows_each_site() {
        let view = DedicatedNetworkView {
            summary: summary("medins-net", ConsolidationPhase::Planned, None),
            sensitivity: None,
            lifecycle: Lifecycle::Existing,
            exemption: None,
            retire: false,
            technology: None,
            bandwidth_mbps: Some(100),
            decommission_confirmed_by: None,
            decommissioned_at: None,
            sites: vec![
                NetworkSiteView {
                    router: "ankang-core".into(),
                    pinned_vlan_id: Some(210),
                    vlan_id: Some(210),
                    vrf: Some("vrf1000".into()),
                    vrf_table: Some(1000),
                    prefix: Some("2001:db8:0:10::/64".into()),
                },
                NetworkSiteView {
                    router: "hanbin-core".into(),
                    pinned_vlan_id: Some(300),
                    vlan_id: None,
                    vrf: None,
                    vrf_table: None,
                    prefix: None,
                },
            ],
            conditions: Vec::new(),
        };
        let text = network(&view);
        for expected in [
            "Phase:           Planned",
            "Old network:     100 Mbit/s",
            "Annual cost:     1,260,000 yuan",
            "ankang-core  vlan210       vrf1000  1000   2001:db8:0:10::/64",
            "hanbin-core  (300 pinned)  -        -      -",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}
