//! The tenant hierarchy as a synchronous index over every known tenant: parents, children,
//! cycles, and which tenant holds a namespace. Built from the controller's cache; pure.

use std::collections::BTreeMap;

use govcloud_crds::Tenant;

/// A tenant's link to its parent.
#[derive(Clone, Copy, Debug)]
pub enum ParentLink<'a> {
    /// A root tenant.
    None,
    /// The parent exists.
    Present(&'a Tenant),
    /// The tenant names a parent that does not exist (yet).
    Missing(&'a str),
}

/// Every known tenant, by name.
#[derive(Clone, Debug, Default)]
pub struct Hierarchy<'a> {
    tenants: BTreeMap<&'a str, &'a Tenant>,
}

fn name_of(tenant: &Tenant) -> Option<&str> {
    tenant.metadata.name.as_deref()
}

impl<'a> Hierarchy<'a> {
    /// Indexes `tenants`; a later tenant of the same name replaces an earlier one (pass the
    /// object being reconciled last, so that the freshest copy wins).
    pub fn new(tenants: impl IntoIterator<Item = &'a Tenant>) -> Self {
        let tenants = tenants
            .into_iter()
            .filter_map(|t| name_of(t).map(|n| (n, t)))
            .collect();
        Self { tenants }
    }

    /// The tenant called `name`.
    pub fn get(&self, name: &str) -> Option<&'a Tenant> {
        self.tenants.get(name).copied()
    }

    /// Every tenant, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a Tenant)> + '_ {
        self.tenants.iter().map(|(n, t)| (*n, *t))
    }

    /// The parent link of `tenant`.
    pub fn parent(&self, tenant: &'a Tenant) -> ParentLink<'a> {
        match tenant.spec.parent.as_deref() {
            None => ParentLink::None,
            Some(parent) => self
                .get(parent)
                .map_or(ParentLink::Missing(parent), ParentLink::Present),
        }
    }

    /// The direct children of `name`, by name.
    pub fn children(&self, name: &str) -> Vec<&'a Tenant> {
        self.tenants
            .iter()
            .filter(|(child, t)| **child != name && t.spec.parent.as_deref() == Some(name))
            .map(|(_, t)| *t)
            .collect()
    }

    /// The cycle `name` is part of, from `name` back to itself (`a → b → a`), if any. A tenant
    /// whose ancestors loop without it is not part of the cycle and gets `None`.
    pub fn cycle(&self, name: &str) -> Option<Vec<String>> {
        let mut path = vec![name.to_owned()];
        let mut current = self.get(name)?;
        loop {
            let parent = current.spec.parent.as_deref()?;
            if parent == name {
                path.push(name.to_owned());
                return Some(path);
            }
            if path.iter().any(|seen| seen == parent) {
                return None;
            }
            path.push(parent.to_owned());
            current = self.get(parent)?;
        }
    }

    /// The tenant that holds `namespace`: the tenant named like it (its default namespace);
    /// otherwise, of the tenants listing it in `spec.namespaces`, the oldest (then the first by
    /// name). `None` when no tenant claims it.
    pub fn namespace_holder(&self, namespace: &str) -> Option<&'a str> {
        if self.tenants.contains_key(namespace) {
            return self.tenants.get_key_value(namespace).map(|(n, _)| *n);
        }
        self.tenants
            .iter()
            .filter(|(_, t)| t.spec.namespaces.iter().any(|ns| ns.name == namespace))
            .min_by_key(|(name, t)| (t.metadata.creation_timestamp.as_ref().map(|c| c.0), **name))
            .map(|(name, _)| *name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::testing::tenant;

    #[test]
    fn parents_children_and_missing_parents() {
        let city = tenant("city", None, "100");
        let a = tenant("a", Some("city"), "10");
        let b = tenant("b", Some("city"), "10");
        let orphan = tenant("orphan", Some("gone"), "1");
        let all = [city.clone(), a.clone(), b, orphan.clone()];
        let hierarchy = Hierarchy::new(&all);
        let children: Vec<_> = hierarchy
            .children("city")
            .iter()
            .filter_map(|t| t.metadata.name.clone())
            .collect();
        assert_eq!(children, ["a", "b"]);
        assert!(matches!(
            hierarchy.parent(&all[1]),
            ParentLink::Present(p) if p.metadata.name.as_deref() == Some("city")
        ));
        assert!(matches!(hierarchy.parent(&all[0]), ParentLink::None));
        assert!(matches!(
            hierarchy.parent(&all[3]),
            ParentLink::Missing("gone")
        ));
        assert_eq!(hierarchy.cycle("a"), None);
        assert_eq!(hierarchy.cycle("orphan"), None);
    }

    #[test]
    fn cycles_are_named_from_the_tenant_back_to_itself() {
        let all = [
            tenant("a", Some("b"), "1"),
            tenant("b", Some("c"), "1"),
            tenant("c", Some("a"), "1"),
            tenant("d", Some("a"), "1"),
        ];
        let hierarchy = Hierarchy::new(&all);
        assert_eq!(
            hierarchy.cycle("a"),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        assert_eq!(
            hierarchy.cycle("b"),
            Some(vec!["b".into(), "c".into(), "a".into(), "b".into()])
        );
        assert_eq!(hierarchy.cycle("d"), None, "d hangs below the cycle");
    }

    #[test]
    fn namespace_holders() {
        let mut police = tenant("police", None, "1");
        police.spec.namespaces = vec![crate::tenancy::testing::share("video", 50)];
        let mut late = tenant("late", None, "1");
        late.spec.namespaces = vec![
            crate::tenancy::testing::share("video", 10),
            crate::tenancy::testing::share("police", 10),
        ];
        late.metadata.creation_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::from_second(2_000_000_000).expect("time"),
            ));
        let all = [police, late];
        let hierarchy = Hierarchy::new(&all);
        assert_eq!(hierarchy.namespace_holder("police"), Some("police"));
        assert_eq!(hierarchy.namespace_holder("video"), Some("police"));
        assert_eq!(hierarchy.namespace_holder("nobody"), None);
    }
}
