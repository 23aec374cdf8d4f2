//! Server-side printing: the `meta.k8s.io/v1` `Table` that `kubectl get` asks for
//! (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io,…`), built from a resource's printer
//! columns as the API server's custom-resource table convertor builds it.
//!
//! What a real API server does, and so what this module does:
//! - Columns: `Name` (type `string`, format `name`), then the CRD's `additionalPrinterColumns`
//!   as declared; only when a CRD declares none does it get a default `Age` column (a CRD that
//!   wants an age column declares it, as govcloud's CRDs do). Built-in kinds get `Name`, a few
//!   kind-specific columns (`Status` for namespaces) and `Age`.
//! - Cells: the first value the column's JSONPath selects (not all of them), converted to the
//!   column's type; a missing value, or one of the wrong type, is `null` (kubectl prints
//!   nothing). `string` cells show lists and maps as JSON.
//! - `date` cells are *ages* (`5m10s`, `3d`) computed by the server when it answers
//!   (`<invalid>` for an unparsable timestamp): kubectl prints cells verbatim and does not format
//!   dates itself.
//! - Row objects: kubectl sends no `includeObject` (it asks `Object` only with `--sort-by`), and
//!   the default is `Metadata`: a `meta.k8s.io/v1` `PartialObjectMetadata`, which kubectl reads
//!   for `-A` (namespace column), `--show-labels` and `-L`.
//! - Watches asked as tables carry one-row tables; a real server sends the column definitions
//!   with the first event only, but kubectl also accepts them on every event (it skips headers
//!   equal to the last ones printed).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::jsonpath::{JsonPath, value_text};
use crate::resource::{PrinterColumn, ResourceType};

/// What each row carries besides its cells (`?includeObject=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// The object's metadata as a `PartialObjectMetadata` (the default).
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

/// Why a table request cannot be served.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// `includeObject` is not `None`, `Metadata` or `Object`.
    #[error("unrecognized includeObject value: {0:?}")]
    UnknownIncludeObject(String),
}

impl FromStr for IncludeObject {
    type Err = TableError;

    /// Strict parsing, as the API server validates `TableOptions` (answer 400 on error).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "None" => Ok(Self::None),
            "Metadata" | "" => Ok(Self::Metadata),
            "Object" => Ok(Self::Object),
            other => Err(TableError::UnknownIncludeObject(other.to_owned())),
        }
    }
}

/// `?includeObject=` leniently: absent or unrecognised → `Metadata` (use
/// [`IncludeObject::from_str`] to refuse unrecognised values as a real server does).
pub fn parse_include_object(query_value: Option<&str>) -> IncludeObject {
    query_value.and_then(|v| v.parse().ok()).unwrap_or_default()
}

/// One clause of an `Accept` header.
struct Clause<'a> {
    media_type: &'a str,
    params: Vec<(&'a str, &'a str)>,
    q: f32,
}

impl<'a> Clause<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.split(';').map(str::trim);
        let media_type = parts.next().filter(|m| !m.is_empty())?;
        let mut params = Vec::new();
        let mut q = 1.0;
        for part in parts {
            let Some((key, value)) = part.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim().trim_matches('"'));
            if key.eq_ignore_ascii_case("q") {
                q = value.parse().unwrap_or(0.0);
            } else {
                params.push((key, value));
            }
        }
        Some(Self {
            media_type,
            params,
            q,
        })
    }

    fn param(&self, name: &str) -> Option<&'a str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// 2 for `type/subtype`, 1 for `type/*`, 0 for `*/*` (more specific wins at equal q).
    fn specificity(&self) -> u8 {
        match self.media_type {
            "*/*" => 0,
            m if m.ends_with("/*") => 1,
            _ => 2,
        }
    }

    /// Whether the server can answer this clause (JSON only), and if so whether as a Table.
    fn answer(&self) -> Option<bool> {
        let json = self.media_type.eq_ignore_ascii_case("application/json")
            || self.media_type.eq_ignore_ascii_case("application/*")
            || self.media_type == "*/*";
        if !json || self.q <= 0.0 {
            return None;
        }
        match self.param("as") {
            None => Some(false),
            Some("Table") => {
                let meta = self.param("g") == Some("meta.k8s.io");
                let version = matches!(self.param("v"), Some("v1" | "v1beta1"));
                (meta && version).then_some(true)
            }
            // Other conversions (PartialObjectMetadata…) are not tables.
            Some(_) => None,
        }
    }
}

