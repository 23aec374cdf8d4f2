//! The OpenAPI document, derived from the code: `utoipa` reads the `#[utoipa::path]` annotation
//! of each handler (registered with the router through `utoipa_axum::routes!`, so a route and
//! its documentation cannot part) and the `ToSchema` derives of the wire types in
//! `govcloud_crds::api`. `docs/api/openapi.json` is this document, checked for drift by a test.

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use govcloud_crds::api::Problem;
use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The body of a 400 answer.
#[derive(Debug, utoipa::ToResponse)]
#[response(
    description = "The request cannot be read (the body is not JSON)",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct BadRequest(Problem);

/// The body of a 401 answer.
#[derive(Debug, utoipa::ToResponse)]
#[response(
    description = "No token, a malformed one, or one that is unknown, expired or revoked",
    content_type = "application/problem+json",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"govcloud\"`, with `error=\"invalid_token\"` when a token was sent"))
)]
#[allow(dead_code)]
pub struct Unauthorized(Problem);

/// The body of a 403 answer.
#[derive(Debug, utoipa::ToResponse)]
#[response(
    description = "The token's role does not allow this, or the token created the request it tries to decide",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct Forbidden(Problem);

/// The body of a 404 answer.
#[derive(Debug, utoipa::ToResponse)]
#[response(
    description = "No such object visible to the token: the same answer for a missing object and for another tenant's",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct NotFound(Problem);

/// The body of a 409 answer.
#[derive(Debug, utoipa::ToResponse)]
#[response(
    description = "The request is already decided or expired, or changed meanwhile",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct Conflict(Problem);

/// The body of a 422 answer.
#[derive(Debug, utoipa::ToResponse)]
#[response(
    description = "A field is invalid; `field` names it (`requested.cpu`, `justification`)",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct InvalidInput(Problem);

/// The `bearer` security scheme.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("gct_<43 base64url characters>")
                    .description(Some(
                        "An API token scoped to one tenant and one role, issued by operations",
                    ))
                    .build(),
            ),
        );
    }
}

/// What the document says beyond the handlers.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    info(
        title = "govcloud controller API",
        version = "v1",
        description = "The self-service API of the municipal government cloud. A token is scoped \
            to one tenant and sees that tenant and its descendants; any other tenant's objects \
            answer the same 404 as missing ones. Roles: `viewer` reads; `editor` also requests \
            quota; `operations` also decides requests and administers tokens; `auditor` reads \
            and uses the audit endpoints. Errors are RFC 9457 `application/problem+json`."
    ),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    components(
        schemas(Problem),
        responses(BadRequest, Unauthorized, Forbidden, NotFound, Conflict, InvalidInput)
    ),
    tags(
        (name = "tenants", description = "Tenants: quota, usage, namespaces"),
        (name = "quota requests", description = "Requests for a different quota and their decisions"),
        (name = "migrations", description = "Systems migrating onto the cloud: submission, approval, step confirmations"),
        (name = "migration plans", description = "Migration campaigns: waves, windows, projection; other tenants' systems as counts only"),
        (name = "routers", description = "Routers and their agents (read by any token of a root tenant); enrollment: client certificates of the router agents, for operations of a root tenant"),
        (name = "extranet links", description = "The redundant extranet links and their compliance, read by any token of a root tenant"),
        (name = "dedicated networks", description = "Departments' dedicated networks and their consolidation: disposition, phase, VLAN/VRF/prefix per site, savings; a token sees its tenant's and descendants' networks, a root tenant's all"),
        (name = "tokens", description = "The caller's token, and token administration for operations"),
        (name = "audit", description = "The hash-chained audit log"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// This document, as `docs/api/openapi.json` holds it: pretty JSON and a final newline.
pub fn document_json() -> String {
    let mut json = super::openapi()
        .to_pretty_json()
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    json.push('\n');
    json
}

static DOCUMENT: LazyLock<String> = LazyLock::new(document_json);

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    security(()),
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json"))
)]
pub async fn openapi_json() -> Response {
    let mut response = DOCUMENT.as_str().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
