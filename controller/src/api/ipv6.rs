//! `GET /v1/ipv6`: where the IPv6 rollout stands — sites ready over total,
//! by county, and each site with why it is not ready yet. Read like the routers it is made of:
//! with a token of a root tenant (the city), any role (ADR 0009).

use axum::Json;
use axum::extract::State;
use govcloud_crds::api::{CountyIpv6, Ipv6Status, SiteIpv6};
use govcloud_crds::network::router::Router;
use kube::Api;
use kube::api::ListParams;

use super::auth::Caller;
use super::network::authorize;
use super::openapi::{Forbidden, Unauthorized};
use super::problem::ApiProblem;
use super::state::{AppState, kube_problem};
use govcloud_core::network::readiness;

/// The view of the routers' readiness, pure.
pub fn ipv6_status(routers: &[Router]) -> Ipv6Status {
    let sites = readiness::sites(routers);
    let (counties, all) = readiness::tally(&sites);
    let prefixes: std::collections::HashMap<String, String> = routers
        .iter()
        .filter_map(|r| {
            let prefix = r.status.as_ref()?.prefix.as_ref()?;
            Some((r.metadata.name.clone()?, prefix.to_string()))
        })
        .collect();
    Ipv6Status {
        ready: all.ready,
        total: all.total,
        counties: counties
            .into_iter()
            .map(|(county, tally)| CountyIpv6 {
                county,
                ready: tally.ready,
                total: tally.total,
            })
            .collect(),
        sites: sites
            .into_iter()
            .map(|site| SiteIpv6 {
                prefix: prefixes.get(&site.router).cloned(),
                router: site.router,
                level: site.level,
                county: site.county,
                ready: site.ready,
                reason: site.reason,
            })
            .collect(),
    }
}

/// Sites ready over total, by county, and each site.
#[utoipa::path(
    get,
    path = "/v1/ipv6",
    tag = "routers",
    operation_id = "getIpv6Status",
    responses(
        (status = 200, description = "Where the IPv6 rollout stands", body = Ipv6Status),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn get_ipv6_status(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Ipv6Status>, ApiProblem> {
    authorize(&state, &caller).await?;
    let routers = Api::<Router>::all(state.client().clone())
        .list(&ListParams::default())
        .await
        .map_err(|error| kube_problem("list routers", &error))?
        .items;
    Ok(Json(ipv6_status(&routers)))
}