/// Whether the `Accept` header's preferred answerable clause is a `meta.k8s.io` `Table`
/// (v1 or v1beta1); clauses are ranked by `q`, then specificity, then order, as the API server
/// negotiates. The table built is always `meta.k8s.io/v1`, which every kubectl since 1.15 asks
/// for first.
pub fn wants_table(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let mut clauses: Vec<Clause<'_>> = accept.split(',').filter_map(Clause::parse).collect();
    // A stable sort keeps header order among equals.
    clauses.sort_by(|a, b| {
        b.q.total_cmp(&a.q)
            .then_with(|| b.specificity().cmp(&a.specificity()))
    });
    clauses.iter().find_map(Clause::answer).unwrap_or(false)
}

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

fn column(name: &str, type_: &str, description: &str, json_path: &str) -> PrinterColumn {
    PrinterColumn {
        name: name.to_owned(),
        type_: type_.to_owned(),
        format: None,
        description: Some(description.to_owned()),
        priority: 0,
        json_path: json_path.to_owned(),
    }
}

fn age_column() -> PrinterColumn {
    column(
        "Age",
        "date",
        AGE_DESCRIPTION,
        ".metadata.creationTimestamp",
    )
}

/// The columns after `Name`.
fn printer_columns(resource: &ResourceType) -> Vec<PrinterColumn> {
    if !resource.printer_columns.is_empty() {
        return resource.printer_columns.clone();
    }
    if resource.crd.is_some() {
        // What the CRD handler serves for a version without additionalPrinterColumns.
        return vec![age_column()];
    }
    let mut columns = match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Namespace") => vec![column(
            "Status",
            "string",
            "The status of the namespace",
            ".status.phase",
        )],
        ("", "Secret") => vec![column("Type", "string", "The type of the secret", ".type")],
        ("", "Event") => vec![
            column("Type", "string", "Type of this event", ".type"),
            column("Reason", "string", "Short reason of this event", ".reason"),
            column(
                "Object",
                "string",
                "The object this event is about",
                ".involvedObject.name",
            ),
            column("Message", "string", "Message of this event", ".message"),
        ],
        ("coordination.k8s.io", "Lease") => vec![column(
            "Holder",
            "string",
            "The holder of the lease",
            ".spec.holderIdentity",
        )],
        _ => Vec::new(),
    };
    columns.push(age_column());
    columns
}

/// A column ready to evaluate.
struct Column {
    definition: PrinterColumn,
    path: Option<JsonPath>,
}

fn columns(resource: &ResourceType) -> Vec<Column> {
    printer_columns(resource)
        .into_iter()
        .map(|definition| Column {
            // An unparsable path yields empty cells (a real server refuses such a CRD).
            path: JsonPath::parse(&definition.json_path).ok(),
            definition,
        })
        .collect()
}

fn column_definitions(columns: &[Column]) -> Vec<Value> {
    let mut definitions = vec![json!({
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": NAME_DESCRIPTION,
        "priority": 0,
    })];
    definitions.extend(columns.iter().map(|c| {
        let d = &c.definition;
        json!({
            "name": d.name,
            "type": d.type_,
            "format": d.format.clone().unwrap_or_default(),
            "description": d.description.clone().unwrap_or_else(|| format!(
                "Custom resource definition column (in JSONPath format): {}",
                d.json_path
            )),
            "priority": d.priority,
        })
    }));
    definitions
}

/// `apimachinery`'s `duration.HumanDuration`: ~2–3 significant figures.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// A `date` cell: the age of an RFC 3339 timestamp at `now`.
fn age(timestamp: &str, now: DateTime<Utc>) -> String {
    if timestamp.is_empty() || timestamp == "null" {
        return "<unknown>".into();
    }
    match DateTime::parse_from_rfc3339(timestamp) {
        Ok(t) => human_duration((now - t.with_timezone(&Utc)).num_seconds()),
        Err(_) => "<invalid>".into(),
    }
}

/// Go's `int64(f)` for a float64 cell of an `integer` column: truncation (saturating here).
#[allow(clippy::cast_possible_truncation)]
fn truncate(f: f64) -> i64 {
    f.trunc() as i64
}

