//! Visibility, pure: which tenants a token sees, from the tenants' `spec.parent` links.
//!
//! A token scoped to tenant T sees T and its descendants. A token whose tenant does not exist
//! sees nothing, and a parent cycle (refused at admission, but possible in a cluster that bypassed it)
//! never makes a tenant its own descendant more than once or loops.

use std::collections::{BTreeMap, BTreeSet};

/// The tenant hierarchy: every tenant and its parent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hierarchy {
    parents: BTreeMap<String, Option<String>>,
    children: BTreeMap<String, BTreeSet<String>>,
}

impl Hierarchy {
    /// The hierarchy of `(name, parent)` pairs.
    pub fn new<'a>(tenants: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Self {
        let mut hierarchy = Self::default();
        for (name, parent) in tenants {
            hierarchy
                .parents
                .insert(name.to_owned(), parent.map(str::to_owned));
            if let Some(parent) = parent {
                hierarchy
                    .children
                    .entry(parent.to_owned())
                    .or_default()
                    .insert(name.to_owned());
            }
        }
        hierarchy
    }

    /// Whether the tenant exists.
    pub fn contains(&self, tenant: &str) -> bool {
        self.parents.contains_key(tenant)
    }

    /// The direct children of `tenant` that exist, by name.
    pub fn children(&self, tenant: &str) -> Vec<String> {
        self.children
            .get(tenant)
            .into_iter()
            .flatten()
            .filter(|child| self.contains(child))
            .cloned()
            .collect()
    }

    /// What a token scoped to `tenant` sees.
    pub fn scope(&self, tenant: &str) -> Scope {
        let mut visible = BTreeSet::new();
        if self.contains(tenant) {
            let mut pending = vec![tenant.to_owned()];
            while let Some(next) = pending.pop() {
                if visible.insert(next.clone()) {
                    pending.extend(self.children(&next));
                }
            }
        }
        let root = self.parents.get(tenant).is_some_and(Option::is_none);
        Scope {
            tenant: tenant.to_owned(),
            visible,
            root,
        }
    }
}

/// What one token sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    tenant: String,
    visible: BTreeSet<String>,
    root: bool,
}

impl Scope {
    /// Whether `tenant` is the token's tenant or one of its descendants.
    pub fn sees(&self, tenant: &str) -> bool {
        self.visible.contains(tenant)
    }

    /// Whether `tenant` lies strictly below the token's tenant.
    pub fn is_below(&self, tenant: &str) -> bool {
        tenant != self.tenant && self.sees(tenant)
    }

    /// Whether the token's tenant is a root of the hierarchy (it names no parent; a tenant
    /// whose parent is missing is no root).
    pub fn is_root(&self) -> bool {
        self.root
    }

    /// Whether an audit record of `tenant` is visible: one of a visible tenant; and for a
    /// token of a root, also one of no tenant or of a tenant that no longer exists (history).
    pub fn sees_record_of(&self, tenant: Option<&str>, hierarchy: &Hierarchy) -> bool {
        match tenant {
            Some(tenant) => self.sees(tenant) || (self.root && !hierarchy.contains(tenant)),
            None => self.root,
        }
    }

    /// The visible tenants, in name order.
    pub fn tenants(&self) -> impl Iterator<Item = &str> {
        self.visible.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ankang() -> Hierarchy {
        Hierarchy::new([
            ("ankang", None),
            ("city-finance", Some("ankang")),
            ("hanbin", Some("ankang")),
            ("hanbin-xinchengjie", Some("hanbin")),
            ("orphan", Some("gone")),
        ])
    }

    #[test]
    fn a_token_sees_its_tenant_and_descendants() {
        let hierarchy = ankang();
        let root = hierarchy.scope("ankang");
        assert!(root.is_root());
        assert_eq!(
            root.tenants().collect::<Vec<_>>(),
            ["ankang", "city-finance", "hanbin", "hanbin-xinchengjie"]
        );
        let county = hierarchy.scope("hanbin");
        assert!(!county.is_root());
        assert!(county.sees("hanbin") && county.sees("hanbin-xinchengjie"));
        assert!(!county.sees("ankang") && !county.sees("city-finance"));
        assert!(county.is_below("hanbin-xinchengjie") && !county.is_below("hanbin"));
        assert!(!county.sees_record_of(None, &hierarchy));
        assert!(!county.sees_record_of(Some("deleted"), &hierarchy));
        assert!(!county.sees_record_of(Some("ankang"), &hierarchy));
        assert!(county.sees_record_of(Some("hanbin-xinchengjie"), &hierarchy));
        assert!(root.sees_record_of(None, &hierarchy));
        assert!(root.sees_record_of(Some("deleted"), &hierarchy));
        assert_eq!(hierarchy.children("hanbin"), ["hanbin-xinchengjie"]);
    }

    #[test]
    fn missing_tenants_see_nothing_and_orphans_are_no_roots() {
        let hierarchy = ankang();
        let missing = hierarchy.scope("nowhere");
        assert_eq!(missing.tenants().count(), 0);
        assert!(!missing.is_root() && !missing.sees_record_of(None, &hierarchy));
        let orphan = hierarchy.scope("orphan");
        assert!(!orphan.is_root() && orphan.sees("orphan"));
        assert!(!orphan.sees_record_of(Some("deleted"), &hierarchy));
    }

    #[test]
    fn cycles_terminate() {
        let hierarchy = Hierarchy::new([("a", Some("b")), ("b", Some("a")), ("c", Some("a"))]);
        let scope = hierarchy.scope("a");
        assert_eq!(scope.tenants().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(!scope.is_root());
    }
}
