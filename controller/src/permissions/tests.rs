//! The table's least-privilege choices, request matching, rule comparison and the audit-log
//! reader, with plain values.

use k8s_openapi::api::rbac::v1::PolicyRule;
use serde_json::Value;

use super::table::{GOVCLOUD, RBAC};
use super::*;
use Verb::{Bind, Create, Delete, Get};

fn request(verb: &str, group: &str, resource: &str) -> Request {
    let (resource, subresource) = match resource.split_once('/') {
        Some((r, s)) => (r, Some(s.to_owned())),
        None => (resource, None),
    };
    Request {
        verb: verb.to_owned(),
        group: group.to_owned(),
        resource: resource.to_owned(),
        subresource,
        namespace: None,
        name: None,
    }
}

fn named(mut request: Request, namespace: Option<&str>, name: &str) -> Request {
    request.namespace = namespace.map(str::to_owned);
    request.name = Some(name.to_owned());
    request
}

#[test]
fn the_table_is_sorted_with_sorted_verbs_and_a_reason_each() {
    let keys: Vec<_> = CONTROLLER
        .iter()
        .map(|p| (p.scope, p.group, p.resource, p.resource_names))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by scope, group, resource");
    let mut unique = keys.clone();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "one entry per resource and names");
    for permission in CONTROLLER {
        let mut verbs = permission.verbs.to_vec();
        verbs.sort();
        verbs.dedup();
        assert_eq!(verbs, permission.verbs, "{}", permission.resource);
        assert!(!permission.verbs.is_empty(), "{}", permission.resource);
        assert!(permission.why.len() > 40, "{}", permission.resource);
    }
}

#[test]
fn least_privilege_choices_hold() {
    let verbs = |group: &str, resource: &str| -> Vec<Verb> {
        CONTROLLER
            .iter()
            .filter(|p| p.group == group && p.resource == resource)
            .flat_map(|p| p.verbs.iter().copied())
            .collect()
    };
    assert_eq!(verbs("", "secrets"), [Get], "Secrets are only read by name");
    let roles: Vec<_> = CONTROLLER
        .iter()
        .filter(|p| p.resource == "clusterroles")
        .collect();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].verbs, [Bind]);
    assert_eq!(roles[0].resource_names, [TENANT_ADMIN_ROLE]);
    assert_eq!(
        TENANT_ADMIN_ROLE,
        govcloud_core::tenancy::plan::tenant_admin_role()
            .metadata
            .name
            .as_deref()
            .unwrap_or_default()
    );
    for permission in CONTROLLER {
        assert!(
            !permission.verbs.contains(&Delete)
                || ["quotarequests", "systemmigrations"].contains(&permission.resource),
            "{} deletes",
            permission.resource
        );
        if permission.group == "coordination.k8s.io" {
            assert_eq!(permission.scope, Scope::OwnNamespace);
        } else {
            assert_eq!(permission.scope, Scope::Cluster, "{}", permission.resource);
        }
    }
}

