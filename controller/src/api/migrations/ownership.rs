//! Who sees the systems in a namespace, pure: a token sees the systems in the namespaces of
//! the tenants it sees (ownership: [`Ownership`]); a token of a root tenant also sees those in
//! namespaces no tenant owns.

pub use govcloud_core::tenancy::ownership::Ownership;

use super::super::scope::Scope;

/// What a scope sees of the namespaces an [`Ownership`] maps.
pub trait SeesNamespaces {
    /// Whether a token of `scope` sees the systems in `namespace`.
    fn sees(&self, scope: &Scope, namespace: &str) -> bool;
    /// Whether a token of `scope` sees the system `namespace/name`, given as such.
    fn sees_key(&self, scope: &Scope, key: &str) -> bool;
}

impl SeesNamespaces for Ownership {
    fn sees(&self, scope: &Scope, namespace: &str) -> bool {
        match self.owner(namespace) {
            Some(tenant) => scope.sees(tenant),
            None => scope.is_root(),
        }
    }

    fn sees_key(&self, scope: &Scope, key: &str) -> bool {
        key.split_once('/')
            .is_some_and(|(namespace, _)| self.sees(scope, namespace))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use govcloud_crds::Tenant;

    use super::*;
    use crate::api::scope::Hierarchy;

    fn tenant(name: &str, parent: Option<&str>, extra: &[&str], claimed: &[&str]) -> Arc<Tenant> {
        let mut tenant: Tenant = serde_json::from_value(serde_json::json!({
            "apiVersion": "govcloud.io/v1alpha1",
            "kind": "Tenant",
            "metadata": {"name": name},
            "spec": {
                "displayName": name,
                "level": if parent.is_some() { "Department" } else { "City" },
                "parent": parent,
                "owners": [{"kind": "Group", "name": "admins"}],
                "quota": {"cpu": "1", "memory": "1Gi", "storage": "1Gi"},
                "namespaces": extra.iter().map(|n| serde_json::json!({"name": n, "quotaPercent": 10})).collect::<Vec<_>>(),
            }
        }))
        .expect("tenant");
        if !claimed.is_empty() {
            let mut status = tenant.status.take().unwrap_or_default();
            status.namespaces = claimed.iter().map(|n| (*n).to_owned()).collect();
            tenant.status = Some(status);
        }
        Arc::new(tenant)
    }

    #[test]
    fn namespaces_belong_to_their_tenants_and_claims_win() {
        let tenants = [
            tenant("ankang", None, &[], &[]),
            tenant(
                "city-services",
                Some("ankang"),
                &["city-services-hotline"],
                &[],
            ),
            tenant("hanbin", Some("ankang"), &["shared"], &["hanbin"]),
            tenant(
                "city-finance",
                Some("ankang"),
                &[],
                &["city-finance", "shared"],
            ),
        ];
        let ownership = Ownership::new(&tenants);
        assert_eq!(
            ownership.owner("city-services-hotline"),
            Some("city-services")
        );
        assert_eq!(ownership.owner("shared"), Some("city-finance"));
        assert_eq!(ownership.owner("kube-system"), None);
        let hierarchy = Hierarchy::new([
            ("ankang", None),
            ("city-services", Some("ankang")),
            ("hanbin", Some("ankang")),
            ("city-finance", Some("ankang")),
        ]);
        let services = hierarchy.scope("city-services");
        assert!(ownership.sees(&services, "city-services-hotline"));
        assert!(!ownership.sees(&services, "hanbin"));
        assert!(!ownership.sees(&services, "kube-system"));
        assert!(ownership.sees_key(&services, "city-services/doc-exchange"));
        assert!(!ownership.sees_key(&services, "hanbin/grid"));
        assert!(!ownership.sees_key(&services, "no-slash"));
        let root = hierarchy.scope("ankang");
        assert!(ownership.sees(&root, "hanbin") && ownership.sees(&root, "kube-system"));
    }
}
