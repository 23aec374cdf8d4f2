//! The departments' dedicated networks (业务专网), read-only: `GET /v1/networks` and
//! `GET /v1/networks/{name}`, with each network's disposition, phase, sites (VLAN, VRF, /64),
//! annual cost and savings.
//!
//! Unlike routers and links, a dedicated network belongs to a department (`spec.department`):
//! a token sees the networks of its tenant and the tenant's descendants, and a token of a root
//! tenant (operations of the city) sees every network, also one whose department no longer
//! exists. Another department's network answers the same `404` as a missing one.

use axum::Json;
use axum::extract::{Path, State};
use govcloud_crds::DedicatedNetwork;
use govcloud_crds::api::{DedicatedNetworkSummary, DedicatedNetworkView, NetworkSiteView};
use kube::Api;
use kube::api::ListParams;

use super::super::auth::Caller;
use super::super::input::is_object_name;
use super::super::migrations::views::condition_view;
use super::super::openapi::{NotFound, Unauthorized};
use super::super::problem::ApiProblem;
use super::super::scope::Scope;
use super::super::state::{AppState, kube_problem};
use govcloud_core::conditions;
use govcloud_core::kube_time::from_kube;

/// Whether `scope` sees `network`: a root sees all; others their tenant's and descendants'.
pub fn visible(scope: &Scope, network: &DedicatedNetwork) -> bool {
    scope.is_root() || scope.sees(&network.spec.department)
}

/// A network as lists show it.
pub fn summary(network: &DedicatedNetwork) -> DedicatedNetworkSummary {
    let status = network.status.clone().unwrap_or_default();
    let ready = match conditions::status_of(&status.conditions, "Ready") {
        Some("True") => Some(true),
        Some("False") => Some(false),
        _ => None,
    };
    DedicatedNetworkSummary {
        name: network.metadata.name.clone().unwrap_or_default(),
        display_name: network.spec.display_name.clone(),
        department: network.spec.department.clone(),
        classification: network.spec.classification,
        disposition: status.disposition,
        phase: status.phase,
        site_count: u32::try_from(network.spec.sites.len()).unwrap_or(u32::MAX),
        annual_cost_yuan: network.spec.annual_cost_yuan,
        annual_savings_yuan: status.annual_savings_yuan,
        ready,
    }
}

/// A network in full: every site of the spec with what it was given.
pub fn view(network: &DedicatedNetwork) -> DedicatedNetworkView {
    let status = network.status.clone().unwrap_or_default();
    let sites = network
        .spec
        .sites
        .iter()
        .map(|site| {
            let given = status.sites.iter().find(|s| s.router == site.router);
            NetworkSiteView {
                router: site.router.clone(),
                pinned_vlan_id: site.vlan_id,
                vlan_id: given.map(|g| g.vlan_id),
                vrf: given.map(|g| g.vrf.clone()),
                vrf_table: given.map(|g| g.vrf_table),
                prefix: given.and_then(|g| g.prefix.as_ref().map(|p| p.as_str().to_owned())),
            }
        })
        .collect();
    DedicatedNetworkView {
        summary: summary(network),
        sensitivity: network.spec.sensitivity,
        lifecycle: network.spec.lifecycle,
        exemption: network.spec.exemption.as_ref().map(|e| e.reference.clone()),
        retire: network.spec.retire,
        technology: network.spec.technology,
        bandwidth_mbps: network.spec.bandwidth_mbps,
        decommission_confirmed_by: network
            .spec
            .decommission
            .as_ref()
            .map(|d| d.confirmed_by.clone()),
        decommissioned_at: status.decommissioned_at.as_ref().and_then(from_kube),
        sites,
        conditions: status.conditions.iter().map(condition_view).collect(),
    }
}

