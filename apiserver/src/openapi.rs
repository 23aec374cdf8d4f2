//! OpenAPI v3 documents (`/openapi/v3` and `/openapi/v3/{api/v1|apis/{group}/{version}}`) with
//! what kubectl reads from them:
//!
//! - `kubectl apply`/`create` (validation `Strict`, the default) check that the kind's `patch`
//!   operations carry `x-kubernetes-group-version-kind` and list a `fieldValidation` query
//!   parameter *on the operation* (path-level parameters are not looked at); then they send
//!   `fieldValidation=Strict` and leave validation to the server. Without it they fall back to
//!   `/openapi/v2`, which this server does not publish, and fail.
//! - Client-side apply computes a strategic merge patch from the v3 document when a `patch`
//!   operation accepts `application/strategic-merge-patch+json`; no operation here lists it, so
//!   kubectl sends JSON merge patches for custom resources and, for built-in kinds, a strategic
//!   merge patch from its compiled-in types (the server must accept that media type for them).
//! - `kubectl explain` finds the kind from the `x-kubernetes-group-version-kind` of an operation
//!   on `…/{plural}`, `…/{plural}/{name}` or their namespaced forms, then the component schema
//!   whose `x-kubernetes-group-version-kind` list contains the very same `{group, kind,
//!   version}` object, and follows `properties`, `items`, `additionalProperties`, `allOf` and
//!   `$ref`s into `#/components/schemas`.
//!
//! Custom resources publish their CRD schema (with `apiVersion`, `kind` and a `$ref` to
//! `ObjectMeta` set as the API server sets them); built-in kinds publish an open object schema.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::resource::ResourceType;

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn meta_ref(kind: &str) -> Value {
    schema_ref(&format!("{META}.{kind}"))
}

/// `{"allOf": [{"$ref": …}]}`, how Kubernetes' v3 documents point a described field at a type.
fn all_of_meta(kind: &str, description: &str) -> Value {
    json!({ "allOf": [meta_ref(kind)], "description": description })
}

/// The path of a group version's document under `/openapi/v3/`: `api/v1` or `apis/{g}/{v}`.
pub fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The prefix of a group version's REST paths: `/api/v1` or `/apis/{g}/{v}`.
fn rest_prefix(group: &str, version: &str) -> String {
    format!("/{}", group_version_path(group, version))
}

/// The package part of a kind's schema name, as Kubernetes writes it: reverse-DNS of the group
/// for custom resources (`govcloud.io` → `io.govcloud`), the Go package for built-in kinds
/// (`io.k8s.api.core`, `io.k8s.api.rbac`, `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions`).
fn schema_package(resource: &ResourceType) -> String {
    let group = resource.group.as_str();
    if resource.crd.is_some() {
        return group.split('.').rev().collect::<Vec<_>>().join(".");
    }
    match group {
        "" => "io.k8s.api.core".to_owned(),
        "apiextensions.k8s.io" => {
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions".to_owned()
        }
        "apiregistration.k8s.io" => "io.k8s.kube-aggregator.pkg.apis.apiregistration".to_owned(),
        "internal.apiserver.k8s.io" => "io.k8s.api.apiserverinternal".to_owned(),
        other => format!("io.k8s.api.{}", other.split('.').next().unwrap_or(other)),
    }
}

/// The component schema name of a kind: `io.govcloud.v1alpha1.Tenant`,
/// `io.k8s.api.core.v1.Namespace`.
pub fn schema_name(resource: &ResourceType) -> String {
    format!(
        "{}.{}.{}",
        schema_package(resource),
        resource.version,
        resource.kind
    )
}

fn list_schema_name(resource: &ResourceType) -> String {
    format!("{}List", schema_name(resource))
}

/// `{group, kind, version}`: one object, identical on operations and in schemas' lists (kubectl
/// explain compares them with deep equality).
fn gvk(resource: &ResourceType, kind: &str) -> Value {
    json!({ "group": resource.group, "kind": kind, "version": resource.version })
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// `Core`, `RbacAuthorization`, `GovcloudIo`: the group part of operation ids and tags, as
/// Kubernetes names them (built-in groups without `.k8s.io`).
fn group_camel(resource: &ResourceType) -> String {
    let group = if resource.group.is_empty() {
        "core"
    } else if resource.crd.is_none() {
        resource
            .group
            .strip_suffix(".k8s.io")
            .unwrap_or(&resource.group)
    } else {
        &resource.group
    };
    group.split(['.', '-']).map(capitalize).collect()
}

/// `CoreV1`, `GovcloudIoV1alpha1`.
fn operation_group(resource: &ResourceType) -> String {
    format!("{}{}", group_camel(resource), capitalize(&resource.version))
}

/// `core_v1`, `govcloudIo_v1alpha1`.
fn tag(resource: &ResourceType) -> String {
    let camel = group_camel(resource);
    let mut chars = camel.chars();
    let lower: String = chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default();
    format!("{lower}_{}", resource.version)
}

fn query(name: &str, type_: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "schema": { "type": type_, "uniqueItems": true },
    })
}

