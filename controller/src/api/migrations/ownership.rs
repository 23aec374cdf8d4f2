//! Which tenant owns a namespace, and so who sees the systems in it, pure.
//!
//! A tenant owns the namespaces in its `status.namespaces` (what the Tenant controller claimed);
//! until the controller has reconciled it, those its spec declares: the default namespace named
//! after the tenant and `spec.namespaces`. A claim in status wins over a declaration in a spec.
//! A token sees the systems in the namespaces of the tenants it sees; a token of a root tenant
//! also sees those in namespaces no tenant owns.

use std::collections::BTreeMap;
use std::sync::Arc;

use govcloud_crds::Tenant;

use super::super::scope::Scope;

/// Namespaces and the tenants owning them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ownership {
    owners: BTreeMap<String, String>,
}

impl Ownership {
    /// The ownership the tenants describe.
    pub fn new(tenants: &[Arc<Tenant>]) -> Self {
        let mut owners = BTreeMap::new();
        let named = || {
            tenants
                .iter()
                .filter_map(|tenant| Some((tenant.metadata.name.as_deref()?, tenant)))
        };
        for (name, tenant) in named() {
            let claimed = tenant.status.iter().flat_map(|status| &status.namespaces);
            for namespace in claimed {
                owners
                    .entry(namespace.clone())
                    .or_insert_with(|| name.to_owned());
            }
        }
        for (name, tenant) in named() {
            let declared = std::iter::once(name)
                .chain(tenant.spec.namespaces.iter().map(|ns| ns.name.as_str()));
            for namespace in declared {
                owners
                    .entry(namespace.to_owned())
                    .or_insert_with(|| name.to_owned());
            }
        }
        Self { owners }
    }

    /// The tenant owning `namespace`, if one does.
    pub fn owner(&self, namespace: &str) -> Option<&str> {
        self.owners.get(namespace).map(String::as_str)
    }

    /// Whether a token of `scope` sees the systems in `namespace`.
    pub fn sees(&self, scope: &Scope, namespace: &str) -> bool {
        match self.owner(namespace) {
            Some(tenant) => scope.sees(tenant),
            None => scope.is_root(),
        }
    }

    /// Whether a token of `scope` sees the system `namespace/name`, given as such.
    pub fn sees_key(&self, scope: &Scope, key: &str) -> bool {
        key.split_once('/')
            .is_some_and(|(namespace, _)| self.sees(scope, namespace))
    }
}

#[cfg(test)]
mod tests {
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