/// The dedicated networks the token sees, by name.
#[utoipa::path(
    get,
    path = "/v1/networks",
    tag = "dedicated networks",
    operation_id = "listNetworks",
    responses(
        (status = 200, description = "The dedicated networks the token sees, by name", body = Vec<DedicatedNetworkSummary>),
        (status = 401, response = Unauthorized),
    )
)]
pub async fn list_networks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<DedicatedNetworkSummary>>, ApiProblem> {
    let scope = state.scope(&caller).await?;
    let networks = Api::<DedicatedNetwork>::all(state.client().clone())
        .list(&ListParams::default())
        .await
        .map_err(|error| kube_problem("list dedicated networks", &error))?;
    let mut networks: Vec<DedicatedNetworkSummary> = networks
        .items
        .iter()
        .filter(|network| visible(&scope, network))
        .map(summary)
        .collect();
    networks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(networks))
}

/// One dedicated network: disposition, phase, each site's VLAN, VRF and /64, cost and savings,
/// conditions.
#[utoipa::path(
    get,
    path = "/v1/networks/{name}",
    tag = "dedicated networks",
    operation_id = "getNetwork",
    params(("name" = String, Path, description = "The dedicated network")),
    responses(
        (status = 200, description = "The dedicated network", body = DedicatedNetworkView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_network(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<DedicatedNetworkView>, ApiProblem> {
    let scope = state.scope(&caller).await?;
    if !is_object_name(&name) {
        return Err(ApiProblem::not_found("dedicated network"));
    }
    let network = Api::<DedicatedNetwork>::all(state.client().clone())
        .get_opt(&name)
        .await
        .map_err(|error| kube_problem("read the dedicated network", &error))?
        .filter(|network| visible(&scope, network))
        .ok_or_else(|| ApiProblem::not_found("dedicated network"))?;
    Ok(Json(view(&network)))
}

#[cfg(test)]
mod tests {
    use govcloud_crds::network::dedicated_network::{
        ConsolidationPhase, DedicatedNetworkStatus, Disposition, SiteAllocation,
    };
    use serde_json::json;

    use super::super::super::scope::Hierarchy;
    use super::*;

    fn network(department: &str) -> DedicatedNetwork {
        let mut network: DedicatedNetwork = serde_json::from_value(json!({
            "apiVersion": "govcloud.io/v1alpha1", "kind": "DedicatedNetwork",
            "metadata": {"name": "medins-net"},
            "spec": {
                "displayName": "医保专网", "department": department,
                "classification": "Unclassified", "lifecycle": "Existing",
                "annualCostYuan": 1_260_000,
                "sites": [{"router": "ankang-core", "vlanId": 210}, {"router": "hanbin-core"}]
            }
        }))
        .expect("a network");
        network.status = Some(DedicatedNetworkStatus {
            disposition: Some(Disposition::MigrateToExtranet),
            phase: ConsolidationPhase::Planned,
            sites: vec![SiteAllocation {
                router: "ankang-core".into(),
                vlan_id: 210,
                vrf: "vrf1000".into(),
                vrf_table: 1000,
                prefix: Some("2001:db8:0:10::/64".into()),
            }],
            ..DedicatedNetworkStatus::default()
        });
        network
    }

    #[test]
    fn departments_see_their_own_and_their_descendants_networks() {
        let hierarchy = Hierarchy::new([
            ("ankang", None),
            ("city-medins", Some("ankang")),
            ("city-hrss", Some("ankang")),
        ]);
        let medins = network("city-medins");
        assert!(visible(&hierarchy.scope("ankang"), &medins));
        assert!(visible(&hierarchy.scope("city-medins"), &medins));
        assert!(!visible(&hierarchy.scope("city-hrss"), &medins));
        assert!(visible(
            &hierarchy.scope("ankang"),
            &network("gone-department")
        ));
    }

    #[test]
    fn a_view_lists_every_site_with_what_it_was_given() {
        let view = view(&network("city-medins"));
        assert_eq!(view.summary.site_count, 2);
        assert_eq!(view.summary.annual_cost_yuan, Some(1_260_000));
        assert_eq!(view.sites[0].vlan_id, Some(210));
        assert_eq!(view.sites[0].prefix.as_deref(), Some("2001:db8:0:10::/64"));
        assert_eq!(view.sites[1].vlan_id, None);
        assert_eq!(view.summary.ready, None);
    }
}
