//! Which tenant owns a namespace, pure: a tenant owns the namespaces in its `status.namespaces`
//! (what the Tenant controller claimed); until the controller has reconciled it, those its spec
//! declares (the default namespace named after the tenant and `spec.namespaces`). A claim in
//! status wins over a declaration in a spec. The API's visibility and the migration
//! controllers' per-tenant figures both read it.

use std::collections::BTreeMap;
use std::sync::Arc;

use govcloud_crds::Tenant;

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
}