/// The query parameters the API server documents: name, type, description.
const QUERY_PARAMETERS: &[(&str, &str, &str)] = &[
    (
        "allowWatchBookmarks",
        "boolean",
        "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion.",
    ),
    (
        "continue",
        "string",
        "The continue option should be set when retrieving more results from the server. Its value is the metadata.continue of the previous list response.",
    ),
    (
        "fieldSelector",
        "string",
        "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
    ),
    (
        "labelSelector",
        "string",
        "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
    ),
    (
        "limit",
        "integer",
        "limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata.",
    ),
    (
        "resourceVersion",
        "string",
        "resourceVersion sets a constraint on what resource versions a request may be served from. Defaults to unset.",
    ),
    (
        "resourceVersionMatch",
        "string",
        "resourceVersionMatch determines how resourceVersion is applied to list calls.",
    ),
    (
        "sendInitialEvents",
        "boolean",
        "`sendInitialEvents=true` may be set together with `watch=true`; the watch stream then begins with synthetic events for every existing object.",
    ),
    (
        "timeoutSeconds",
        "integer",
        "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.",
    ),
    (
        "watch",
        "boolean",
        "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
    ),
    (
        "pretty",
        "string",
        "If 'true', then the output is pretty printed.",
    ),
    (
        "dryRun",
        "string",
        "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
    ),
    (
        "fieldManager",
        "string",
        "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters. It is required for apply requests (application/apply-patch).",
    ),
    (
        "fieldValidation",
        "string",
        "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: - Ignore: silently drops unknown fields. - Warn: sends a warning for each unknown field. - Strict: fails the request on unknown fields.",
    ),
    (
        "force",
        "boolean",
        "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Must be unset for non-apply patch requests.",
    ),
    (
        "gracePeriodSeconds",
        "integer",
        "The duration in seconds before the object should be deleted.",
    ),
    (
        "orphanDependents",
        "boolean",
        "Deprecated: please use the PropagationPolicy. Should the dependent objects be orphaned.",
    ),
    (
        "propagationPolicy",
        "string",
        "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'.",
    ),
];

/// The parameter of that name (a query parameter of [`QUERY_PARAMETERS`], or the `namespace`
/// or `name` path parameter).
fn parameter(name: &str) -> Value {
    let path = |description: &str| {
        json!({
            "name": name,
            "in": "path",
            "required": true,
            "description": description,
            "schema": { "type": "string", "uniqueItems": true },
        })
    };
    match name {
        "namespace" => path("object name and auth scope, such as for teams and projects"),
        "name" => path("name of the object"),
        _ => {
            let (type_, description) = QUERY_PARAMETERS
                .iter()
                .find(|(n, _, _)| *n == name)
                .map_or(("string", ""), |(_, t, d)| (*t, *d));
            query(name, type_, description)
        }
    }
}

const LIST_PARAMS: &[&str] = &[
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "pretty",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];
const CREATE_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "pretty"];
const READ_PARAMS: &[&str] = &["pretty"];
const PATCH_PARAMS: &[&str] = &[
    "dryRun",
    "fieldManager",
    "fieldValidation",
    "force",
    "pretty",
];
const DELETE_PARAMS: &[&str] = &[
    "dryRun",
    "gracePeriodSeconds",
    "orphanDependents",
    "pretty",
    "propagationPolicy",
];
const DELETE_COLLECTION_PARAMS: &[&str] = &[
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "labelSelector",
    "limit",
    "orphanDependents",
    "pretty",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
];

fn json_content(schema: &Value) -> Value {
    json!({
        "application/json": { "schema": schema },
        "application/yaml": { "schema": schema },
    })
}

fn responses(codes: &[(u16, &str)], schema: &Value) -> Value {
    let mut responses = Map::new();
    for (code, description) in codes {
        responses.insert(
            code.to_string(),
            json!({ "description": description, "content": json_content(schema) }),
        );
    }
    responses.insert("401".into(), json!({ "description": "Unauthorized" }));
    Value::Object(responses)
}

/// The operations of the Kubernetes REST pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    /// `GET /{plural}` across every namespace (namespaced resources only).
    ListAll,
    List,
    Create,
    DeleteCollection,
    Read,
    Replace,
    Patch,
    Delete,
    ReadStatus,
    ReplaceStatus,
    PatchStatus,
}

