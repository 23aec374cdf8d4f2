//! RBAC `PolicyRule`s against the table: the grants a set of rules makes, the rules the table
//! makes, and what is missing or extra either way.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::api::rbac::v1::PolicyRule;

use super::table::{Permission, Scope};

/// One thing a rule grants: a verb on a resource of a group, for one object name or (`None`)
/// every name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    /// API group; `""` is the core group.
    pub group: String,
    /// Resource, with `/subresource`.
    pub resource: String,
    /// The one object name it is limited to, if any.
    pub name: Option<String>,
    /// The verb.
    pub verb: String,
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        write!(f, "({group}, {}, {})", self.resource, self.verb)?;
        if let Some(name) = &self.name {
            write!(f, " on {name} only")?;
        }
        Ok(())
    }
}

impl Grant {
    /// Whether `self` allows everything `other` does.
    fn covers(&self, other: &Self) -> bool {
        self.group == other.group
            && self.resource == other.resource
            && self.verb == other.verb
            && (self.name.is_none() || self.name == other.name)
    }
}

/// A rule the comparison cannot take as least privilege.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A wildcard grants more than any list can say.
    #[error("rule {index} has the wildcard `*` in {field}: a least-privilege rule names each")]
    Wildcard { index: usize, field: &'static str },
    /// Non-resource URLs: the controller needs none beyond what every user has.
    #[error(
        "rule {index} grants non-resource URLs ({urls}): the controller needs none beyond the \
         discovery every authenticated user has"
    )]
    NonResource { index: usize, urls: String },
}

/// Everything `rules` grant, one [`Grant`] per group, resource, name and verb.
pub fn grants_of_rules(rules: &[PolicyRule]) -> Result<BTreeSet<Grant>, RuleError> {
    let mut grants = BTreeSet::new();
    for (index, rule) in rules.iter().enumerate() {
        if let Some(urls) = rule.non_resource_urls.as_ref().filter(|u| !u.is_empty()) {
            return Err(RuleError::NonResource {
                index,
                urls: urls.join(", "),
            });
        }
        let groups = rule.api_groups.clone().unwrap_or_default();
        let resources = rule.resources.clone().unwrap_or_default();
        let names = rule.resource_names.clone().unwrap_or_default();
        for (field, values) in [
            ("apiGroups", &groups),
            ("resources", &resources),
            ("resourceNames", &names),
            ("verbs", &rule.verbs),
        ] {
            if values.iter().any(|v| v.contains('*')) {
                return Err(RuleError::Wildcard { index, field });
            }
        }
        let names: Vec<Option<String>> = if names.is_empty() {
            vec![None]
        } else {
            names.into_iter().map(Some).collect()
        };
        for group in &groups {
            for resource in &resources {
                for name in &names {
                    for verb in &rule.verbs {
                        grants.insert(Grant {
                            group: group.clone(),
                            resource: resource.clone(),
                            name: name.clone(),
                            verb: verb.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(grants)
}

/// Everything `table` grants in `scope`.
pub fn grants_of_table(table: &[Permission], scope: Scope) -> BTreeSet<Grant> {
    grants_of_rules(&policy_rules(table, scope)).unwrap_or_default()
}

/// The entries of `table` in `scope` as RBAC rules: one per group, resource and resource names,
/// verbs sorted, sorted by group then resource (the chart's layout).
pub fn policy_rules(table: &[Permission], scope: Scope) -> Vec<PolicyRule> {
    let mut merged: BTreeMap<(&str, &str, Vec<&str>), BTreeSet<&str>> = BTreeMap::new();
    for permission in table.iter().filter(|p| p.scope == scope) {
        let mut names = permission.resource_names.to_vec();
        names.sort_unstable();
        merged
            .entry((permission.group, permission.resource, names))
            .or_default()
            .extend(permission.verbs.iter().map(|v| v.as_str()));
    }
    let owned = |list: Vec<&str>| list.into_iter().map(str::to_owned).collect::<Vec<_>>();
    merged
        .into_iter()
        .map(|((group, resource, names), verbs)| PolicyRule {
            api_groups: Some(vec![group.to_owned()]),
            resources: Some(vec![resource.to_owned()]),
            resource_names: (!names.is_empty()).then(|| owned(names)),
            verbs: owned(verbs.into_iter().collect()),
            non_resource_urls: None,
        })
        .collect()
}

/// How a set of rules differs from the table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleDiff {
    /// What the table grants and the rules do not.
    pub missing: Vec<Grant>,
    /// What the rules grant beyond the table.
    pub extra: Vec<Grant>,
}

impl RuleDiff {
    /// Whether the rules grant exactly the table.
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty()
    }
}

impl fmt::Display for RuleDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for grant in &self.missing {
            writeln!(f, "missing: {grant}")?;
        }
        for grant in &self.extra {
            writeln!(f, "extra: {grant}")?;
        }
        Ok(())
    }
}

/// Compares `rules` with the entries of `table` in `scope`, both ways: what the table grants
/// that no rule allows, and what a rule allows beyond the table (a rule without resource names
/// where the table has some is extra).
pub fn compare(
    table: &[Permission],
    scope: Scope,
    rules: &[PolicyRule],
) -> Result<RuleDiff, RuleError> {
    let granted = grants_of_rules(rules)?;
    let wanted = grants_of_table(table, scope);
    Ok(RuleDiff {
        missing: wanted
            .iter()
            .filter(|w| !granted.iter().any(|g| g.covers(w)))
            .cloned()
            .collect(),
        extra: granted
            .iter()
            .filter(|g| !wanted.iter().any(|w| w.covers(g)))
            .cloned()
            .collect(),
    })
}
