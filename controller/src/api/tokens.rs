//! Token administration (operations only, within the operations token's subtree): issue a
//! token (the secret is shown once, only its SHA-256 is stored), list a tenant's tokens, revoke.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use govcloud_crds::api::{IssuedToken, NewToken, TokenView};
use serde_json::json;

use super::auth::{Caller, mint_secret};
use super::duration::parse_go_duration;
use super::input::{JsonBody, is_object_name, query_pairs, query_value};
use super::openapi::{BadRequest, Forbidden, InvalidInput, NotFound, Unauthorized};
use super::problem::ApiProblem;
use super::state::{AppState, AuditEvent, storage_problem};
use super::tenants::{stored_role, wire_role};
use crate::storage::{
    ApiToken, AuditRecord, NewApiToken, NewAuditRecord, Role, Storage, StorageError,
};

/// Lifetime of a token when the request does not say (90 days).
pub const DEFAULT_TOKEN_LIFETIME: &str = "2160h";
/// The longest lifetime a token may have (a year).
const MAX_TOKEN_HOURS: i64 = 24 * 366;
/// Descriptions are between these many characters long.
const DESCRIPTION_CHARS: std::ops::RangeInclusive<usize> = 1..=200;

/// A token request that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidToken {
    /// Who holds it.
    pub description: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// Checks a token request, pure: a description of 1 to 200 characters, a lifetime between a
/// minute and a year (90 days when absent).
pub fn validate_new_token(body: &NewToken, now: DateTime<Utc>) -> Result<ValidToken, ApiProblem> {
    let description = body.description.trim();
    let length = description.chars().count();
    if !DESCRIPTION_CHARS.contains(&length) || description.chars().any(char::is_control) {
        return Err(ApiProblem::invalid(
            "description",
            format!(
                "description must be {} to {} printable characters long, got {length}",
                DESCRIPTION_CHARS.start(),
                DESCRIPTION_CHARS.end()
            ),
        ));
    }
    let text = body.expires_in.as_deref().unwrap_or(DEFAULT_TOKEN_LIFETIME);
    let lifetime = parse_go_duration(text)
        .map_err(|error| ApiProblem::invalid("expiresIn", format!("expiresIn: {error}")))?;
    if lifetime < TimeDelta::minutes(1) || lifetime > TimeDelta::hours(MAX_TOKEN_HOURS) {
        return Err(ApiProblem::invalid(
            "expiresIn",
            format!("expiresIn must be between 1m and {MAX_TOKEN_HOURS}h, got {text:?}"),
        ));
    }
    Ok(ValidToken {
        description: description.to_owned(),
        expires_at: now + lifetime,
    })
}

/// The wire view of a stored token.
pub fn token_view(token: &ApiToken) -> TokenView {
    TokenView {
        id: token.id,
        tenant: token.tenant.clone(),
        role: wire_role(token.role),
        description: token.description.clone(),
        created_at: token.created_at,
        expires_at: token.expires_at,
        revoked_at: token.revoked_at,
    }
}

/// Mints and stores a token with its audit record of `actor`'s issue, in one transaction (a
/// token is never stored without its record); returns the secret, the stored token and the
/// record.
pub async fn issue(
    storage: &Storage,
    tenant: &str,
    role: Role,
    description: &str,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    actor: &str,
) -> Result<(String, ApiToken, AuditRecord), IssueError> {
    let secret = mint_secret().map_err(IssueError::Random)?;
    let (token, record) = storage
        .tokens()
        .insert_audited(
            &NewApiToken {
                tenant: tenant.to_owned(),
                role,
                token_hash: secret.hash,
                created_at,
                expires_at,
                description: description.to_owned(),
            },
            |token| NewAuditRecord {
                at: created_at,
                actor: actor.to_owned(),
                tenant: Some(token.tenant.clone()),
                action: ISSUE_ACTION.to_owned(),
                object_kind: TOKEN_KIND.to_owned(),
                object_name: token.id.to_string(),
                detail: issue_detail(token),
            },
        )
        .await
        .map_err(IssueError::Storage)?;
    Ok((secret.secret, token, record))
}

/// The audit action of an issued token.
pub const ISSUE_ACTION: &str = "token.issue";
/// The audit object kind of tokens.
pub const TOKEN_KIND: &str = "ApiToken";

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The operating system gave no random bytes.
    #[error("failed to read random bytes for a token: {0}")]
    Random(getrandom::Error),
    /// The token could not be stored.
    #[error(transparent)]
    Storage(StorageError),
}

/// The audit detail of an issued token (never the secret or its hash).
pub fn issue_detail(token: &ApiToken) -> serde_json::Value {
    json!({
        "tokenId": token.id,
        "role": token.role.as_str(),
        "description": token.description,
        "expiresAt": token.expires_at,
    })
}