/// A cell of the column's type from the first selected value, as the CRD table convertor's
/// `cellForJSONValue` converts it.
fn cell(type_: &str, value: &Value, now: DateTime<Utc>) -> Value {
    match (type_, value) {
        (_, Value::Null) => Value::Null,
        ("string", v) => Value::String(value_text(v)),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(truncate))
            .map_or(Value::Null, |i| json!(i)),
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        ("boolean", Value::Bool(b)) => json!(b),
        ("date", Value::String(s)) => Value::String(age(s, now)),
        _ => Value::Null,
    }
}

fn row(columns: &[Column], object: &Value, include: IncludeObject, now: DateTime<Utc>) -> Value {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut cells = vec![json!(name)];
    cells.extend(columns.iter().map(|c| {
        c.path
            .as_ref()
            .and_then(|p| p.first(object))
            .map_or(Value::Null, |v| cell(&c.definition.type_, v, now))
    }));
    let mut row = Map::new();
    row.insert("cells".into(), Value::Array(cells));
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            let metadata = object.get("metadata").cloned().unwrap_or_else(|| json!({}));
            row.insert(
                "object".into(),
                json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": metadata,
                }),
            );
        }
        IncludeObject::Object => {
            row.insert("object".into(), object.clone());
        }
    }
    Value::Object(row)
}

fn build(
    resource: &ResourceType,
    objects: &[Value],
    include: IncludeObject,
    metadata: Value,
    now: DateTime<Utc>,
) -> Value {
    let columns = columns(resource);
    let metadata = if metadata.is_object() {
        metadata
    } else {
        json!({})
    };
    // Built as values, not through `json!`, which would copy every row once more.
    let rows = objects
        .iter()
        .map(|o| row(&columns, o, include, now))
        .collect();
    let mut table = Map::new();
    table.insert("kind".into(), json!("Table"));
    table.insert("apiVersion".into(), json!("meta.k8s.io/v1"));
    table.insert("metadata".into(), metadata);
    table.insert(
        "columnDefinitions".into(),
        Value::Array(column_definitions(&columns)),
    );
    table.insert("rows".into(), Value::Array(rows));
    Value::Object(table)
}

/// The `Table` for a list (or for one object, as a one-item slice); `list_meta` becomes the
/// table's `metadata` (`resourceVersion`, `continue`, `remainingItemCount`). Ages are computed
/// against the current time; see [`table_at`].
pub fn table(
    resource: &ResourceType,
    objects: &[Value],
    include_object: IncludeObject,
    list_meta: Value,
) -> Value {
    table_at(resource, objects, include_object, list_meta, Utc::now())
}

/// [`table`] with ages computed at `now`.
pub fn table_at(
    resource: &ResourceType,
    objects: &[Value],
    include_object: IncludeObject,
    list_meta: Value,
    now: DateTime<Utc>,
) -> Value {
    build(resource, objects, include_object, list_meta, now)
}

/// The one-row `Table` sent as the object of a watch event when the watch asked for tables; its
/// `metadata.resourceVersion` is the object's.
pub fn table_row_object(
    resource: &ResourceType,
    object: &Value,
    include_object: IncludeObject,
) -> Value {
    table_row_object_at(resource, object, include_object, Utc::now())
}

