//! The extranet, read-only: `GET /v1/routers`, `GET /v1/routers/{name}`,
//! `GET /v1/links` and `GET /v1/links/{name}`, for network engineers, operations and auditors.
//!
//! Routers and links are cluster-scoped and belong to no tenant: they serve the whole city.
//! As with the audit records of no tenant (ADR 0006), only tokens of a root tenant (one that
//! names no parent: the city) see them, with any role — `viewer` reads, so a network engineer
//! needs no more than a viewer token of the city; `auditor` and `operations` read too. A
//! token of any other tenant gets a `403` that says so, before anything is looked up, so the
//! answer never depends on what exists. Nothing here changes an object: operations declare
//! routers and links with `kubectl`. See `docs/adr/0009-extranet-compliance-and-network-visibility.md`.

pub mod dedicated;
pub mod views;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use govcloud_crds::api::{LinkSummary, LinkView, RouterSummary, RouterView};
use govcloud_crds::network::extranet_link::{Compliance, ExtranetLink};
use govcloud_crds::network::router::Router;
use kube::Api;
use kube::api::ListParams;

use self::views::{link_summary, link_view, router_summary, router_view};
use super::auth::Caller;
use super::input::{is_object_name, query_pairs, query_value};
use super::openapi::{Forbidden, InvalidInput, NotFound, Unauthorized};
use super::problem::{ApiProblem, ProblemKind};
use super::state::{AppState, kube_problem};

/// `Ok` when the caller's tenant is a root of the hierarchy, else the `403` that says who may
/// read the network.
pub(super) async fn authorize(state: &AppState, caller: &Caller) -> Result<(), ApiProblem> {
    if state.scope(caller).await?.is_root() {
        return Ok(());
    }
    Err(ApiProblem::new(
        ProblemKind::Forbidden,
        format!(
            "routers and extranet links serve the whole network and belong to no tenant: they \
             are read with a token of a root tenant (the city), and tenant {} has a parent",
            caller.tenant
        ),
    ))
}

async fn all_routers(state: &AppState) -> Result<Vec<Router>, ApiProblem> {
    Api::<Router>::all(state.client().clone())
        .list(&ListParams::default())
        .await
        .map(|list| list.items)
        .map_err(|error| kube_problem("list routers", &error))
}

async fn all_links(state: &AppState) -> Result<Vec<ExtranetLink>, ApiProblem> {
    Api::<ExtranetLink>::all(state.client().clone())
        .list(&ListParams::default())
        .await
        .map(|list| list.items)
        .map_err(|error| kube_problem("list extranet links", &error))
}

/// The routers, by name, with their agents' connection.
#[utoipa::path(
    get,
    path = "/v1/routers",
    tag = "routers",
    operation_id = "listRouters",
    responses(
        (status = 200, description = "Every router, by name", body = Vec<RouterSummary>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list_routers(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<RouterSummary>>, ApiProblem> {
    authorize(&state, &caller).await?;
    let mut routers: Vec<RouterSummary> = all_routers(&state)
        .await?
        .iter()
        .map(router_summary)
        .collect();
    routers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(routers))
}

/// One router: site, interfaces (declared and reported), its agent, its links, conditions.
#[utoipa::path(
    get,
    path = "/v1/routers/{name}",
    tag = "routers",
    operation_id = "getRouter",
    params(("name" = String, Path, description = "The router")),
    responses(
        (status = 200, description = "The router", body = RouterView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_router(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<RouterView>, ApiProblem> {
    authorize(&state, &caller).await?;
    if !is_object_name(&name) {
        return Err(ApiProblem::not_found("router"));
    }
    let router = Api::<Router>::all(state.client().clone())
        .get_opt(&name)
        .await
        .map_err(|error| kube_problem("read the router", &error))?
        .ok_or_else(|| ApiProblem::not_found("router"))?;
    let links = all_links(&state).await?;
    Ok(Json(router_view(&router, &links)))
}

/// The filters of the link list, pure: a compliance must be one of the four; a router, a name.
fn link_filters(query: Option<&str>) -> Result<(Option<Compliance>, Option<String>), ApiProblem> {
    let pairs = query_pairs(query);
    let compliance = query_value::<String>(&pairs, "compliance", "a compliance")?
        .map(|text| {
            serde_json::from_value::<Compliance>(serde_json::Value::from(text.as_str())).map_err(
                |_| {
                    ApiProblem::invalid(
                        "compliance",
                        format!(
                            "query parameter `compliance` must be Compliant, Degraded, Down or \
                             Unknown, not {text:?}"
                        ),
                    )
                },
            )
        })
        .transpose()?;
    let router = query_value::<String>(&pairs, "router", "a router name")?;
    if let Some(router) = router.as_deref().filter(|r| !is_object_name(r)) {
        return Err(ApiProblem::invalid(
            "router",
            format!("query parameter `router` must be a router's name, not {router:?}"),
        ));
    }
    Ok((compliance, router))
}

/// The extranet links, by name, with their compliance.
#[utoipa::path(
    get,
    path = "/v1/links",
    tag = "extranet links",
    operation_id = "listLinks",
    params(
        ("compliance" = Option<String>, Query, description = "Only links with this compliance (`Compliant`, `Degraded`, `Down`, `Unknown`)"),
        ("router" = Option<String>, Query, description = "Only links with an end at this router"),
    ),
    responses(
        (status = 200, description = "The links, by name", body = Vec<LinkSummary>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = InvalidInput),
    )
)]
pub async fn list_links(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<LinkSummary>>, ApiProblem> {
    authorize(&state, &caller).await?;
    let (compliance, router) = link_filters(query.as_deref())?;
    let mut links: Vec<LinkSummary> = all_links(&state)
        .await?
        .iter()
        .map(link_summary)
        .filter(|link| compliance.is_none_or(|c| link.compliance == c))
        .filter(|link| {
            router
                .as_deref()
                .is_none_or(|r| link.upstream == r || link.downstream == r)
        })
        .collect();
    links.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(links))
}

/// One link: contract, members at both ends, utilisation, reasons and conditions.
#[utoipa::path(
    get,
    path = "/v1/links/{name}",
    tag = "extranet links",
    operation_id = "getLink",
    params(("name" = String, Path, description = "The link")),
    responses(
        (status = 200, description = "The link", body = LinkView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<LinkView>, ApiProblem> {
    authorize(&state, &caller).await?;
    if !is_object_name(&name) {
        return Err(ApiProblem::not_found("extranet link"));
    }
    let link = Api::<ExtranetLink>::all(state.client().clone())
        .get_opt(&name)
        .await
        .map_err(|error| kube_problem("read the extranet link", &error))?
        .ok_or_else(|| ApiProblem::not_found("extranet link"))?;
    Ok(Json(link_view(&link)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_filters_name_the_parameter_at_fault() {
        assert_eq!(
            link_filters(Some("compliance=Degraded&router=hanbin-core")).ok(),
            Some((Some(Compliance::Degraded), Some("hanbin-core".to_owned())))
        );
        assert_eq!(link_filters(None).ok(), Some((None, None)));
        let error = link_filters(Some("compliance=degraded")).expect_err("lowercase");
        assert_eq!(error.field(), Some("compliance"));
        let error = link_filters(Some("router=Not_A_Name")).expect_err("a bad name");
        assert_eq!(error.field(), Some("router"));
    }
}