impl Verb {
    /// The HTTP method, as the key of the path item.
    fn method(self) -> &'static str {
        match self {
            Self::ListAll | Self::List | Self::Read | Self::ReadStatus => "get",
            Self::Create => "post",
            Self::Replace | Self::ReplaceStatus => "put",
            Self::Patch | Self::PatchStatus => "patch",
            Self::Delete | Self::DeleteCollection => "delete",
        }
    }

    /// `x-kubernetes-action`.
    fn action(self) -> &'static str {
        match self {
            Self::ListAll | Self::List => "list",
            Self::DeleteCollection => "deletecollection",
            other => other.method(),
        }
    }

    fn params(self) -> &'static [&'static str] {
        match self {
            Self::ListAll | Self::List => LIST_PARAMS,
            Self::Create | Self::Replace | Self::ReplaceStatus => CREATE_PARAMS,
            Self::DeleteCollection => DELETE_COLLECTION_PARAMS,
            Self::Read | Self::ReadStatus => READ_PARAMS,
            Self::Patch | Self::PatchStatus => PATCH_PARAMS,
            Self::Delete => DELETE_PARAMS,
        }
    }

    /// `listGovcloudIoV1alpha1NamespacedSystemMigration` and the like; `scope` is `Namespaced`
    /// or empty.
    fn operation_id(self, gv: &str, scope: &str, kind: &str) -> String {
        match self {
            Self::ListAll => format!("list{gv}{kind}ForAllNamespaces"),
            Self::List => format!("list{gv}{scope}{kind}"),
            Self::Create => format!("create{gv}{scope}{kind}"),
            Self::DeleteCollection => format!("delete{gv}Collection{scope}{kind}"),
            Self::Read => format!("read{gv}{scope}{kind}"),
            Self::Replace => format!("replace{gv}{scope}{kind}"),
            Self::Patch => format!("patch{gv}{scope}{kind}"),
            Self::Delete => format!("delete{gv}{scope}{kind}"),
            Self::ReadStatus => format!("read{gv}{scope}{kind}Status"),
            Self::ReplaceStatus => format!("replace{gv}{scope}{kind}Status"),
            Self::PatchStatus => format!("patch{gv}{scope}{kind}Status"),
        }
    }

    fn description(self, kind: &str) -> String {
        match self {
            Self::ListAll => format!("list or watch objects of kind {kind} in every namespace"),
            Self::List => format!("list or watch objects of kind {kind}"),
            Self::Create => format!("create a {kind}"),
            Self::DeleteCollection => format!("delete collection of {kind}"),
            Self::Read => format!("read the specified {kind}"),
            Self::Replace => format!("replace the specified {kind}"),
            Self::Patch => format!("partially update the specified {kind}"),
            Self::Delete => format!("delete a {kind}"),
            Self::ReadStatus => format!("read status of the specified {kind}"),
            Self::ReplaceStatus => format!("replace status of the specified {kind}"),
            Self::PatchStatus => format!("partially update status of the specified {kind}"),
        }
    }
}

/// Builds the operations of one resource.
struct Operations<'a> {
    resource: &'a ResourceType,
    operation_group: String,
    scope: &'static str,
    gvk: Value,
    tag: String,
    kind_schema: Value,
    list_schema: Value,
}

impl<'a> Operations<'a> {
    fn new(resource: &'a ResourceType) -> Self {
        Self {
            resource,
            operation_group: operation_group(resource),
            scope: if resource.namespaced {
                "Namespaced"
            } else {
                ""
            },
            gvk: gvk(resource, &resource.kind),
            tag: tag(resource),
            kind_schema: schema_ref(&schema_name(resource)),
            list_schema: schema_ref(&list_schema_name(resource)),
        }
    }

    /// The request body and responses of an operation.
    fn bodies(&self, verb: Verb) -> (Option<Value>, Value) {
        let whole = |schema: &Value| json!({ "required": true, "content": { "*/*": { "schema": schema } } });
        let delete_options =
            json!({ "content": { "*/*": { "schema": meta_ref("DeleteOptions") } } });
        let status = meta_ref("Status");
        match verb {
            Verb::ListAll | Verb::List => (None, responses(&[(200, "OK")], &self.list_schema)),
            Verb::Read | Verb::ReadStatus => (None, responses(&[(200, "OK")], &self.kind_schema)),
            Verb::Create => (
                Some(whole(&self.kind_schema)),
                responses(
                    &[(200, "OK"), (201, "Created"), (202, "Accepted")],
                    &self.kind_schema,
                ),
            ),
            Verb::Replace | Verb::ReplaceStatus => (
                Some(whole(&self.kind_schema)),
                responses(&[(200, "OK"), (201, "Created")], &self.kind_schema),
            ),
            Verb::Patch | Verb::PatchStatus => {
                // No strategic merge patch: see the module documentation.
                let patch = json!({ "schema": meta_ref("Patch") });
                (
                    Some(json!({
                        "required": true,
                        "content": {
                            "application/apply-patch+yaml": patch,
                            "application/json-patch+json": patch,
                            "application/merge-patch+json": patch,
                        },
                    })),
                    responses(&[(200, "OK"), (201, "Created")], &self.kind_schema),
                )
            }
            Verb::Delete => (
                Some(delete_options),
                responses(&[(200, "OK"), (202, "Accepted")], &status),
            ),
            Verb::DeleteCollection => (Some(delete_options), responses(&[(200, "OK")], &status)),
        }
    }

    fn operation(&self, verb: Verb, path_params: &[&str]) -> Value {
        let parameters: Vec<Value> = path_params
            .iter()
            .chain(verb.params())
            .map(|p| parameter(p))
            .collect();
        let kind = &self.resource.kind;
        let mut operation = Map::new();
        operation.insert("tags".into(), json!([self.tag]));
        operation.insert("description".into(), json!(verb.description(kind)));
        operation.insert(
            "operationId".into(),
            json!(verb.operation_id(&self.operation_group, self.scope, kind)),
        );
        operation.insert("parameters".into(), Value::Array(parameters));
        let (request, responses) = self.bodies(verb);
        if let Some(request) = request {
            operation.insert("requestBody".into(), request);
        }
        operation.insert("responses".into(), responses);
        operation.insert("x-kubernetes-action".into(), json!(verb.action()));
        operation.insert("x-kubernetes-group-version-kind".into(), self.gvk.clone());
        Value::Object(operation)
    }

    fn path_item(&self, verbs: &[Verb], path_params: &[&str]) -> Value {
        let mut item = Map::new();
        for verb in verbs {
            item.insert(verb.method().to_owned(), self.operation(*verb, path_params));
        }
        Value::Object(item)
    }
}

