//! Get and list (with label and field selectors, `limit` and `continue`), as objects or as the
//! `Table` kubectl asks for.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::state::ApiState;
use super::write::Params;
use crate::error::ApiError;
use crate::resource::ResourceType;
use crate::selector::{FieldSelector, LabelSelector, labels_of};
use crate::store::{ListQuery, Selection, StoredText, parse_body};

/// The selectors of a list or watch request.
#[derive(Debug)]
pub struct Filter {
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
}

impl Filter {
    /// The selectors in the query, or `400` when one does not parse.
    pub fn from_params(params: &Params) -> Result<Self, ApiError> {
        let labels = LabelSelector::parse(params.get("labelSelector").map_or("", String::as_str))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let fields = FieldSelector::parse(params.get("fieldSelector").map_or("", String::as_str))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok(Self { labels, fields })
    }

    /// Whether `object` is selected.
    pub fn matches(&self, object: &Value) -> bool {
        if self.labels.is_empty() && self.fields.is_empty() {
            return true;
        }
        self.labels.matches(&labels_of(object)) && self.fields.matches(object)
    }

    /// The selectors, for the store to select rows with.
    pub fn selection(&self) -> Selection<'_> {
        Selection {
            labels: Some(&self.labels),
            fields: Some(&self.fields),
        }
    }
}

/// Fewest rows read from the store at a time when a list is paginated.
const MIN_BATCH: usize = 100;

/// Where a paginated list continues: after this namespace and name.
fn encode_continue(namespace: &str, name: &str, resource_version: i64) -> String {
    URL_SAFE_NO_PAD
        .encode(json!({"ns": namespace, "name": name, "rv": resource_version}).to_string())
}

/// Where a continue token resumes (namespace and name) and the resource version of the list it
/// continues.
struct Continue {
    namespace: String,
    name: String,
    resource_version: i64,
}

fn decode_continue(token: &str) -> Result<Continue, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "continue key is not valid: send the continue value from the previous list",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(Continue {
        namespace: field("ns").ok_or_else(invalid)?,
        name: field("name").ok_or_else(invalid)?,
        resource_version: value
            .get("rv")
            .and_then(Value::as_i64)
            .ok_or_else(invalid)?,
    })
}

/// A page of a list: the selected objects, the list's resource version and the continue token.
#[derive(Debug)]
pub struct Page {
    /// Objects selected.
    pub items: Vec<Value>,
    /// The resource version the list reflects.
    pub resource_version: i64,
    /// Token for the next page, if there is one.
    pub continue_token: Option<String>,
}

/// The rows of a page as stored, the list's resource version and the continue token.
struct Selected {
    rows: Vec<StoredText>,
    resource_version: i64,
    continue_token: Option<String>,
}

#[allow(clippy::needless_pass_by_value)] // called as `map_err(internal)`, which passes the error
fn internal(error: impl ToString) -> ApiError {
    ApiError::internal(error.to_string())
}