/// [`table_row_object`] with ages computed at `now`.
pub fn table_row_object_at(
    resource: &ResourceType,
    object: &Value,
    include_object: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    let metadata = object
        .pointer("/metadata/resourceVersion")
        .map_or_else(|| json!({}), |rv| json!({ "resourceVersion": rv }));
    build(
        resource,
        std::slice::from_ref(object),
        include_object,
        metadata,
        now,
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 2, 0, 0, 0)
            .single()
            .expect("valid time")
    }

    fn printer(name: &str, type_: &str, json_path: &str, priority: i32) -> PrinterColumn {
        PrinterColumn {
            name: name.into(),
            type_: type_.into(),
            format: None,
            description: None,
            priority,
            json_path: json_path.into(),
        }
    }

    fn tenants(columns: Vec<PrinterColumn>) -> ResourceType {
        ResourceType {
            categories: vec![],
            printer_columns: columns,
            schema: Some(json!({"type": "object"})),
            ..crate::resource::tenant_fixture()
        }
    }

    fn tenant_columns() -> Vec<PrinterColumn> {
        vec![
            printer("Level", "string", ".spec.level", 0),
            printer("Parent", "string", ".spec.parent", 0),
            printer("Storage", "string", ".spec.quota.storage", 1),
            printer("Members", "integer", ".spec.members", 0),
            printer("Weight", "number", ".spec.weight", 0),
            printer("Paused", "boolean", ".spec.paused", 0),
            printer(
                "Ready",
                "string",
                ".status.conditions[?(@.type==\"Ready\")].status",
                0,
            ),
            printer("Owners", "string", ".spec.owners", 0),
            printer("First", "string", ".spec.owners[*]", 0),
            printer("Age", "date", ".metadata.creationTimestamp", 0),
        ]
    }

    fn ankang() -> Value {
        json!({
            "apiVersion": "govcloud.io/v1alpha1",
            "kind": "Tenant",
            "metadata": {
                "name": "ankang",
                "resourceVersion": "42",
                "labels": {"level": "city"},
                "creationTimestamp": "2025-01-01T21:00:00Z",
            },
            "spec": {
                "level": "City",
                "quota": {"storage": "10Ti"},
                "members": 7.9,
                "weight": 2,
                "paused": "no",
                "owners": ["ops", "audit"],
            },
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        })
    }

    #[test]
    fn custom_resource_columns_follow_the_crd_without_an_extra_age() {
        let table = table_at(
            &tenants(tenant_columns()),
            &[ankang()],
            IncludeObject::Metadata,
            json!({"resourceVersion": "50", "continue": "abc"}),
            now(),
        );
        assert_eq!(table["kind"], "Table");
        assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(
            table["metadata"],
            json!({"resourceVersion": "50", "continue": "abc"})
        );
        let names: Vec<&str> = table["columnDefinitions"]
            .as_array()
            .expect("columns")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(
            names,
            vec![
                "Name", "Level", "Parent", "Storage", "Members", "Weight", "Paused", "Ready",
                "Owners", "First", "Age"
            ]
        );
        let name = &table["columnDefinitions"][0];
        assert_eq!(name["format"], "name");
        assert_eq!(name["type"], "string");
        let storage = &table["columnDefinitions"][3];
        assert_eq!(storage["priority"], 1);
        assert_eq!(storage["format"], "");
        assert_eq!(
            storage["description"],
            "Custom resource definition column (in JSONPath format): .spec.quota.storage"
        );
    }

    #[test]
    fn cells_are_typed_first_matches_and_missing_is_null() {
        let table = table_at(
            &tenants(tenant_columns()),
            &[ankang()],
            IncludeObject::Metadata,
            json!({}),
            now(),
        );
        assert_eq!(
            table["rows"][0]["cells"],
            json!([
                "ankang",
                "City",
                null,
                "10Ti",
                7,
                2.0,
                null,
                "True",
                "[\"ops\",\"audit\"]",
                "ops",
                "3h"
            ])
        );
    }

    #[test]
    fn metadata_rows_carry_partial_object_metadata() {
        let table = table_at(
            &tenants(tenant_columns()),
            &[ankang()],
            IncludeObject::default(),
            json!({}),
            now(),
        );
        let object = &table["rows"][0]["object"];
        assert_eq!(object["kind"], "PartialObjectMetadata");
        assert_eq!(object["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(object["metadata"]["labels"]["level"], "city");
        assert!(object.get("spec").is_none());
    }

    #[test]
    fn object_and_none_rows() {
        let resource = tenants(tenant_columns());
        let full = table_at(
            &resource,
            &[ankang()],
            IncludeObject::Object,
            json!({}),
            now(),
        );
        assert_eq!(full["rows"][0]["object"], ankang());
        let bare = table_at(
            &resource,
            &[ankang()],
            IncludeObject::None,
            json!({}),
            now(),
        );
        assert!(bare["rows"][0].get("object").is_none());
        assert_eq!(bare["rows"][0]["cells"][0], "ankang");
    }

    #[test]
    fn crd_without_columns_gets_age_only() {
        let table = table_at(
            &tenants(vec![]),
            &[ankang()],
            IncludeObject::None,
            json!({}),
            now(),
        );
        let columns = table["columnDefinitions"].as_array().expect("columns");
        assert_eq!(columns.len(), 2);
        assert_eq!(columns[1]["name"], "Age");
        assert_eq!(columns[1]["type"], "date");
        assert_eq!(table["rows"][0]["cells"], json!(["ankang", "3h"]));
    }

    #[test]
    fn namespaces_show_status_and_other_builtins_name_and_age() {
        let builtins = crate::builtin::types();
        let namespaces = builtins.iter().find(|t| t.is_namespace()).expect("ns");
        let ns = json!({
            "metadata": {"name": "tenant-ankang", "creationTimestamp": "2024-12-25T00:00:00Z"},
            "status": {"phase": "Active"},
        });
        let table = table_at(namespaces, &[ns], IncludeObject::Metadata, json!({}), now());
        let names: Vec<&str> = table["columnDefinitions"]
            .as_array()
            .expect("columns")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, vec!["Name", "Status", "Age"]);
        assert_eq!(
            table["rows"][0]["cells"],
            json!(["tenant-ankang", "Active", "8d"])
        );

        let configmaps = builtins
            .iter()
            .find(|t| t.plural == "configmaps")
            .expect("cm");
        let cm = json!({"metadata": {"name": "c", "creationTimestamp": "2025-01-01T23:59:30Z"}});
        let table = table_at(configmaps, &[cm], IncludeObject::Metadata, json!({}), now());
        assert_eq!(table["columnDefinitions"].as_array().map(Vec::len), Some(2));
        assert_eq!(table["rows"][0]["cells"], json!(["c", "30s"]));
    }

    #[test]
    fn watch_rows_are_one_row_tables_at_the_objects_version() {
        let table = table_row_object_at(
            &tenants(tenant_columns()),
            &ankang(),
            IncludeObject::Metadata,
            now(),
        );
        assert_eq!(table["metadata"], json!({"resourceVersion": "42"}));
        assert_eq!(table["rows"].as_array().map(Vec::len), Some(1));
        assert_eq!(table["columnDefinitions"][0]["name"], "Name");
    }

    #[test]
    fn dates_become_ages_like_kubectl_shows_them() {
        assert_eq!(age("2025-01-01T23:59:59Z", now()), "1s");
        assert_eq!(age("2025-01-01T23:58:00.5Z", now()), "119s");
        assert_eq!(age("2025-01-01T23:55:30Z", now()), "4m30s");
        assert_eq!(age("2025-01-01T22:30:00+00:00", now()), "90m");
        assert_eq!(age("2025-01-01T18:15:00Z", now()), "5h45m");
        assert_eq!(age("2024-12-31T00:00:00Z", now()), "2d");
        assert_eq!(age("2024-12-29T12:00:00Z", now()), "3d12h");
        assert_eq!(age("2024-06-01T00:00:00Z", now()), "215d");
        assert_eq!(age("2021-01-01T00:00:00Z", now()), "4y2d");
        assert_eq!(age("2025-01-02T00:00:10Z", now()), "<invalid>");
        assert_eq!(age("yesterday", now()), "<invalid>");
        assert_eq!(age("", now()), "<unknown>");
        assert_eq!(human_duration(-1), "0s");
        assert_eq!(human_duration(10 * 365 * 86_400), "10y");
    }

    #[test]
    fn accept_headers_kubectl_and_others_send() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert!(wants_table(Some(kubectl)));
        assert!(wants_table(Some(
            "application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json"
        )));
        assert!(!wants_table(None));
        assert!(!wants_table(Some("application/json")));
        assert!(!wants_table(Some("*/*")));
        // Table is not first: a plain answer is preferred.
        assert!(!wants_table(Some(
            "application/json,application/json;as=Table;v=v1;g=meta.k8s.io"
        )));
        // …unless q says otherwise.
        assert!(wants_table(Some(
            "application/json;q=0.5,application/json;as=Table;v=v1;g=meta.k8s.io"
        )));
        // Unservable table clauses are skipped.
        assert!(!wants_table(Some(
            "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json"
        )));
        assert!(!wants_table(Some(
            "application/json;as=Table;v=v2;g=meta.k8s.io,application/json"
        )));
        assert!(!wants_table(Some(
            "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"
        )));
    }

    #[test]
    fn include_object_values() {
        assert_eq!(parse_include_object(None), IncludeObject::Metadata);
        assert_eq!(parse_include_object(Some("Object")), IncludeObject::Object);
        assert_eq!(parse_include_object(Some("None")), IncludeObject::None);
        assert_eq!(
            parse_include_object(Some("Metadata")),
            IncludeObject::Metadata
        );
        assert_eq!(parse_include_object(Some("bogus")), IncludeObject::Metadata);
        assert_eq!(
            "bogus".parse::<IncludeObject>(),
            Err(TableError::UnknownIncludeObject("bogus".into()))
        );
    }
}
