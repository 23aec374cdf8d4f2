//! The HTTP surface: one handler that routes every path the way Kubernetes' `RequestInfo`
//! does, then answers discovery, OpenAPI, or a verb on a resource.

mod body;
mod gc;
mod meta;
mod read;
mod state;
mod watch;
mod write;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use state::ApiState;

use crate::error::ApiError;
use crate::request::{ResourcePath, Route, route};
use crate::resource::ResourceType;
use crate::table::{parse_include_object, table, wants_table};
use crate::{discovery, openapi};

/// The router of the API (authentication is layered on by the server).
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn dispatch(
    State(state): State<Arc<ApiState>>,
    method: Method,
    uri: Uri,
    Query(params): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = handle(&state, &method, &uri, &params, &headers, &body).await;
    match result {
        Ok(response) => response,
        Err(error) => {
            if error.code >= 500 {
                tracing::error!(%method, path = uri.path(), error = %error.message, "request failed");
            }
            error.into_response()
        }
    }
}

async fn handle(
    state: &Arc<ApiState>,
    method: &Method,
    uri: &Uri,
    params: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let route = route(uri.path()).ok_or_else(|| ApiError::no_route(uri.path()))?;
    if !matches!(route, Route::Resource(_)) && method != Method::GET {
        return Err(ApiError::method_not_allowed(format!(
            "{method} is not supported on {}",
            uri.path()
        )));
    }
    match route {
        Route::Resource(path) => resource(state, method, &path, params, headers, body).await,
        other => document(state, other, uri.path()),
    }
}

/// Discovery and OpenAPI documents, which describe every served type.
fn document(state: &ApiState, route: Route, path: &str) -> Result<Response, ApiError> {
    let types = state.registry.all();
    let ok = |value: Option<Value>| {
        value
            .map(|v| json_response(StatusCode::OK, &v))
            .ok_or_else(|| ApiError::no_route(path))
    };
    match route {
        Route::Version => ok(Some(discovery::version_info())),
        Route::Health => Ok((StatusCode::OK, "ok").into_response()),
        Route::CoreApi => ok(Some(discovery::core_api_versions(&state.server_address))),
        Route::Apis => ok(Some(discovery::api_group_list(&types))),
        Route::ApiGroup(group) => ok(discovery::api_group(&group, &types)),
        Route::ResourceList { group, version } => {
            ok(discovery::api_resource_list(&group, &version, &types))
        }
        Route::OpenApiV3Root => ok(Some(openapi::v3_root(&types))),
        Route::OpenApiV3 { group, version } => {
            ok(openapi::v3_group_version(&group, &version, &types))
        }
        // No OpenAPI v2: kubectl falls back to v3. Resources are not documents.
        Route::OpenApiV2 | Route::Resource(_) => Err(ApiError::no_route(path)),
    }
}

/// The served type a resource path addresses, or `404`.
fn resolve(state: &ApiState, path: &ResourcePath) -> Result<Arc<ResourceType>, ApiError> {
    let resource = state
        .registry
        .lookup(&path.group, &path.version, &path.plural)
        .ok_or_else(|| {
            ApiError::no_route(&format!("{}/{}/{}", path.group, path.version, path.plural))
        })?;
    if path.namespace.is_some() && !resource.namespaced {
        return Err(ApiError::no_route(&format!(
            "{} is not namespaced",
            resource.plural
        )));
    }
    if let Some(subresource) = path.subresource.as_deref()
        && (subresource != "status" || !resource.status_subresource)
    {
        return Err(ApiError::no_route(&format!(
            "{}/{subresource}",
            resource.plural
        )));
    }
    Ok(resource)
}