/// The paths of one resource: the collection (and, for namespaced resources, the collection
/// across namespaces), the object and its `status`.
fn resource_paths(resource: &ResourceType, paths: &mut Map<String, Value>) {
    let ops = Operations::new(resource);
    let prefix = rest_prefix(&resource.group, &resource.version);
    let plural = &resource.plural;
    let (collection, scope_params): (String, &[&str]) = if resource.namespaced {
        paths.insert(
            format!("{prefix}/{plural}"),
            ops.path_item(&[Verb::ListAll], &[]),
        );
        (
            format!("{prefix}/namespaces/{{namespace}}/{plural}"),
            &["namespace"],
        )
    } else {
        (format!("{prefix}/{plural}"), &[])
    };
    let item_params: Vec<&str> = scope_params.iter().copied().chain(["name"]).collect();
    let item = format!("{collection}/{{name}}");
    if resource.status_subresource {
        paths.insert(
            format!("{item}/status"),
            ops.path_item(
                &[Verb::ReadStatus, Verb::ReplaceStatus, Verb::PatchStatus],
                &item_params,
            ),
        );
    }
    paths.insert(
        item,
        ops.path_item(
            &[Verb::Read, Verb::Replace, Verb::Patch, Verb::Delete],
            &item_params,
        ),
    );
    paths.insert(
        collection,
        ops.path_item(
            &[Verb::List, Verb::Create, Verb::DeleteCollection],
            scope_params,
        ),
    );
}

const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DESCRIPTION: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DESCRIPTION: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#lists-and-simple-lists";

/// `apiVersion`, `kind` and `metadata` as the API server publishes them for every kind.
fn type_meta_properties(properties: &mut Map<String, Value>, metadata: Value) {
    properties.insert(
        "apiVersion".into(),
        json!({ "type": "string", "description": API_VERSION_DESCRIPTION }),
    );
    properties.insert(
        "kind".into(),
        json!({ "type": "string", "description": KIND_DESCRIPTION }),
    );
    properties.insert("metadata".into(), metadata);
}

/// The component schema of a kind: the CRD's schema for custom resources, an open object for
/// built-in kinds; with the standard `apiVersion`/`kind`/`metadata` properties and the GVK.
fn kind_schema(resource: &ResourceType) -> Value {
    let mut schema = if let Some(Value::Object(schema)) = &resource.schema {
        schema.clone()
    } else {
        let mut open = Map::new();
        open.insert(
            "description".into(),
            json!(format!(
                "{} ({}). govcloud-apiserver publishes no field schema for built-in kinds; it accepts any fields here.",
                resource.kind,
                resource.api_version()
            )),
        );
        open.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
        open
    };
    let mut properties = if let Some(Value::Object(properties)) = schema.remove("properties") {
        properties
    } else {
        Map::new()
    };
    schema.insert("type".into(), json!("object"));
    type_meta_properties(
        &mut properties,
        all_of_meta("ObjectMeta", METADATA_DESCRIPTION),
    );
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert(
        "x-kubernetes-group-version-kind".into(),
        json!([gvk(resource, &resource.kind)]),
    );
    Value::Object(schema)
}

fn list_schema(resource: &ResourceType) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "items".into(),
        json!({
            "type": "array",
            "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", resource.plural),
            "items": schema_ref(&schema_name(resource)),
        }),
    );
    type_meta_properties(
        &mut properties,
        all_of_meta("ListMeta", LIST_METADATA_DESCRIPTION),
    );
    json!({
        "description": format!("{} is a list of {}", resource.list_kind(), resource.kind),
        "type": "object",
        "required": ["items"],
        "properties": properties,
        "x-kubernetes-group-version-kind": [gvk(resource, &resource.list_kind())],
    })
}

fn string(description: &str) -> Value {
    json!({ "type": "string", "description": description })
}

fn string_map(description: &str) -> Value {
    json!({
        "type": "object",
        "additionalProperties": { "type": "string", "default": "" },
        "description": description,
    })
}

/// The `meta/v1` schemas the documents refer to.
fn meta_schemas() -> Vec<(&'static str, Value)> {
    let mut schemas = object_meta_schemas();
    schemas.extend(request_schemas());
    schemas.extend(status_schemas());
    schemas
}

