//! Label and field selectors as conditions of the list query, answered from the `labels` index
//! and the key columns, so that a selective list reads only the rows it returns.
//!
//! Every requirement becomes one condition on the object's id, with Kubernetes' meaning of an
//! absent label: `=` and `in` need the label with one of the values; `!=` and `notin` exclude
//! objects that have it with one of the values (so objects without it are kept); `key` and
//! `!key` test presence. `>` and `<` compare integers, which SQL cannot parse as Go does: they
//! are pushed down as presence only, and the caller checks them exactly. Field selectors on
//! `metadata.name` and `metadata.namespace` compare the key columns.

use sqlx::{QueryBuilder, Sqlite};

use crate::selector::{FieldSelector, LabelSelector, Operator, Requirement, SelectableField};

/// What a list selects, beyond its resource and namespace.
#[derive(Clone, Copy, Debug, Default)]
pub struct Selection<'a> {
    /// Label requirements, all of which must hold.
    pub labels: Option<&'a LabelSelector>,
    /// Field terms, all of which must hold.
    pub fields: Option<&'a FieldSelector>,
}

impl Selection<'_> {
    /// Whether the rows the query returns are exactly the selected ones (no `>`/`<`
    /// requirement, which is pushed down as presence only).
    pub fn is_exact(&self) -> bool {
        self.labels.is_none_or(|labels| {
            labels
                .requirements()
                .iter()
                .all(|r| !matches!(r.operator, Operator::GreaterThan | Operator::LessThan))
        })
    }

    /// Appends ` AND …` conditions selecting rows of `objects` (aliased to nothing: the columns
    /// `id`, `namespace` and `name`) to `query`.
    pub fn push_conditions(&self, query: &mut QueryBuilder<Sqlite>) {
        for requirement in self
            .labels
            .map(LabelSelector::requirements)
            .unwrap_or_default()
        {
            push_requirement(query, requirement);
        }
        for term in self.fields.map(FieldSelector::terms).unwrap_or_default() {
            let column = match term.field {
                SelectableField::Name => "name",
                SelectableField::Namespace => "namespace",
            };
            let operator = if term.negated { "!=" } else { "=" };
            query
                .push(format!(" AND {column} {operator} "))
                .push_bind(term.value.clone());
        }
    }
}

