//! `GET /v1/whoami` and `GET /v1/tenants/{tenant}`: the caller, and a tenant's quota, usage,
//! namespaces and children as departments see them.

use axum::Json;
use axum::extract::{Path, State};
use govcloud_crds::Tenant;
use govcloud_crds::api::{ResourceFigures, Role as WireRole, TenantView, WhoAmI};
use govcloud_crds::common::ResourceList;
use govcloud_crds::quantity::ResourceKind;
use govcloud_crds::tenancy::tenant::TenantLevel;
use kube::Api;

use super::auth::Caller;
use super::input::is_object_name;
use super::openapi::{Forbidden, NotFound, Unauthorized};
use super::problem::ApiProblem;
use super::state::{AppState, kube_problem};
use crate::storage::Role;
use govcloud_core::conditions;

/// The wire form of a stored role.
pub fn wire_role(role: Role) -> WireRole {
    match role {
        Role::Viewer => WireRole::Viewer,
        Role::Editor => WireRole::Editor,
        Role::Operations => WireRole::Operations,
        Role::Auditor => WireRole::Auditor,
    }
}

/// The stored form of a wire role.
pub fn stored_role(role: WireRole) -> Role {
    match role {
        WireRole::Viewer => Role::Viewer,
        WireRole::Editor => Role::Editor,
        WireRole::Operations => Role::Operations,
        WireRole::Auditor => Role::Auditor,
    }
}

/// Who the token belongs to.
#[utoipa::path(
    get,
    path = "/v1/whoami",
    tag = "tokens",
    operation_id = "whoami",
    responses(
        (status = 200, description = "The caller's token", body = WhoAmI),
        (status = 401, response = Unauthorized),
    )
)]
pub async fn whoami(caller: Caller) -> Json<WhoAmI> {
    Json(WhoAmI {
        token_id: caller.token_id,
        tenant: caller.tenant,
        role: wire_role(caller.role),
        description: caller.description,
        expires_at: caller.expires_at,
    })
}

/// A tenant: quota, usage, namespaces and children.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}",
    tag = "tenants",
    operation_id = "getTenant",
    params(("tenant" = String, Path, description = "Tenant name")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<TenantView>, ApiProblem> {
    let hierarchy = state.hierarchy().await?;
    let scope = hierarchy.scope(&caller.tenant);
    if !is_object_name(&tenant) || !scope.sees(&tenant) {
        return Err(ApiProblem::not_found("tenant"));
    }
    let api: Api<Tenant> = Api::all(state.client().clone());
    let object = api
        .get_opt(&tenant)
        .await
        .map_err(|error| kube_problem("read the tenant", &error))?
        .ok_or_else(|| ApiProblem::not_found("tenant"))?;
    Ok(Json(tenant_view(&object, hierarchy.children(&tenant))))
}

/// The view of a tenant, pure.
pub fn tenant_view(tenant: &Tenant, children: Vec<String>) -> TenantView {
    let name = tenant.metadata.name.clone().unwrap_or_default();
    let status = tenant.status.clone().unwrap_or_default();
    let quota = &tenant.spec.quota;
    let resources = ResourceKind::ALL
        .into_iter()
        .map(|kind| {
            let key = kind.as_str();
            let spec = match kind {
                ResourceKind::Cpu => &quota.cpu,
                ResourceKind::Memory => &quota.memory,
                ResourceKind::Storage => &quota.storage,
            };
            let text = |list: &ResourceList| list.get(key).map(|q| q.0.clone());
            ResourceFigures {
                resource: key.to_owned(),
                hard: text(&status.hard).unwrap_or_else(|| spec.0.clone()),
                used: text(&status.used).unwrap_or_else(|| "0".to_owned()),
                delegated: text(&status.delegated),
            }
        })
        .collect();
    let namespaces = if status.namespaces.is_empty() {
        std::iter::once(name.clone())
            .chain(tenant.spec.namespaces.iter().map(|ns| ns.name.clone()))
            .collect()
    } else {
        status.namespaces.clone()
    };
    let ready_condition = status.conditions.iter().find(|c| c.type_ == "Ready");
    let ready = conditions::status_of(&status.conditions, "Ready") == Some("True");
    let message = match ready_condition {
        _ if ready => None,
        Some(condition) if !condition.message.is_empty() => Some(condition.message.clone()),
        Some(condition) => Some(condition.reason.clone()),
        None => Some("the controller has not reconciled the tenant yet".to_owned()),
    };
    TenantView {
        name,
        display_name: tenant.spec.display_name.clone(),
        level: level_name(tenant.spec.level).to_owned(),
        parent: tenant.spec.parent.clone(),
        children,
        namespaces,
        resources,
        ready,
        message,
    }
}

fn level_name(level: TenantLevel) -> &'static str {
    match level {
        TenantLevel::City => "City",
        TenantLevel::Department => "Department",
        TenantLevel::County => "County",
        TenantLevel::Township => "Township",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    fn finance() -> Tenant {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "govcloud.io/v1alpha1",
            "kind": "Tenant",
            "metadata": {"name": "city-finance"},
            "spec": {
                "displayName": "安康市财政局",
                "level": "Department",
                "parent": "ankang",
                "owners": [{"kind": "Group", "name": "finance-admins"}],
                "quota": {"cpu": "192", "memory": "768Gi", "storage": "60Ti"},
                "namespaces": [{"name": "finance-data", "quotaPercent": 40}]
            }
        }))
        .expect("tenant")
    }

    #[test]
    fn an_unreconciled_tenant_shows_its_spec() {
        let view = tenant_view(&finance(), vec![]);
        assert_eq!(view.name, "city-finance");
        assert_eq!(view.level, "Department");
        assert_eq!(view.parent.as_deref(), Some("ankang"));
        assert_eq!(view.namespaces, ["city-finance", "finance-data"]);
        assert_eq!(view.resources[0].resource, "cpu");
        assert_eq!(view.resources[0].hard, "192");
        assert_eq!(view.resources[0].used, "0");
        assert_eq!(view.resources[1].hard, "768Gi");
        assert!(!view.ready);
        assert!(view.message.is_some());
    }

    #[test]
    fn a_reconciled_tenant_shows_its_status() {
        let mut tenant = finance();
        let mut status = tenant.status.take().unwrap_or_default();
        status.namespaces = vec!["city-finance".into()];
        status.used.insert("cpu".into(), Quantity("12".into()));
        status.hard.insert("cpu".into(), Quantity("190".into()));
        status
            .delegated
            .insert("memory".into(), Quantity("1Gi".into()));
        status.conditions.push(Condition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "Reconciled".into(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        });
        tenant.status = Some(status);
        let view = tenant_view(&tenant, vec!["child".into()]);
        assert!(view.ready);
        assert_eq!(view.message, None);
        assert_eq!(view.children, ["child"]);
        assert_eq!(view.namespaces, ["city-finance"]);
        assert_eq!(view.resources[0].used, "12");
        assert_eq!(view.resources[0].hard, "190");
        assert_eq!(view.resources[1].delegated.as_deref(), Some("1Gi"));
    }
}