/// The tenant's tokens (operations).
#[utoipa::path(
    get,
    path = "/v1/tokens",
    tag = "tokens",
    operation_id = "listTokens",
    params(("tenant" = Option<String>, Query, description = "The tenant whose tokens to list; the caller's own tenant when absent")),
    responses(
        (status = 200, description = "The tenant's tokens, revoked and expired included, oldest first", body = Vec<TokenView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = InvalidInput),
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<TokenView>>, ApiProblem> {
    caller.require(&[Role::Operations], "list tokens")?;
    let pairs = query_pairs(query.as_deref());
    let tenant = query_value::<String>(&pairs, "tenant", "a tenant name")?
        .unwrap_or_else(|| caller.tenant.clone());
    let scope = state.scope(&caller).await?;
    if !is_object_name(&tenant) || !scope.sees(&tenant) {
        return Err(ApiProblem::not_found("tenant"));
    }
    let tokens = state
        .storage()
        .tokens()
        .list_by_tenant(&tenant)
        .await
        .map_err(|error| storage_problem("list tokens", &error))?;
    Ok(Json(tokens.iter().map(token_view).collect()))
}

/// Issues a token for a tenant in the caller's subtree (operations). The secret is in the
/// answer and nowhere else.
#[utoipa::path(
    post,
    path = "/v1/tokens",
    tag = "tokens",
    operation_id = "issueToken",
    request_body = NewToken,
    responses(
        (status = 201, description = "The token; its secret is shown this once", body = IssuedToken),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = InvalidInput),
    )
)]
pub async fn issue_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewToken>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiProblem> {
    caller.require(&[Role::Operations], "issue tokens")?;
    let scope = state.scope(&caller).await?;
    if !is_object_name(&body.tenant) || !scope.sees(&body.tenant) {
        return Err(ApiProblem::not_found("tenant"));
    }
    let now = Utc::now();
    let valid = validate_new_token(&body, now)?;
    let (secret, token, record) = issue(
        state.storage(),
        &body.tenant,
        stored_role(body.role),
        &valid.description,
        now,
        Some(valid.expires_at),
        &caller.actor(),
    )
    .await
    .map_err(|error| match error {
        IssueError::Storage(error) => storage_problem("store a token and its audit record", &error),
        IssueError::Random(error) => {
            tracing::error!(%error, "failed to read random bytes for a token");
            ApiProblem::internal()
        }
    })?;
    state.metrics().record_appended();
    tracing::info!(
        seq = record.seq,
        action = ISSUE_ACTION,
        tenant = %token.tenant,
        object = %format!("{TOKEN_KIND}/{}", token.id),
        token = caller.token_id,
        "audited"
    );
    Ok((
        StatusCode::CREATED,
        Json(IssuedToken {
            token: secret,
            view: token_view(&token),
        }),
    ))
}

/// Revokes a token of a tenant in the caller's subtree (operations). Revoking a revoked token
/// changes nothing and answers 204 again.
#[utoipa::path(
    delete,
    path = "/v1/tokens/{id}",
    tag = "tokens",
    operation_id = "revokeToken",
    params(("id" = i64, Path, description = "Token identifier")),
    responses(
        (status = 204, description = "The token is revoked"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiProblem> {
    caller.require(&[Role::Operations], "revoke tokens")?;
    let id: i64 = id.parse().map_err(|_| ApiProblem::not_found("token"))?;
    let scope = state.scope(&caller).await?;
    let mut found = None;
    for tenant in scope.tenants() {
        let tokens = state
            .storage()
            .tokens()
            .list_by_tenant(tenant)
            .await
            .map_err(|error| storage_problem("list tokens", &error))?;
        if let Some(token) = tokens.into_iter().find(|token| token.id == id) {
            found = Some(token);
            break;
        }
    }
    let token = found.ok_or_else(|| ApiProblem::not_found("token"))?;
    let revoked = state
        .storage()
        .tokens()
        .revoke(&token.tenant, token.id, Utc::now())
        .await
        .map_err(|error| storage_problem("revoke a token", &error))?;
    if revoked {
        state
            .audit(
                &caller,
                AuditEvent {
                    tenant: &token.tenant,
                    action: "token.revoke",
                    object_kind: "ApiToken",
                    object_name: token.id.to_string(),
                    detail: json!({
                        "tokenId": token.id,
                        "role": token.role.as_str(),
                        "description": token.description,
                    }),
                },
            )
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use govcloud_crds::api::Role as WireRole;

    fn new_token(description: &str, expires_in: Option<&str>) -> NewToken {
        NewToken {
            tenant: "city-finance".into(),
            role: WireRole::Editor,
            description: description.into(),
            expires_in: expires_in.map(str::to_owned),
        }
    }

    #[test]
    fn token_requests_are_validated() {
        let now = Utc::now();
        let valid = validate_new_token(&new_token(" Li Wei ", None), now).expect("valid");
        assert_eq!(valid.description, "Li Wei");
        assert_eq!(valid.expires_at, now + TimeDelta::days(90));
        let valid = validate_new_token(&new_token("x", Some("24h")), now).expect("valid");
        assert_eq!(valid.expires_at, now + TimeDelta::days(1));
        for (body, field) in [
            (new_token("", None), "description"),
            (new_token(&"x".repeat(201), None), "description"),
            (new_token("a\nb", None), "description"),
            (new_token("x", Some("forever")), "expiresIn"),
            (new_token("x", Some("9000h")), "expiresIn"),
            (new_token("x", Some("1s")), "expiresIn"),
        ] {
            assert_eq!(
                validate_new_token(&body, now).expect_err(field).field(),
                Some(field)
            );
        }
    }
}