/// `ObjectMeta`, `ListMeta` and the types they refer to.
fn object_meta_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "ObjectMeta",
            json!({
                "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
                "type": "object",
                "properties": {
                    "annotations": string_map("Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata. They are not queryable and should be preserved when modifying objects. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations"),
                    "creationTimestamp": all_of_meta("Time", "CreationTimestamp is a timestamp representing the server time when this object was created. It is represented in RFC3339 form and is in UTC. Populated by the system. Read-only."),
                    "deletionGracePeriodSeconds": { "type": "integer", "format": "int64", "description": "Number of seconds allowed for this object to gracefully terminate before it will be removed from the system. Only set when deletionTimestamp is also set. Read-only." },
                    "deletionTimestamp": all_of_meta("Time", "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted. It is set by the server when a graceful deletion is requested by the user, and is not directly settable by a client. Read-only."),
                    "finalizers": { "type": "array", "items": { "type": "string", "default": "" }, "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge", "description": "Must be empty before the object is deleted from the registry. Each entry is an identifier for the responsible component that will remove the entry from the list." },
                    "generateName": string("GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided."),
                    "generation": { "type": "integer", "format": "int64", "description": "A sequence number representing a specific generation of the desired state. Populated by the system. Read-only." },
                    "labels": string_map("Map of string keys and values that can be used to organize and categorize (scope and select) objects. May match selectors of replication controllers and services. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels"),
                    "managedFields": { "type": "array", "items": { "default": {}, "allOf": [meta_ref("ManagedFieldsEntry")] }, "description": "ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow. This is mostly for internal housekeeping, and users typically shouldn't need to set or understand this field." },
                    "name": string("Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"),
                    "namespace": string("Namespace defines the space within which each name must be unique. An empty namespace is equivalent to the \"default\" namespace. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces"),
                    "ownerReferences": { "type": "array", "items": { "default": {}, "allOf": [meta_ref("OwnerReference")] }, "x-kubernetes-list-map-keys": ["uid"], "x-kubernetes-list-type": "map", "x-kubernetes-patch-merge-key": "uid", "x-kubernetes-patch-strategy": "merge", "description": "List of objects depended by this object. If ALL objects in the list have been deleted, this object will be garbage collected." },
                    "resourceVersion": string("An opaque value that represents the internal version of this object that can be used by clients to determine when objects have changed. Populated by the system. Read-only."),
                    "selfLink": string("Deprecated: selfLink is a legacy read-only field that is no longer populated by the system."),
                    "uid": string("UID is the unique in time and space value for this object. It is typically generated by the server on successful creation of a resource and is not allowed to change on PUT operations. Populated by the system. Read-only."),
                },
            }),
        ),
        (
            "ListMeta",
            json!({
                "description": "ListMeta describes metadata that synthetic resources must have, including lists and various status objects.",
                "type": "object",
                "properties": {
                    "continue": string("continue may be set if the user set a limit on the number of items returned, and indicates that the server has more data available."),
                    "remainingItemCount": { "type": "integer", "format": "int64", "description": "remainingItemCount is the number of subsequent items in the list which are not included in this list response." },
                    "resourceVersion": string("String that identifies the server's internal version of this object that can be used by clients to determine when objects have changed."),
                    "selfLink": string("Deprecated: selfLink is a legacy read-only field that is no longer populated by the system."),
                },
            }),
        ),
        (
            "OwnerReference",
            json!({
                "description": "OwnerReference contains enough information to let you identify an owning object. An owning object must be in the same namespace as the dependent, or be cluster-scoped, so there is no namespace field.",
                "type": "object",
                "required": ["apiVersion", "kind", "name", "uid"],
                "properties": {
                    "apiVersion": string("API version of the referent."),
                    "blockOwnerDeletion": { "type": "boolean", "description": "If true, AND if the owner has the \"foregroundDeletion\" finalizer, then the owner cannot be deleted from the key-value store until this reference is removed." },
                    "controller": { "type": "boolean", "description": "If true, this reference points to the managing controller." },
                    "kind": string("Kind of the referent."),
                    "name": string("Name of the referent."),
                    "uid": string("UID of the referent."),
                },
                "x-kubernetes-map-type": "atomic",
            }),
        ),
        (
            "ManagedFieldsEntry",
            json!({
                "description": "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.",
                "type": "object",
                "properties": {
                    "apiVersion": string("APIVersion defines the version of this resource that this field set applies to."),
                    "fieldsType": string("FieldsType is the discriminator for the different fields format and version. There is currently only one possible value: \"FieldsV1\""),
                    "fieldsV1": all_of_meta("FieldsV1", "FieldsV1 holds the first JSON version format as described in the \"FieldsV1\" type."),
                    "manager": string("Manager is an identifier of the workflow managing these fields."),
                    "operation": string("Operation is the type of operation which lead to this ManagedFieldsEntry being created. The only valid values for this field are 'Apply' and 'Update'."),
                    "subresource": string("Subresource is the name of the subresource used to update that object, or empty string if the object was updated through the main resource."),
                    "time": all_of_meta("Time", "Time is the timestamp of when the ManagedFields entry was added."),
                },
            }),
        ),
        (
            "FieldsV1",
            json!({ "description": "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.", "type": "object" }),
        ),
        (
            "Time",
            json!({ "description": "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON. Wrappers are provided for many of the factory methods that the time package offers.", "type": "string", "format": "date-time" }),
        ),
    ]
}

/// The bodies of `PATCH` and `DELETE` requests.
fn request_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "Patch",
            json!({ "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.", "type": "object" }),
        ),
        (
            "Preconditions",
            json!({
                "description": "Preconditions must be fulfilled before an operation (update, delete, etc.) is carried out.",
                "type": "object",
                "properties": {
                    "resourceVersion": string("Specifies the target ResourceVersion"),
                    "uid": string("Specifies the target UID."),
                },
            }),
        ),
        (
            "DeleteOptions",
            json!({
                "description": "DeleteOptions may be provided when deleting an API object.",
                "type": "object",
                "properties": {
                    "apiVersion": string(API_VERSION_DESCRIPTION),
                    "dryRun": { "type": "array", "items": { "type": "string", "default": "" }, "x-kubernetes-list-type": "atomic", "description": "When present, indicates that modifications should not be persisted." },
                    "gracePeriodSeconds": { "type": "integer", "format": "int64", "description": "The duration in seconds before the object should be deleted." },
                    "kind": string(KIND_DESCRIPTION),
                    "orphanDependents": { "type": "boolean", "description": "Deprecated: please use the PropagationPolicy." },
                    "preconditions": all_of_meta("Preconditions", "Must be fulfilled before a deletion is carried out."),
                    "propagationPolicy": string("Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
                },
            }),
        ),
    ]
}