#[test]
fn requests_are_allowed_by_group_resource_verb_scope_and_name() {
    let t = CONTROLLER;
    assert!(allows(t, &request("get", "", "secrets"), "gov"));
    assert!(!allows(t, &request("list", "", "secrets"), "gov"));
    assert!(!allows(t, &request("get", "apps", "secrets"), "gov"));
    assert!(allows(
        t,
        &request("patch", GOVCLOUD, "tenants/status"),
        "gov"
    ));
    assert!(!allows(
        t,
        &request("update", GOVCLOUD, "tenants/status"),
        "gov"
    ));
    assert!(!allows(
        t,
        &request("get", GOVCLOUD, "tenants/scale"),
        "gov"
    ));
    // The lease: create anywhere in the own namespace, get and update on its name only.
    let leases = request("create", "coordination.k8s.io", "leases");
    let own = Request {
        namespace: Some("gov".to_owned()),
        ..leases.clone()
    };
    assert!(allows(t, &own, "gov"));
    assert!(!allows(t, &own, "other"), "another namespace");
    assert!(!allows(t, &leases, "gov"), "cluster-wide");
    let get = request("get", "coordination.k8s.io", "leases");
    assert!(allows(
        t,
        &named(get.clone(), Some("gov"), "govcloud-controller"),
        "gov"
    ));
    assert!(!allows(
        t,
        &named(get.clone(), Some("gov"), "other-lease"),
        "gov"
    ));
    assert!(!allows(
        t,
        &named(get, Some("kube-system"), "govcloud-controller"),
        "gov"
    ));
    // Bind on one role only; a request without a name never matches names.
    let bind = request("bind", RBAC, "clusterroles");
    assert!(allows(
        t,
        &named(bind.clone(), None, TENANT_ADMIN_ROLE),
        "gov"
    ));
    assert!(!allows(
        t,
        &named(bind.clone(), None, "cluster-admin"),
        "gov"
    ));
    assert!(!allows(t, &bind, "gov"));
    // Owner references without blockOwnerDeletion need nothing on the owner's finalizers.
    assert!(!allows(
        t,
        &named(request("update", GOVCLOUD, "tenants/finalizers"), None, "a"),
        "gov"
    ));
}

#[test]
fn public_paths_are_discovery_and_version_reads() {
    assert!(public_non_resource("get", "/version"));
    assert!(public_non_resource("get", "/apis/govcloud.io/v1alpha1"));
    assert!(public_non_resource("get", "/openapi/v3"));
    assert!(!public_non_resource("post", "/version"));
    assert!(!public_non_resource("get", "/metrics"));
    assert!(!public_non_resource("get", "/versions"));
}

fn rule(groups: &[&str], resources: &[&str], names: &[&str], verbs: &[&str]) -> PolicyRule {
    let owned = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(owned(groups)),
        resources: Some(owned(resources)),
        resource_names: (!names.is_empty()).then(|| owned(names)),
        verbs: owned(verbs),
        non_resource_urls: None,
    }
}

#[test]
fn the_tables_own_rules_compare_equal_in_each_scope() {
    for scope in [Scope::Cluster, Scope::OwnNamespace] {
        let rules = policy_rules(CONTROLLER, scope);
        let diff = compare(CONTROLLER, scope, &rules).expect("no wildcard");
        assert!(diff.is_empty(), "{scope:?}: {diff}");
    }
    let namespaced = policy_rules(CONTROLLER, Scope::OwnNamespace);
    assert_eq!(
        namespaced,
        [
            rule(&["coordination.k8s.io"], &["leases"], &[], &["create"]),
            rule(
                &["coordination.k8s.io"],
                &["leases"],
                &["govcloud-controller"],
                &["get", "update"]
            ),
        ]
    );
}

#[test]
fn comparison_names_what_is_missing_and_extra_both_ways() {
    let mut rules = policy_rules(CONTROLLER, Scope::Cluster);
    // Secrets: list too (extra); jobs: no create (missing); grouped rules are fine.
    rules.retain(|r| {
        r.resources.as_deref() != Some(&["secrets".to_owned()])
            && r.resources.as_deref() != Some(&["jobs".to_owned()])
    });
    rules.push(rule(&[""], &["secrets"], &[], &["get", "list"]));
    rules.push(rule(&["batch"], &["jobs"], &[], &["get", "list", "watch"]));
    let diff = compare(CONTROLLER, Scope::Cluster, &rules).expect("no wildcard");
    let show = |grants: &[Grant]| grants.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(show(&diff.missing), ["(batch, jobs, create)"]);
    assert_eq!(show(&diff.extra), ["(core, secrets, list)"]);
    assert!(
        diff.to_string()
            .contains("missing: (batch, jobs, create)\n")
    );
    // A rule without names where the table has one grants more.
    let mut unnamed = policy_rules(CONTROLLER, Scope::OwnNamespace);
    unnamed[1].resource_names = None;
    let diff = compare(CONTROLLER, Scope::OwnNamespace, &unnamed).expect("no wildcard");
    assert!(diff.missing.is_empty());
    assert_eq!(
        show(&diff.extra),
        [
            "(coordination.k8s.io, leases, get)",
            "(coordination.k8s.io, leases, update)"
        ]
    );
    assert_eq!(
        compare(
            CONTROLLER,
            Scope::Cluster,
            &[rule(&["*"], &["pods"], &[], &["get"])]
        ),
        Err(RuleError::Wildcard {
            index: 0,
            field: "apiGroups"
        })
    );
    let mut urls = rule(&[], &[], &[], &["get"]);
    urls.non_resource_urls = Some(vec!["/metrics".to_owned()]);
    assert!(matches!(
        compare(CONTROLLER, Scope::Cluster, &[urls]),
        Err(RuleError::NonResource { index: 0, .. })
    ));
}

