//! Builders of tenants and quota requests for the planners' unit tests.

use govcloud_crds::common::{QuotaAmounts, ResourceAmounts};
use govcloud_crds::tenancy::quota_request::QuotaRequestSpec;
use govcloud_crds::tenancy::tenant::{
    OwnerKind, TenantLevel, TenantNamespace, TenantOwner, TenantSpec,
};
use govcloud_crds::{QuotaRequest, Tenant};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// A tenant with `cpu` cores, `cpu` GiB of memory and `cpu` TiB of storage.
pub fn tenant(name: &str, parent: Option<&str>, cpu: &str) -> Tenant {
    let mut tenant = Tenant::new(
        name,
        TenantSpec {
            display_name: name.to_uppercase(),
            level: if parent.is_some() {
                TenantLevel::Department
            } else {
                TenantLevel::City
            },
            division_code: None,
            parent: parent.map(str::to_owned),
            owners: vec![TenantOwner {
                kind: OwnerKind::Group,
                name: format!("{name}-admins"),
            }],
            contact: None,
            quota: QuotaAmounts {
                cpu: Quantity(cpu.to_owned()),
                memory: Quantity(format!("{cpu}Gi")),
                storage: Quantity(format!("{cpu}Ti")),
            },
            namespaces: Vec::new(),
            container_defaults: None,
            allow_traffic_from: Vec::new(),
        },
    );
    tenant.metadata.uid = Some(format!("uid-{name}"));
    tenant.metadata.generation = Some(1);
    tenant
}

/// An extra namespace with a share of the quota.
pub fn share(name: &str, percent: u8) -> TenantNamespace {
    TenantNamespace {
        name: name.to_owned(),
        quota_percent: percent,
    }
}

/// A request of `tenant` for `cpu` cores.
pub fn request(name: &str, tenant: &str, cpu: &str) -> QuotaRequest {
    let mut request = QuotaRequest::new(
        name,
        QuotaRequestSpec {
            tenant: tenant.to_owned(),
            requested: ResourceAmounts {
                cpu: Some(Quantity(cpu.to_owned())),
                memory: None,
                storage: None,
            },
            justification: "the new system needs more CPU".to_owned(),
            requested_by: Some("dept@example.org".to_owned()),
            valid_for: "1h".into(),
            approval: None,
        },
    );
    request.metadata.uid = Some(format!("uid-{name}"));
    request.metadata.generation = Some(1);
    request.metadata.creation_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(1_750_000_000).expect("time"),
        ));
    request
}