/// `Status`, the answer to deletions and failures.
fn status_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "StatusCause",
            json!({
                "description": "StatusCause provides more information about an api.Status failure, including cases when multiple errors are encountered.",
                "type": "object",
                "properties": {
                    "field": string("The field of the resource that has caused this error, as named by its JSON serialization."),
                    "message": string("A human-readable description of the cause of the error."),
                    "reason": string("A machine-readable description of the cause of the error."),
                },
            }),
        ),
        (
            "StatusDetails",
            json!({
                "description": "StatusDetails is a set of additional properties that MAY be set by the server to provide additional information about a response.",
                "type": "object",
                "properties": {
                    "causes": { "type": "array", "items": { "default": {}, "allOf": [meta_ref("StatusCause")] }, "x-kubernetes-list-type": "atomic", "description": "The Causes array includes more details associated with the StatusReason failure." },
                    "group": string("The group attribute of the resource associated with the status StatusReason."),
                    "kind": string("The kind attribute of the resource associated with the status StatusReason."),
                    "name": string("The name attribute of the resource associated with the status StatusReason (when there is a single name which can be described)."),
                    "retryAfterSeconds": { "type": "integer", "format": "int32", "description": "If specified, the time in seconds before the operation should be retried." },
                    "uid": string("UID of the resource."),
                },
            }),
        ),
        (
            "Status",
            json!({
                "description": "Status is a return value for calls that don't return other objects.",
                "type": "object",
                "properties": {
                    "apiVersion": string(API_VERSION_DESCRIPTION),
                    "code": { "type": "integer", "format": "int32", "description": "Suggested HTTP return code for this status, 0 if not set." },
                    "details": all_of_meta("StatusDetails", "Extended data associated with the reason."),
                    "kind": string(KIND_DESCRIPTION),
                    "message": string("A human-readable description of the status of this operation."),
                    "metadata": all_of_meta("ListMeta", LIST_METADATA_DESCRIPTION),
                    "reason": string("A machine-readable description of why this operation is in the \"Failure\" status."),
                    "status": string("Status of the operation. One of: \"Success\" or \"Failure\"."),
                },
                "x-kubernetes-group-version-kind": [{ "group": "", "kind": "Status", "version": "v1" }],
            }),
        ),
    ]
}

/// `GET /openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`: the OpenAPI 3.0 document
/// of one group version; `None` when it is not served.
pub fn v3_group_version(group: &str, version: &str, types: &[Arc<ResourceType>]) -> Option<Value> {
    let served: Vec<&Arc<ResourceType>> = types
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for resource in served {
        resource_paths(resource, &mut paths);
        schemas.insert(schema_name(resource), kind_schema(resource));
        schemas.insert(list_schema_name(resource), list_schema(resource));
    }
    for (name, schema) in meta_schemas() {
        schemas.insert(format!("{META}.{name}"), schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {
            "title": "Kubernetes",
            "version": crate::discovery::GIT_VERSION.split('+').next().unwrap_or_default(),
        },
        "paths": paths,
        "components": { "schemas": schemas },
    }))
}

/// 64-bit FNV-1a.
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    })
}

/// A stable digest of a document's content (upper-case hex FNV-1a of its JSON); documents are
/// built deterministically, so equal content gives equal digests.
pub fn content_hash(document: &Value) -> String {
    let bytes = serde_json::to_vec(document).unwrap_or_default();
    let mut hex = String::with_capacity(16);
    let _ = write!(hex, "{:016X}", fnv1a64(&bytes));
    hex
}