fn push_requirement(query: &mut QueryBuilder<Sqlite>, requirement: &Requirement) {
    let (negated, with_values) = match requirement.operator {
        Operator::Equals | Operator::In => (false, true),
        Operator::NotEquals | Operator::NotIn => (true, true),
        Operator::Exists | Operator::GreaterThan | Operator::LessThan => (false, false),
        Operator::DoesNotExist => (true, false),
    };
    if with_values && requirement.values.is_empty() {
        // No value can match (the parser never produces this): `in` selects nothing, `notin`
        // everything.
        if !negated {
            query.push(" AND 0");
        }
        return;
    }
    query
        .push(if negated {
            " AND id NOT IN"
        } else {
            " AND id IN"
        })
        .push(" (SELECT object FROM labels WHERE key = ")
        .push_bind(requirement.key.clone());
    if with_values {
        query.push(" AND value IN (");
        let mut values = query.separated(", ");
        for value in &requirement.values {
            values.push_bind(value.clone());
        }
        values.push_unseparated(")");
    }
    query.push(")");
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::selector::labels_of;
    use crate::store::{ListQuery, ObjectKey, Store};

    const RESOURCE: &str = "example.com/widgets";

    /// A mixed set: labels present, absent, empty, non-string, in two namespaces.
    fn objects() -> Vec<Value> {
        let labelled = [
            (
                "a",
                "ns1",
                json!({"app": "web", "env": "prod", "replicas": "3"}),
            ),
            ("b", "ns1", json!({"app": "web", "env": "dev"})),
            (
                "c",
                "ns1",
                json!({"app": "db", "tier": "", "replicas": "10"}),
            ),
            ("d", "ns2", json!({"env": "prod", "legacy": "yes"})),
            ("e", "ns2", json!({})),
            ("f", "ns2", Value::Null),
            ("g", "ns2", json!({"app": 7, "env": "test"})),
            ("h", "ns3", json!({"example.com/team": "a", "app": "web"})),
        ];
        labelled
            .into_iter()
            .map(|(name, namespace, labels)| {
                let mut object = json!({"metadata": {"name": name, "namespace": namespace}});
                if !labels.is_null() {
                    object["metadata"]["labels"] = labels;
                }
                object
            })
            .collect()
    }

    fn name(object: &Value) -> String {
        object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    #[tokio::test]
    #[allow(clippy::too_many_lines)] // one table of cases and its expectations
    async fn pushed_down_selectors_select_what_the_selectors_match() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("state.db"))
            .await
            .expect("open");
        let all = objects();
        for object in &all {
            let key = ObjectKey {
                resource: RESOURCE.into(),
                namespace: object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
                name: name(object),
            };
            store
                .put(&key, object.clone(), None)
                .await
                .expect("put")
                .expect("created");
        }
        let label_selectors = [
            "",
            "app=web",
            "app==web",
            "app!=web",
            "app in (web,db)",
            "app notin (web)",
            "app notin (web,db)",
            "app",
            "!app",
            "!legacy",
            "tier=",
            "tier",
            "app=",
            "env in (prod),!legacy",
            "env notin (prod,dev),app",
            "replicas>5",
            "replicas<5",
            "example.com/team=a",
            "app=web,env!=dev",
            "missing notin (x)",
            "missing in (x)",
        ];
        let field_selectors = [
            "",
            "metadata.name=a",
            "metadata.name!=a",
            "metadata.namespace=ns2",
            "metadata.namespace!=ns1,metadata.name!=e",
        ];
        for labels in label_selectors {
            for fields in field_selectors {
                let label_selector = LabelSelector::parse(labels).expect("labels parse");
                let field_selector = FieldSelector::parse(fields).expect("fields parse");
                let expected: Vec<String> = all
                    .iter()
                    .filter(|o| label_selector.matches(&labels_of(o)) && field_selector.matches(o))
                    .map(name)
                    .collect();
                let selection = Selection {
                    labels: Some(&label_selector),
                    fields: Some(&field_selector),
                };
                for namespace in [None, Some("ns2")] {
                    let (rows, _) = store
                        .list_selected(&ListQuery {
                            resource: RESOURCE,
                            namespace,
                            after: None,
                            limit: None,
                            selection,
                        })
                        .await
                        .expect("list");
                    let mut selected: Vec<String> = rows
                        .iter()
                        .filter(|s| {
                            selection.is_exact() || label_selector.matches(&labels_of(&s.object))
                        })
                        .map(|s| name(&s.object))
                        .collect();
                    selected.sort();
                    let in_namespace: Vec<String> = expected
                        .iter()
                        .filter(|n| {
                            namespace.is_none()
                                || all
                                    .iter()
                                    .any(|o| name(o) == **n && o["metadata"]["namespace"] == "ns2")
                        })
                        .cloned()
                        .collect();
                    assert_eq!(
                        selected, in_namespace,
                        "labels {labels:?}, fields {fields:?}, namespace {namespace:?}"
                    );
                }
            }
        }
        // The index follows label changes and deletions.
        let key = ObjectKey {
            resource: RESOURCE.into(),
            namespace: "ns1".into(),
            name: "a".into(),
        };
        let current = store.get(&key).await.expect("get").expect("present");
        let mut relabelled = current.object.clone();
        relabelled["metadata"]["labels"] = json!({"app": "db"});
        store
            .put(&key, relabelled, Some(current.resource_version))
            .await
            .expect("put")
            .expect("updated");
        let web = LabelSelector::parse("app=web").expect("parse");
        let db = LabelSelector::parse("app=db").expect("parse");
        let names = async |selector: &LabelSelector| {
            let (rows, _) = store
                .list_selected(&ListQuery {
                    resource: RESOURCE,
                    namespace: None,
                    after: None,
                    limit: None,
                    selection: Selection {
                        labels: Some(selector),
                        fields: None,
                    },
                })
                .await
                .expect("list");
            rows.iter().map(|s| name(&s.object)).collect::<Vec<_>>()
        };
        assert_eq!(names(&web).await, ["b", "h"]);
        assert_eq!(names(&db).await, ["a", "c"]);
        let current = store.get(&key).await.expect("get").expect("present");
        store
            .delete(&key, current.resource_version)
            .await
            .expect("delete")
            .expect("deleted");
        assert_eq!(names(&db).await, ["c"]);
        let orphans: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM labels WHERE object NOT IN (SELECT id FROM objects)",
        )
        .fetch_one(&store.pool)
        .await
        .expect("count");
        assert_eq!(orphans, 0, "a deleted object's labels go with it");
    }
}
