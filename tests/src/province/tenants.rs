//! A city's tenants and their namespaces: one `Namespace` per tenant, labelled
//! `govcloud.io/tenant`, and the `Tenant` objects, parents before children, with the quotas
//! `quota::plan` computed. A department's units and a county's townships admit traffic from
//! their parent.

use serde_json::{Value, json};

use super::layout::{CityLayout, Level};
use super::quota::Amounts;

/// The label naming a namespace's tenant.
pub const TENANT_LABEL: &str = "govcloud.io/tenant";

/// The label naming a tenant's city (by its code).
pub const CITY_LABEL: &str = "govcloud.io/city";

/// Each tenant's default namespace (named after it).
pub fn namespaces(layout: &CityLayout) -> Vec<Value> {
    layout
        .tenants
        .iter()
        .map(|tenant| {
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": tenant.name,
                    "labels": {TENANT_LABEL: tenant.name, CITY_LABEL: layout.code},
                },
            })
        })
        .collect()
}

/// The `Tenant` objects, parents first.
pub fn tenants(layout: &CityLayout, quotas: &[Amounts]) -> Vec<Value> {
    layout
        .tenants
        .iter()
        .zip(quotas)
        .map(|(tenant, quota)| {
            let mut spec = json!({
                "displayName": tenant.display_name,
                "level": tenant.level.schema_name(),
                "divisionCode": tenant.division_code,
                "owners": [{"kind": "Group", "name": format!("{}:admins", tenant.name)}],
                "contact": {
                    "name": format!("{}信息中心", tenant.display_name),
                    "email": format!("{}-it@{}", tenant.name, layout.domain()),
                },
                "quota": quota.to_json(),
            });
            if let Some(parent) = tenant.parent {
                let parent_name = &layout.tenants[parent].name;
                spec["parent"] = json!(parent_name);
                if tenant.level == Level::Township || layout.tenants[parent].level != Level::City {
                    spec["allowTrafficFrom"] = json!([parent_name]);
                }
            }
            json!({
                "apiVersion": "govcloud.io/v1alpha1",
                "kind": "Tenant",
                "metadata": {
                    "name": tenant.name,
                    "labels": {"govcloud.io/level": tenant.level.label(), CITY_LABEL: layout.code},
                },
                "spec": spec,
            })
        })
        .collect()
}