/// `GET /openapi/v3`: where each served group version's document is, with a content hash in the
/// URL so that clients' HTTP caches refetch a document when it changes (a CRD update).
pub fn v3_root(types: &[Arc<ResourceType>]) -> Value {
    let mut seen = BTreeSet::new();
    let mut paths = Map::new();
    for t in types {
        if !seen.insert((t.group.as_str(), t.version.as_str())) {
            continue;
        }
        let Some(document) = v3_group_version(&t.group, &t.version, types) else {
            continue;
        };
        let path = group_version_path(&t.group, &t.version);
        paths.insert(
            path.clone(),
            json!({
                "serverRelativeURL": format!("/openapi/v3/{path}?hash={}", content_hash(&document)),
            }),
        );
    }
    json!({ "paths": paths })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant_schema() -> Value {
        json!({
            "description": "A department or county.",
            "type": "object",
            "required": ["spec"],
            "properties": {
                "spec": {
                    "type": "object",
                    "description": "What the tenant should have.",
                    "properties": {
                        "displayName": { "type": "string", "description": "Chinese name." },
                        "quota": {
                            "type": "object",
                            "description": "Hard limits for the tenant's namespaces.",
                            "properties": {
                                "cpu": { "type": "string", "description": "CPU cores." },
                                "memory": { "type": "string", "description": "Memory." },
                            },
                        },
                    },
                },
                "status": { "type": "object", "x-kubernetes-preserve-unknown-fields": true },
                "metadata": { "type": "object" },
            },
        })
    }

    fn tenants(version: &str) -> Arc<ResourceType> {
        Arc::new(ResourceType {
            version: version.into(),
            schema: Some(tenant_schema()),
            ..crate::resource::tenant_fixture()
        })
    }

    fn migrations() -> Arc<ResourceType> {
        Arc::new(ResourceType {
            group: "govcloud.io".into(),
            version: "v1alpha1".into(),
            kind: "SystemMigration".into(),
            plural: "systemmigrations".into(),
            singular: "systemmigration".into(),
            namespaced: true,
            short_names: vec![],
            categories: vec![],
            status_subresource: false,
            printer_columns: vec![],
            schema: Some(json!({"type": "object", "properties": {"spec": {"type": "object"}}})),
            crd: Some("systemmigrations.govcloud.io".into()),
        })
    }

    fn types() -> Vec<Arc<ResourceType>> {
        let mut types: Vec<Arc<ResourceType>> =
            crate::builtin::types().into_iter().map(Arc::new).collect();
        types.extend([tenants("v1alpha1"), migrations(), tenants("v1beta1")]);
        types
    }

    fn doc() -> Value {
        v3_group_version("govcloud.io", "v1alpha1", &types()).expect("served")
    }

    fn tenant_gvk() -> Value {
        json!({"group": "govcloud.io", "kind": "Tenant", "version": "v1alpha1"})
    }

    #[test]
    fn schema_names_follow_kubernetes() {
        let types = types();
        let name = |plural: &str, group: &str| {
            types
                .iter()
                .find(|t| t.plural == plural && t.group == group)
                .map(|t| schema_name(t))
        };
        assert_eq!(
            name("tenants", "govcloud.io").as_deref(),
            Some("io.govcloud.v1alpha1.Tenant")
        );
        assert_eq!(
            name("namespaces", "").as_deref(),
            Some("io.k8s.api.core.v1.Namespace")
        );
        assert_eq!(
            name("rolebindings", "rbac.authorization.k8s.io").as_deref(),
            Some("io.k8s.api.rbac.v1.RoleBinding")
        );
        assert_eq!(
            name("jobs", "batch").as_deref(),
            Some("io.k8s.api.batch.v1.Job")
        );
        assert_eq!(
            name("customresourcedefinitions", "apiextensions.k8s.io").as_deref(),
            Some(
                "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"
            )
        );
    }

    #[test]
    fn every_patch_operation_supports_field_validation_for_its_kind() {
        // What kubectl's QueryParamVerifierV3 checks before `apply`/`create`.
        let doc = doc();
        let paths = doc["paths"].as_object().expect("paths");
        let mut patches = 0;
        for (path, item) in paths {
            let Some(patch) = item.get("patch") else {
                continue;
            };
            patches += 1;
            let gvk = &patch["x-kubernetes-group-version-kind"];
            assert!(gvk.is_object(), "{path}: gvk is one object");
            let names: Vec<&str> = patch["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .filter_map(|p| p["name"].as_str())
                .collect();
            for wanted in ["fieldValidation", "fieldManager", "dryRun", "force"] {
                assert!(names.contains(&wanted), "{path} lacks {wanted}");
            }
            let content = patch["requestBody"]["content"]
                .as_object()
                .expect("content");
            assert!(content.contains_key("application/apply-patch+yaml"));
            assert!(content.contains_key("application/merge-patch+json"));
            assert!(!content.contains_key("application/strategic-merge-patch+json"));
        }
        // tenants/{name}, tenants/{name}/status, systemmigrations/{name}.
        assert_eq!(patches, 3);
        let create = &paths["/apis/govcloud.io/v1alpha1/tenants"]["post"];
        assert_eq!(create["x-kubernetes-group-version-kind"], tenant_gvk());
        assert_eq!(create["x-kubernetes-action"], "post");
        assert_eq!(create["operationId"], "createGovcloudIoV1alpha1Tenant");
        assert!(
            create["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
    }

    #[test]
    fn paths_for_cluster_and_namespaced_resources() {
        let doc = doc();
        let paths = doc["paths"].as_object().expect("paths");
        let keys: Vec<&str> = paths.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            vec![
                "/apis/govcloud.io/v1alpha1/namespaces/{namespace}/systemmigrations",
                "/apis/govcloud.io/v1alpha1/namespaces/{namespace}/systemmigrations/{name}",
                "/apis/govcloud.io/v1alpha1/systemmigrations",
                "/apis/govcloud.io/v1alpha1/tenants",
                "/apis/govcloud.io/v1alpha1/tenants/{name}",
                "/apis/govcloud.io/v1alpha1/tenants/{name}/status",
            ]
        );
        let item =
            &paths["/apis/govcloud.io/v1alpha1/namespaces/{namespace}/systemmigrations/{name}"];
        for verb in ["get", "put", "patch", "delete"] {
            let params: Vec<&str> = item[verb]["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert_eq!(params[..2], ["namespace", "name"], "{verb}");
            assert_eq!(item[verb]["parameters"][0]["in"], "path");
            assert_eq!(item[verb]["parameters"][0]["required"], true);
        }
        assert_eq!(item["get"]["x-kubernetes-action"], "get");
        assert_eq!(
            item["get"]["operationId"],
            "readGovcloudIoV1alpha1NamespacedSystemMigration"
        );
        let all = &paths["/apis/govcloud.io/v1alpha1/systemmigrations"]["get"];
        assert_eq!(all["x-kubernetes-action"], "list");
        assert_eq!(
            all["operationId"],
            "listGovcloudIoV1alpha1SystemMigrationForAllNamespaces"
        );
        assert_eq!(
            all["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/io.govcloud.v1alpha1.SystemMigrationList"
        );
        let collection = &paths["/apis/govcloud.io/v1alpha1/tenants"];
        assert_eq!(
            collection["delete"]["x-kubernetes-action"],
            "deletecollection"
        );
        assert_eq!(
            paths["/apis/govcloud.io/v1alpha1/tenants/{name}/status"]["put"]["x-kubernetes-group-version-kind"],
            tenant_gvk()
        );
    }

    #[test]
    fn kind_schema_is_the_crd_schema_with_meta_and_gvk() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let tenant = &schemas["io.govcloud.v1alpha1.Tenant"];
        // kubectl explain matches the operation's GVK object inside this list.
        assert_eq!(
            tenant["x-kubernetes-group-version-kind"],
            json!([tenant_gvk()])
        );
        assert_eq!(tenant["description"], "A department or county.");
        assert_eq!(tenant["required"], json!(["spec"]));
        assert_eq!(
            tenant["properties"]["spec"]["properties"]["quota"]["description"],
            "Hard limits for the tenant's namespaces."
        );
        assert_eq!(
            tenant["properties"]["spec"]["properties"]["quota"]["properties"]["cpu"]["description"],
            "CPU cores."
        );
        assert_eq!(
            tenant["properties"]["metadata"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        assert_eq!(tenant["properties"]["apiVersion"]["type"], "string");
        assert_eq!(tenant["properties"]["kind"]["type"], "string");
        let object_meta = &schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"];
        assert_eq!(
            object_meta["properties"]["labels"]["additionalProperties"]["type"],
            "string"
        );
        let list = &schemas["io.govcloud.v1alpha1.TenantList"];
        assert_eq!(
            list["x-kubernetes-group-version-kind"][0]["kind"],
            "TenantList"
        );
        assert_eq!(
            list["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/io.govcloud.v1alpha1.Tenant"
        );
        assert_eq!(doc["openapi"], "3.0.0");
        assert_eq!(doc["info"]["version"], "v1.32.0");
    }

    #[test]
    fn every_reference_resolves() {
        fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        out.push(r);
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        for (group, version) in [("govcloud.io", "v1alpha1"), ("", "v1"), ("batch", "v1")] {
            let doc = v3_group_version(group, version, &types()).expect("served");
            let mut found = Vec::new();
            refs(&doc, &mut found);
            assert!(!found.is_empty());
            for r in found {
                let name = r
                    .strip_prefix("#/components/schemas/")
                    .expect("local schema ref");
                assert!(
                    doc["components"]["schemas"].get(name).is_some(),
                    "{group}/{version}: {r} does not resolve"
                );
            }
        }
    }

    #[test]
    fn builtins_are_open_objects_with_gvk() {
        let doc = v3_group_version("", "v1", &types()).expect("core");
        let namespace = &doc["components"]["schemas"]["io.k8s.api.core.v1.Namespace"];
        assert_eq!(namespace["x-kubernetes-preserve-unknown-fields"], true);
        assert_eq!(namespace["type"], "object");
        assert_eq!(
            namespace["x-kubernetes-group-version-kind"],
            json!([{"group": "", "kind": "Namespace", "version": "v1"}])
        );
        // kubectl falls back to the Namespace patch operation for CRDs it cannot find.
        let patch = &doc["paths"]["/api/v1/namespaces/{name}"]["patch"];
        assert_eq!(patch["operationId"], "patchCoreV1Namespace");
        assert!(
            patch["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        assert!(
            doc["paths"]
                .get("/api/v1/namespaces/{namespace}/configmaps")
                .is_some()
        );
        assert!(v3_group_version("apps", "v1", &types()).is_none());
    }

    #[test]
    fn root_lists_every_group_version_with_a_content_hash() {
        let types = types();
        let root = v3_root(&types);
        let paths = root["paths"].as_object().expect("paths");
        assert!(paths.contains_key("api/v1"));
        assert!(paths.contains_key("apis/govcloud.io/v1alpha1"));
        assert!(paths.contains_key("apis/govcloud.io/v1beta1"));
        assert!(paths.contains_key("apis/rbac.authorization.k8s.io/v1"));
        assert_eq!(paths.len(), 9);
        let url = paths["apis/govcloud.io/v1alpha1"]["serverRelativeURL"]
            .as_str()
            .expect("url");
        let hash = content_hash(&doc());
        assert_eq!(hash.len(), 16);
        assert_eq!(
            url,
            format!("/openapi/v3/apis/govcloud.io/v1alpha1?hash={hash}")
        );
        // Stable for equal content, different when a schema changes.
        assert_eq!(v3_root(&types), root);
        let mut changed = types.clone();
        changed.retain(|t| t.kind != "SystemMigration");
        let other = v3_root(&changed);
        assert_ne!(
            other["paths"]["apis/govcloud.io/v1alpha1"],
            root["paths"]["apis/govcloud.io/v1alpha1"]
        );
        assert_eq!(other["paths"]["api/v1"], root["paths"]["api/v1"]);
    }

    #[test]
    fn fnv1a_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