fn event(agent: &str, verb: &str, object: Option<Value>, code: u16) -> String {
    let mut event = serde_json::json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": verb,
        "requestURI": "/version?timeout=5s", "userAgent": agent,
        "responseStatus": {"metadata": {}, "code": code},
    });
    if let Some(object) = object {
        event["objectRef"] = object;
    }
    event.to_string()
}

#[test]
fn audit_logs_are_read_and_applies_that_create_need_create() {
    let me = "govcloud-controller/0.1.0 (test)";
    let them = "kubectl/v1.33";
    let ns =
        |name: &str| serde_json::json!({"resource": "namespaces", "apiGroup": "", "name": name});
    let jobs = serde_json::json!({"resource": "jobs", "apiGroup": "batch", "namespace": "a"});
    let log = [
        event(me, "get", None, 200),
        // The seed applies namespace `a`; the controller's apply of it is not a create,
        // its apply of `b` is.
        event(them, "patch", Some(ns("a")), 200),
        event(me, "patch", Some(ns("a")), 200),
        event(me, "patch", Some(ns("b")), 200),
        event(me, "patch", Some(ns("b")), 200),
        // A failed patch creates nothing.
        event(me, "patch", Some(ns("c")), 404),
        // After a create in a collection, a patch there may address it: not a create.
        event(them, "create", Some(jobs.clone()), 201),
        event(
            me,
            "patch",
            Some({
                let mut j = jobs.clone();
                j["name"] = serde_json::json!("j");
                j
            }),
            200,
        ),
        String::new(),
    ]
    .join("\n");
    let events = parse_audit_log(&log).expect("events");
    assert_eq!(events.len(), 8);
    let (requests, non_resource) = requests_of(&events, me);
    assert_eq!(non_resource, [("get".to_owned(), "/version".to_owned())]);
    let shown: Vec<String> = requests.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "patch core namespaces named a",
            "patch core namespaces named b",
            "create core namespaces named b",
            "patch core namespaces named b",
            "patch core namespaces named c",
            "patch batch jobs in namespace a named j",
        ]
    );
    assert_eq!(
        unpermitted(CONTROLLER, &log, me, "gov").expect("a log"),
        ["patch batch jobs in namespace a named j"]
    );
    let error = parse_audit_log("{\"verb\": \"get\"}\nnot json").expect_err("bad lines");
    assert_eq!(error.line, 1);
    assert!(error.to_string().contains("responseStatus"), "{error}");
}

#[test]
fn on_write_checks_name_writes_the_table_requests() {
    for permission in CONTROLLER {
        if let Check::OnWrite { writes } = permission.check {
            for (group, resource) in writes {
                let requested = CONTROLLER.iter().any(|p| {
                    p.group == *group
                        && p.resource == *resource
                        && p.check == Check::Requested
                        && p.verbs.contains(&Create)
                });
                assert!(requested, "{}: {group}/{resource}", permission.resource);
            }
        }
    }
}