async fn resource(
    state: &Arc<ApiState>,
    method: &Method,
    path: &ResourcePath,
    params: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let resource = resolve(state, path)?;
    let namespace = path.namespace.as_deref();
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let as_table = wants_table(accept);
    let include = parse_include_object(params.get("includeObject").map(String::as_str));
    let content_type = body::content_type(headers);
    let Some(name) = path.name.as_deref() else {
        return collection(
            state,
            method,
            &resource,
            namespace,
            params,
            body,
            &content_type,
            as_table.then_some(include),
        )
        .await;
    };
    let key = ApiState::key(&resource, namespace, name);
    let subresource = path.subresource.as_deref();
    let object = match *method {
        Method::GET => write::current(state, &resource, &key).await?.object,
        Method::PUT => {
            write::update(
                state,
                &resource,
                &key,
                subresource,
                body::parse(body, &content_type)?,
                params,
            )
            .await?
        }
        Method::PATCH => {
            write::patch(
                state,
                &resource,
                &key,
                subresource,
                &content_type,
                body,
                params,
            )
            .await?
        }
        Method::DELETE => {
            let (options, propagation) = delete_options(params, body, &content_type)?;
            write::delete(
                state,
                &resource,
                &key,
                &propagation,
                options.get("preconditions"),
            )
            .await?
        }
        _ => {
            return Err(ApiError::method_not_allowed(format!(
                "{method} is not supported on an object"
            )));
        }
    };
    let object = read::with_type(&resource, object);
    if as_table && *method == Method::GET {
        return Ok(json_response(
            StatusCode::OK,
            &table(&resource, std::slice::from_ref(&object), include, json!({})),
        ));
    }
    Ok(json_response(StatusCode::OK, &object))
}

/// The `DeleteOptions` of a `DELETE` (its body, `null` when empty) and its propagation policy
/// (query parameter first, then body; `Background` by default).
fn delete_options(
    params: &BTreeMap<String, String>,
    body: &[u8],
    content_type: &str,
) -> Result<(Value, String), ApiError> {
    let options = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        body::parse(body, content_type)?
    };
    let propagation = params
        .get("propagationPolicy")
        .map(String::as_str)
        .or_else(|| options.get("propagationPolicy").and_then(Value::as_str))
        .unwrap_or("Background")
        .to_owned();
    Ok((options, propagation))
}

#[allow(clippy::too_many_arguments)]
async fn collection(
    state: &Arc<ApiState>,
    method: &Method,
    resource: &Arc<ResourceType>,
    namespace: Option<&str>,
    params: &BTreeMap<String, String>,
    body: &[u8],
    content_type: &str,
    table_include: Option<crate::table::IncludeObject>,
) -> Result<Response, ApiError> {
    match *method {
        Method::GET if params.get("watch").is_some_and(|w| w == "true" || w == "1") => {
            let presentation = watch::Presentation {
                table: table_include,
            };
            watch::watch(
                Arc::clone(state),
                Arc::clone(resource),
                namespace.map(str::to_owned),
                params,
                presentation,
            )
        }
        Method::GET => match table_include {
            Some(include) => {
                let page = read::list(state, resource, namespace, params).await?;
                let mut list_meta = json!({"resourceVersion": page.resource_version.to_string()});
                if let Some(token) = &page.continue_token {
                    list_meta["continue"] = json!(token);
                }
                Ok(json_response(
                    StatusCode::OK,
                    &table(resource, &page.items, include, list_meta),
                ))
            }
            None => Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                read::list_json(state, resource, namespace, params).await?,
            )
                .into_response()),
        },
        Method::POST => {
            let object = body::parse(body, content_type)?;
            let created = write::create(state, resource, namespace, object, params).await?;
            Ok(json_response(
                StatusCode::CREATED,
                &read::with_type(resource, created),
            ))
        }
        Method::DELETE => {
            let (_, propagation) = delete_options(params, body, content_type)?;
            let page = read::list(state, resource, namespace, params).await?;
            let mut deleted = Vec::new();
            for object in page.items {
                let name = object
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let object_namespace = object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let key = ApiState::key(resource, object_namespace.as_deref(), &name);
                match write::delete(state, resource, &key, &propagation, None).await {
                    Ok(object) => deleted.push(read::with_type(resource, object)),
                    Err(error) if error.code == 404 => {}
                    Err(error) => return Err(error),
                }
            }
            let page = read::Page {
                items: deleted,
                resource_version: state
                    .store
                    .current_resource_version()
                    .await
                    .map_err(|e| ApiError::internal(e.to_string()))?,
                continue_token: None,
            };
            Ok(json_response(
                StatusCode::OK,
                &read::list_document(resource, page),
            ))
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "{method} is not supported on a collection"
        ))),
    }
}
