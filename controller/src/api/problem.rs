//! Error answers of the API: RFC 9457 `application/problem+json` bodies with a static kind.
//!
//! Handlers return [`ApiProblem`]; the `instance` member (the request path) is filled in by
//! [`add_instance`] around every route, except on `404` answers, whose bodies are the same for a
//! missing object and for one the caller may not see (so that they reveal nothing).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use govcloud_crds::api::{PROBLEM_JSON, Problem, ProblemItem};

/// Where the problem types live: `{PROBLEM_BASE}/{slug}`.
pub const PROBLEM_BASE: &str = "https://govcloud.example.org/problems";

/// `WWW-Authenticate` of an answer to a request without credentials (RFC 6750 §3).
const CHALLENGE: &str = "Bearer realm=\"govcloud\"";
/// `WWW-Authenticate` of an answer to a request with unusable credentials.
const CHALLENGE_INVALID: &str = "Bearer realm=\"govcloud\", error=\"invalid_token\"";

/// The kinds of problem the API answers with; each has one status, slug and title.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// 400: the request cannot be read (not JSON, a bad path).
    BadRequest,
    /// 401: no usable bearer token.
    Unauthorized,
    /// 403: the token's role does not allow this.
    Forbidden,
    /// 404: nothing of that name that the token may see.
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 409: the object's state does not allow this (already decided, changed meanwhile).
    Conflict,
    /// 413: the body is too large.
    PayloadTooLarge,
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 422: the body is JSON but a field is invalid.
    InvalidInput,
    /// 500: a bug or a storage failure.
    Internal,
    /// 502: the Kubernetes API failed.
    Upstream,
    /// 503: not ready yet (the tenant hierarchy is still loading).
    Unavailable,
}

impl ProblemKind {
    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Upstream => StatusCode::BAD_GATEWAY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The last segment of the problem type URI; also a bounded label for logs.
    pub fn slug(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::InvalidInput => "invalid-input",
            Self::Internal => "internal",
            Self::Upstream => "kubernetes-unavailable",
            Self::Unavailable => "unavailable",
        }
    }

    /// The short summary of the kind.
    pub fn title(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad request",
            Self::Unauthorized => "Authentication required",
            Self::Forbidden => "Not allowed for this token's role",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict => "Conflict with the object's state",
            Self::PayloadTooLarge => "Request body too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::InvalidInput => "Invalid input",
            Self::Internal => "Internal error",
            Self::Upstream => "Kubernetes API unavailable",
            Self::Unavailable => "Service unavailable",
        }
    }
}

/// An error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiProblem {
    kind: ProblemKind,
    detail: String,
    field: Option<String>,
    errors: Vec<ProblemItem>,
    challenge: Option<&'static str>,
}

impl ApiProblem {
    /// A problem of `kind` saying `detail`.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
            challenge: None,
        }
    }

    /// The problem with what is wrong with each item of a request that lists several.
    #[must_use]
    pub fn with_errors(self, errors: Vec<ProblemItem>) -> Self {
        Self { errors, ..self }
    }

    /// A 422 naming the field at fault (`requested.cpu`).
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(ProblemKind::InvalidInput, detail)
        }
    }

    /// A 401 for a request without credentials.
    pub fn missing_credentials() -> Self {
        Self {
            challenge: Some(CHALLENGE),
            ..Self::new(
                ProblemKind::Unauthorized,
                "send a govcloud API token as `Authorization: Bearer <token>`",
            )
        }
    }

    /// A 401 for unusable credentials: malformed, unknown, expired or revoked, all alike.
    pub fn invalid_credentials(detail: &str) -> Self {
        Self {
            challenge: Some(CHALLENGE_INVALID),
            ..Self::new(ProblemKind::Unauthorized, detail)
        }
    }

    /// A 404 whose body depends only on `what` (`tenant`, `quota request`, `token`): the same
    /// for a missing object and for one the caller may not see.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            ProblemKind::NotFound,
            format!("no {what} of that name is visible to this token"),
        )
    }

    /// A 500 that tells the caller nothing of the cause (which is logged instead).
    pub fn internal() -> Self {
        Self::new(
            ProblemKind::Internal,
            "the server failed to complete the request; the cause is in its log",
        )
    }

    /// The kind.
    pub fn kind(&self) -> ProblemKind {
        self.kind
    }

    /// The detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The field at fault, if any.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// What is wrong with each item at fault, for a request that lists several.
    pub fn errors(&self) -> &[ProblemItem] {
        &self.errors
    }

    /// The body, with `instance` when given.
    pub fn to_problem(&self, instance: Option<&str>) -> Problem {
        Problem {
            kind: format!("{PROBLEM_BASE}/{}", self.kind.slug()),
            title: self.kind.title().to_owned(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
            instance: instance.map(str::to_owned),
            field: self.field.clone(),
            errors: self.errors.clone(),
        }
    }

    fn render(&self, instance: Option<&str>) -> Response {
        let body = serde_json::to_vec(&self.to_problem(instance)).unwrap_or_default();
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.kind.status();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl std::fmt::Display for ApiProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.slug(), self.detail)
    }
}

impl IntoResponse for ApiProblem {
    fn into_response(self) -> Response {
        let mut response = self.render(None);
        response.extensions_mut().insert(self);
        response
    }
}

/// Middleware: re-renders a problem answer with the request path as its `instance` (except 404s,
/// see the module documentation).
pub async fn add_instance(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    match response.extensions().get::<ApiProblem>() {
        Some(problem) if problem.kind != ProblemKind::NotFound => problem.render(Some(&path)),
        _ => response,
    }
}

/// Fallback of unknown paths.
pub async fn unknown_path() -> ApiProblem {
    ApiProblem::new(
        ProblemKind::NotFound,
        "no such endpoint; the API is described at /v1/openapi.json",
    )
}

/// Fallback of known paths with an unknown method.
pub async fn unknown_method() -> ApiProblem {
    ApiProblem::new(
        ProblemKind::MethodNotAllowed,
        "this endpoint does not support the method; see /v1/openapi.json",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_render_with_their_kind() {
        let problem = ApiProblem::invalid("requested.cpu", "must not be negative");
        let body = problem.to_problem(Some("/v1/tenants/a/quota-requests"));
        assert_eq!(body.status, 422);
        assert_eq!(body.kind, format!("{PROBLEM_BASE}/invalid-input"));
        assert_eq!(body.field.as_deref(), Some("requested.cpu"));
        assert_eq!(
            body.instance.as_deref(),
            Some("/v1/tenants/a/quota-requests")
        );
    }

    #[test]
    fn not_found_depends_only_on_the_kind_of_object() {
        assert_eq!(
            ApiProblem::not_found("tenant"),
            ApiProblem::not_found("tenant")
        );
        assert!(!ApiProblem::not_found("tenant").detail().contains("city"));
    }

    #[test]
    fn unauthorized_answers_carry_a_bearer_challenge() {
        let response = ApiProblem::missing_credentials().into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"govcloud\""
        );
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