/// Lists objects of `resource` in `namespace` (all namespaces when `None`).
pub async fn list(
    state: &ApiState,
    resource: &ResourceType,
    namespace: Option<&str>,
    params: &Params,
) -> Result<Page, ApiError> {
    let selected = select(state, resource, namespace, params).await?;
    let items = selected
        .rows
        .iter()
        .map(|row| parse_body(&row.body).map(|object| with_type(resource, object)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    Ok(Page {
        items,
        resource_version: selected.resource_version,
        continue_token: selected.continue_token,
    })
}

/// The `<Kind>List` document of a list request as JSON text. Objects stored in the version and
/// kind served (their text starts with that `apiVersion` and `kind`) are copied as stored, the
/// others parsed and given them: a list costs what it copies rather than a parse and a
/// serialisation per object.
pub async fn list_json(
    state: &ApiState,
    resource: &ResourceType,
    namespace: Option<&str>,
    params: &Params,
) -> Result<String, ApiError> {
    let selected = select(state, resource, namespace, params).await?;
    let typed = format!(
        "{{\"apiVersion\":{},\"kind\":{},",
        Value::from(resource.api_version()),
        Value::from(resource.kind.as_str())
    );
    let mut metadata = json!({"resourceVersion": selected.resource_version.to_string()});
    if let Some(token) = selected.continue_token {
        metadata["continue"] = json!(token);
    }
    let bodies: usize = selected.rows.iter().map(|row| row.body.len() + 1).sum();
    let mut out = String::with_capacity(bodies + 256);
    out.push_str("{\"apiVersion\":");
    out.push_str(&Value::from(resource.api_version()).to_string());
    out.push_str(",\"kind\":");
    out.push_str(&Value::from(resource.list_kind()).to_string());
    out.push_str(",\"metadata\":");
    out.push_str(&metadata.to_string());
    out.push_str(",\"items\":[");
    for (i, row) in selected.rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if row.body.starts_with(&typed) {
            out.push_str(&row.body);
        } else {
            let object = with_type(resource, parse_body(&row.body).map_err(internal)?);
            out.push_str(&object.to_string());
        }
    }
    out.push_str("]}");
    Ok(out)
}

/// Reads the rows a list request selects, a page at a time when it has a limit.
async fn select(
    state: &ApiState,
    resource: &ResourceType,
    namespace: Option<&str>,
    params: &Params,
) -> Result<Selected, ApiError> {
    let filter = Filter::from_params(params)?;
    let limit = match params.get("limit").map(|l| l.parse::<usize>()) {
        None | Some(Ok(0)) => None,
        Some(Ok(limit)) => Some(limit),
        Some(Err(_)) => {
            return Err(ApiError::bad_request(
                "limit must be a non-negative integer",
            ));
        }
    };
    let after = params
        .get("continue")
        .filter(|c| !c.is_empty())
        .map(|c| decode_continue(c))
        .transpose()?;
    let namespace = namespace.filter(|_| resource.namespaced);
    if let Some(after) = &after {
        expire_compacted(state, after.resource_version).await?;
    }
    let selection = filter.selection();
    // Rows are read in batches a little larger than the page, so a page costs what it returns
    // rather than everything after it; a selector the store answers only in part (`>`, `<`)
    // may need several batches.
    let batch = limit.map(|limit| i64::try_from((limit + 1).max(MIN_BATCH)).unwrap_or(i64::MAX));
    let mut cursor = after
        .as_ref()
        .map(|c| (c.namespace.clone(), c.name.clone()));
    let mut first_version = None;
    let mut rows: Vec<StoredText> = Vec::new();
    let mut continue_token = None;
    'batches: loop {
        let (stored, current_version) = state
            .store
            .list_text(&ListQuery {
                resource: &super::state::resource_id(resource),
                namespace,
                after: cursor
                    .as_ref()
                    .map(|(ns, name)| (ns.as_str(), name.as_str())),
                limit: batch,
                selection,
            })
            .await
            .map_err(internal)?;
        let first_version = *first_version.get_or_insert(current_version);
        // Every page reports the version of the first, as in Kubernetes: later pages show
        // objects as they are now, and what changed since that version is in the event log, so
        // a watch from it misses nothing (objects changed in the part not yet listed come
        // twice, harmlessly).
        let resource_version = after.as_ref().map_or(first_version, |c| c.resource_version);
        let exhausted =
            batch.is_none_or(|batch| i64::try_from(stored.len()).unwrap_or(i64::MAX) < batch);
        for row in stored {
            cursor = Some((row.namespace.clone(), row.name.clone()));
            if !selection.is_exact() && !filter.matches(&parse_body(&row.body).map_err(internal)?) {
                continue;
            }
            if let Some(last) = rows
                .last()
                .filter(|_| limit.is_some_and(|limit| rows.len() == limit))
            {
                continue_token = Some(encode_continue(
                    &last.namespace,
                    &last.name,
                    resource_version,
                ));
                break 'batches;
            }
            rows.push(row);
        }
        if exhausted {
            break;
        }
    }
    let resource_version =
        after.map_or_else(|| first_version.unwrap_or_default(), |c| c.resource_version);
    Ok(Selected {
        rows,
        resource_version,
        continue_token,
    })
}

/// A continue token is good as long as the event log still holds what changed since the list
/// began (its later pages show objects as they are now); after that it is `410 Expired`, as
/// Kubernetes answers a continue token older than its compaction, and clients list again.
async fn expire_compacted(state: &ApiState, list_version: i64) -> Result<(), ApiError> {
    let oldest = state
        .store
        .oldest_resource_version()
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if list_version < oldest {
        return Err(ApiError::gone(
            "The provided continue parameter is too old to display a consistent list result. \
             You can start a new list without the continue parameter.",
        ));
    }
    Ok(())
}

/// The object with `apiVersion` and `kind` of the version it is served in.
pub fn with_type(resource: &ResourceType, mut object: Value) -> Value {
    object["apiVersion"] = json!(resource.api_version());
    object["kind"] = json!(resource.kind);
    object
}

/// The `<Kind>List` document of a page.
pub fn list_document(resource: &ResourceType, page: Page) -> Value {
    let mut metadata = json!({ "resourceVersion": page.resource_version.to_string() });
    if let Some(token) = page.continue_token {
        metadata["continue"] = json!(token);
    }
    json!({ "apiVersion": resource.api_version(), "kind": resource.list_kind(), "metadata": metadata, "items": page.items })
}
