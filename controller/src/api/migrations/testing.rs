//! Fixtures of the migration API's unit tests.

use govcloud_crds::SystemMigration;

/// An unclassified system `namespace/name` with two manual steps: `migrate` (with a manual
/// rollback) and `verify`.
pub fn system(namespace: &str, name: &str) -> SystemMigration {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "SystemMigration",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "displayName": "工资发放系统",
            "classification": "Unclassified",
            "source": {"site": "市财政局机房", "platform": "VirtualMachine", "hosts": 2},
            "resources": {"cpu": "4", "memory": "16Gi"},
            "steps": [
                {
                    "name": "migrate",
                    "run": {"type": "Manual", "manual": {"instructions": "Move the data."}},
                    "rollback": {"type": "Manual", "manual": {"instructions": "Move it back."}}
                },
                {
                    "name": "verify",
                    "run": {"type": "Manual", "manual": {"instructions": "Check it works."}}
                }
            ]
        }
    }))
    .expect("a valid system")
}

/// A tenant `name` with no extra namespaces and no status.
pub fn tenant(name: &str) -> std::sync::Arc<govcloud_crds::Tenant> {
    std::sync::Arc::new(
        serde_json::from_value(serde_json::json!({
            "apiVersion": "govcloud.io/v1alpha1",
            "kind": "Tenant",
            "metadata": {"name": name},
            "spec": {
                "displayName": name,
                "level": "Department",
                "owners": [{"kind": "Group", "name": "admins"}],
                "quota": {"cpu": "1", "memory": "1Gi", "storage": "1Gi"},
            }
        }))
        .expect("a valid tenant"),
    )
}

/// The ownership of tenants each owning the namespace of its name.
pub fn ownership(tenants: &[&str]) -> super::ownership::Ownership {
    let tenants: Vec<_> = tenants.iter().map(|name| tenant(name)).collect();
    super::ownership::Ownership::new(&tenants)
}
