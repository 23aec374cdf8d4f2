//! Quota requests through the API: departments (editors) create them, everyone in scope reads
//! them, operations approve or deny them by setting `spec.approval`.
//!
//! Every request is validated before anything is written; a request is written to Kubernetes
//! as a `QuotaRequest` object (field manager `govcloud-api`), then audited.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chrono::{DateTime, Utc};
use govcloud_crds::QuotaRequest;
use govcloud_crds::api::{DecisionRequest, NewQuotaRequest, QuotaRequestView};
use govcloud_crds::common::{Approval, Decision, Duration, ResourceAmounts};
use govcloud_crds::quantity::{Amount, ResourceKind};
use govcloud_crds::tenancy::quota_request::{QuotaRequestPhase, QuotaRequestSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use super::auth::{Caller, actor_token_id};
use super::duration::parse_go_duration;
use super::input::{JsonBody, is_object_name};
use super::openapi::{BadRequest, Conflict, Forbidden, InvalidInput, NotFound, Unauthorized};
use super::problem::{ApiProblem, ProblemKind};
use super::scope::Scope;
use super::state::{AppState, AuditEvent, kube_problem};
use crate::storage::Role;
use govcloud_core::kube_time::from_kube;

/// The field manager of everything the API writes to Kubernetes.
pub const FIELD_MANAGER: &str = "govcloud-api";
/// Label naming a quota request's tenant (also set by the examples).
pub const TENANT_LABEL: &str = "govcloud.io/tenant";
/// Annotation holding the id of the token that created a request.
pub const REQUESTED_BY_TOKEN: &str = "govcloud.io/requested-by-token";

/// How long a request stays open when the body does not say.
const DEFAULT_VALID_FOR: &str = "720h";
/// The longest a request may stay open (a year).
const MAX_VALID_FOR_HOURS: i64 = 24 * 366;
/// Justifications are between these many characters long.
const JUSTIFICATION_CHARS: std::ops::RangeInclusive<usize> = 10..=2000;
/// Decision reasons are between these many characters long.
const REASON_CHARS: std::ops::RangeInclusive<usize> = 1..=2000;
/// Attempts at a fresh generated name when one is taken.
const NAME_ATTEMPTS: usize = 3;

/// A new request that passed validation, with quantities in canonical form.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidRequest {
    /// New totals.
    pub requested: ResourceAmounts,
    /// Why.
    pub justification: String,
    /// How long it stays open.
    pub valid_for: Duration,
}

/// Checks a new request, pure: at least one resource, each quantity parses and is not
/// negative, a justification of 10 to 2000 characters, a validity between one minute and a
/// year. The problem names the field at fault.
pub fn validate_new_request(body: &NewQuotaRequest) -> Result<ValidRequest, ApiProblem> {
    let requested = &body.requested;
    if requested.cpu.is_none() && requested.memory.is_none() && requested.storage.is_none() {
        return Err(ApiProblem::invalid(
            "requested",
            "request at least one of cpu, memory or storage",
        ));
    }
    let check = |kind: ResourceKind, value: Option<&Quantity>| -> Result<_, ApiProblem> {
        let Some(value) = value else {
            return Ok(None);
        };
        let field = format!("requested.{kind}");
        let amount = Amount::from_quantity(value)
            .map_err(|error| ApiProblem::invalid(field.clone(), format!("{field}: {error}")))?;
        if amount.is_negative() {
            return Err(ApiProblem::invalid(
                field.clone(),
                format!("{field} must not be negative, got {:?}", value.0),
            ));
        }
        Ok(Some(amount.to_quantity(kind)))
    };
    let requested = ResourceAmounts {
        cpu: check(ResourceKind::Cpu, requested.cpu.as_ref())?,
        memory: check(ResourceKind::Memory, requested.memory.as_ref())?,
        storage: check(ResourceKind::Storage, requested.storage.as_ref())?,
    };
    let justification = body.justification.trim();
    let length = justification.chars().count();
    if !JUSTIFICATION_CHARS.contains(&length) {
        return Err(ApiProblem::invalid(
            "justification",
            format!(
                "justification must be {} to {} characters long, got {length}",
                JUSTIFICATION_CHARS.start(),
                JUSTIFICATION_CHARS.end()
            ),
        ));
    }
    let valid_for = body.valid_for.as_deref().unwrap_or(DEFAULT_VALID_FOR);
    let lifetime = parse_go_duration(valid_for)
        .map_err(|error| ApiProblem::invalid("validFor", format!("validFor: {error}")))?;
    if lifetime < chrono::TimeDelta::minutes(1)
        || lifetime > chrono::TimeDelta::hours(MAX_VALID_FOR_HOURS)
    {
        return Err(ApiProblem::invalid(
            "validFor",
            format!("validFor must be between 1m and {MAX_VALID_FOR_HOURS}h, got {valid_for:?}"),
        ));
    }
    Ok(ValidRequest {
        requested,
        justification: justification.to_owned(),
        valid_for: Duration::from(valid_for),
    })
}

/// Checks a decision's reason, pure.
pub fn validate_reason(body: &DecisionRequest) -> Result<String, ApiProblem> {
    let reason = body.reason.trim();
    let length = reason.chars().count();
    if REASON_CHARS.contains(&length) {
        Ok(reason.to_owned())
    } else {
        Err(ApiProblem::invalid(
            "reason",
            format!(
                "reason must be {} to {} characters long, got {length}",
                REASON_CHARS.start(),
                REASON_CHARS.end()
            ),
        ))
    }
}

/// `<tenant>-<yyyymmdd>-<five random letters and digits>`.
pub fn generate_name(tenant: &str, now: DateTime<Utc>) -> Result<String, ApiProblem> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0_u8; 5];
    getrandom::fill(&mut bytes).map_err(|error| {
        tracing::error!(%error, "failed to read random bytes");
        ApiProblem::internal()
    })?;
    let suffix: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    Ok(format!("{tenant}-{}-{suffix}", now.format("%Y%m%d")))
}

/// The view of a request, pure. Until the controller records a phase, a decided request shows
/// the decision (`Approved` or `Denied`) rather than `Pending`, and the expiry is computed from
/// `validFor`.
pub fn quota_request_view(request: &QuotaRequest) -> QuotaRequestView {
    let status = request.status.clone().unwrap_or_default();
    let created_at = request
        .metadata
        .creation_timestamp
        .as_ref()
        .and_then(from_kube);
    let phase = match (&status.phase, &request.spec.approval) {
        (QuotaRequestPhase::Pending, Some(approval)) => match approval.decision {
            Decision::Approved => QuotaRequestPhase::Approved,
            Decision::Denied => QuotaRequestPhase::Denied,
        },
        (phase, _) => *phase,
    };
    let expires_at = status.expires_at.as_ref().and_then(from_kube).or_else(|| {
        let lifetime = parse_go_duration(request.spec.valid_for.as_str()).ok()?;
        created_at?.checked_add_signed(lifetime)
    });
    QuotaRequestView {
        name: request.metadata.name.clone().unwrap_or_default(),
        tenant: request.spec.tenant.clone(),
        requested: request.spec.requested.clone(),
        justification: request.spec.justification.clone(),
        requested_by: request.spec.requested_by.clone(),
        phase,
        approval: request.spec.approval.clone(),
        created_at,
        decided_at: status.decided_at.as_ref().and_then(from_kube),
        expires_at,
    }
}

/// The id of the token that created the request, from the annotation the API sets or else
/// from `requestedBy`.
pub fn creator_token(request: &QuotaRequest) -> Option<i64> {
    request
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(REQUESTED_BY_TOKEN))
        .and_then(|id| id.parse().ok())
        .or_else(|| {
            request
                .spec
                .requested_by
                .as_deref()
                .and_then(actor_token_id)
        })
}

fn api(state: &AppState) -> Api<QuotaRequest> {
    Api::all(state.client().clone())
}

/// `tenant` if the path names a tenant the caller sees, else the 404 of a missing tenant.
fn visible_tenant(scope: &Scope, tenant: &str) -> Result<(), ApiProblem> {
    if is_object_name(tenant) && scope.sees(tenant) {
        Ok(())
    } else {
        Err(ApiProblem::not_found("tenant"))
    }
}

/// The tenant's request `name`, or the 404 of a missing request.
async fn find(state: &AppState, tenant: &str, name: &str) -> Result<QuotaRequest, ApiProblem> {
    if !is_object_name(name) {
        return Err(ApiProblem::not_found("quota request"));
    }
    api(state)
        .get_opt(name)
        .await
        .map_err(|error| kube_problem("read the quota request", &error))?
        .filter(|request| request.spec.tenant == tenant)
        .ok_or_else(|| ApiProblem::not_found("quota request"))
}

/// The tenant's quota requests, oldest first.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/quota-requests",
    tag = "quota requests",
    operation_id = "listQuotaRequests",
    params(("tenant" = String, Path, description = "Tenant name")),
    responses(
        (status = 200, description = "The tenant's quota requests, oldest first", body = Vec<QuotaRequestView>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn list_quota_requests(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<QuotaRequestView>>, ApiProblem> {
    visible_tenant(&state.scope(&caller).await?, &tenant)?;
    let list = api(&state)
        .list(&ListParams::default())
        .await
        .map_err(|error| kube_problem("list quota requests", &error))?;
    let mut views: Vec<QuotaRequestView> = list
        .items
        .iter()
        .filter(|request| request.spec.tenant == tenant)
        .map(quota_request_view)
        .collect();
    views.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
    Ok(Json(views))
}

/// One quota request.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/quota-requests/{name}",
    tag = "quota requests",
    operation_id = "getQuotaRequest",
    params(
        ("tenant" = String, Path, description = "Tenant name"),
        ("name" = String, Path, description = "Quota request name"),
    ),
    responses(
        (status = 200, description = "The quota request", body = QuotaRequestView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_quota_request(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<QuotaRequestView>, ApiProblem> {
    visible_tenant(&state.scope(&caller).await?, &tenant)?;
    let request = find(&state, &tenant, &name).await?;
    Ok(Json(quota_request_view(&request)))
}

/// Requests a new quota for the tenant (editor or operations). `spec.requestedBy` is the
/// caller's token; the name is generated.
#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/quota-requests",
    tag = "quota requests",
    operation_id = "createQuotaRequest",
    params(("tenant" = String, Path, description = "Tenant name")),
    request_body = NewQuotaRequest,
    responses(
        (status = 201, description = "The request, created", body = QuotaRequestView,
            headers(("Location" = String, description = "Path of the new request"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = InvalidInput),
    )
)]
pub async fn create_quota_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    JsonBody(body): JsonBody<NewQuotaRequest>,
) -> Result<(StatusCode, HeaderMap, Json<QuotaRequestView>), ApiProblem> {
    caller.require(&[Role::Editor, Role::Operations], "request quota")?;
    visible_tenant(&state.scope(&caller).await?, &tenant)?;
    let valid = validate_new_request(&body)?;
    let spec = QuotaRequestSpec {
        tenant: tenant.clone(),
        requested: valid.requested.clone(),
        justification: valid.justification.clone(),
        requested_by: Some(caller.actor()),
        valid_for: valid.valid_for.clone(),
        approval: None,
    };
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    };
    let mut attempt = 0;
    let created = loop {
        attempt += 1;
        let object = QuotaRequest {
            metadata: ObjectMeta {
                name: Some(generate_name(&tenant, Utc::now())?),
                labels: Some(BTreeMap::from([(TENANT_LABEL.to_owned(), tenant.clone())])),
                annotations: Some(BTreeMap::from([(
                    REQUESTED_BY_TOKEN.to_owned(),
                    caller.token_id.to_string(),
                )])),
                ..ObjectMeta::default()
            },
            spec: spec.clone(),
            status: None,
        };
        match api(&state).create(&params, &object).await {
            Ok(created) => break created,
            Err(kube::Error::Api(status))
                if status.is_already_exists() && attempt < NAME_ATTEMPTS => {}
            Err(error) => return Err(kube_problem("create the quota request", &error)),
        }
    };
    let view = quota_request_view(&created);
    let audited = state
        .audit(
            &caller,
            AuditEvent {
                tenant: &tenant,
                action: "quota-request.create",
                object_kind: "QuotaRequest",
                object_name: view.name.clone(),
                detail: json!({
                    "requested": valid.requested,
                    "justification": valid.justification,
                    "validFor": valid.valid_for,
                }),
            },
        )
        .await;
    if let Err(problem) = audited {
        // Nothing stays unaudited: take the request back.
        if let Err(error) = api(&state)
            .delete(&view.name, &DeleteParams::default())
            .await
        {
            tracing::error!(
                name = %view.name,
                error = %crate::report::error_chain(&error),
                "failed to delete a quota request whose audit record could not be written"
            );
        }
        return Err(problem);
    }
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!(
        "/v1/tenants/{tenant}/quota-requests/{}",
        view.name
    )) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, Json(view)))
}

/// Approves a request (operations; never the token that created it).
#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/quota-requests/{name}/approve",
    tag = "quota requests",
    operation_id = "approveQuotaRequest",
    params(
        ("tenant" = String, Path, description = "Tenant name"),
        ("name" = String, Path, description = "Quota request name"),
    ),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "The request, approved", body = QuotaRequestView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = InvalidInput),
    )
)]
pub async fn approve_quota_request(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<DecisionRequest>,
) -> Result<Json<QuotaRequestView>, ApiProblem> {
    decide(&state, &caller, &tenant, &name, &body, Decision::Approved).await
}

/// Denies a request (operations; never the token that created it).
#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/quota-requests/{name}/deny",
    tag = "quota requests",
    operation_id = "denyQuotaRequest",
    params(
        ("tenant" = String, Path, description = "Tenant name"),
        ("name" = String, Path, description = "Quota request name"),
    ),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "The request, denied", body = QuotaRequestView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = InvalidInput),
    )
)]
pub async fn deny_quota_request(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<DecisionRequest>,
) -> Result<Json<QuotaRequestView>, ApiProblem> {
    decide(&state, &caller, &tenant, &name, &body, Decision::Denied).await
}

/// Whether `caller` (scope `scope`) may decide `request`, pure: not the token that created it,
/// and not a request of the caller's own tenant unless that tenant is a root (a department's
/// operations token cannot raise its own quota); only undecided requests that have not
/// expired at `now`.
pub fn check_decision(
    caller: &Caller,
    scope: &Scope,
    request: &QuotaRequest,
    now: DateTime<Utc>,
) -> Result<(), ApiProblem> {
    if creator_token(request) == Some(caller.token_id) {
        return Err(ApiProblem::new(
            ProblemKind::Forbidden,
            "a token cannot decide a quota request it created; another operations token must",
        ));
    }
    if !scope.is_below(&request.spec.tenant) && !scope.is_root() {
        return Err(ApiProblem::new(
            ProblemKind::Forbidden,
            format!(
                "requests of tenant {} are decided by the operations of a parent tenant",
                request.spec.tenant
            ),
        ));
    }
    if let Some(approval) = &request.spec.approval {
        let decision = match approval.decision {
            Decision::Approved => "approved",
            Decision::Denied => "denied",
        };
        return Err(ApiProblem::new(
            ProblemKind::Conflict,
            format!(
                "the request was already {decision} by {}; a decision cannot be changed",
                approval.decided_by
            ),
        ));
    }
    let view = quota_request_view(request);
    if view.phase == QuotaRequestPhase::Expired || view.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiProblem::new(
            ProblemKind::Conflict,
            "the request expired undecided; the tenant can file a new one",
        ));
    }
    Ok(())
}

async fn decide(
    state: &AppState,
    caller: &Caller,
    tenant: &str,
    name: &str,
    body: &DecisionRequest,
    decision: Decision,
) -> Result<Json<QuotaRequestView>, ApiProblem> {
    caller.require(&[Role::Operations], "decide quota requests")?;
    let reason = validate_reason(body)?;
    let scope = state.scope(caller).await?;
    visible_tenant(&scope, tenant)?;
    let request = find(state, tenant, name).await?;
    check_decision(caller, &scope, &request, Utc::now())?;
    let approval = Approval {
        decision,
        decided_by: caller.actor(),
        reason,
    };
    // Exclusive without a resourceVersion precondition (which the controller's status writes
    // would keep invalidating): the JSON patch applies only while no decision is recorded.
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/approval", "value": null},
        {"op": "add", "path": "/spec/approval", "value": approval},
    ]))
    .map_err(|error| {
        ApiProblem::new(
            ProblemKind::Internal,
            format!("failed to build the decision patch: {error}"),
        )
    })?;
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    let decided = match api(state)
        .patch(name, &params, &Patch::<()>::Json(patch))
        .await
    {
        Ok(decided) => decided,
        Err(kube::Error::Api(status)) if status.code == 422 => {
            return Err(ApiProblem::new(
                ProblemKind::Conflict,
                "the request was decided meanwhile",
            ));
        }
        Err(error) => return Err(kube_problem("record the decision", &error)),
    };
    let (action, verb) = match decision {
        Decision::Approved => ("quota-request.approve", "Approved"),
        Decision::Denied => ("quota-request.deny", "Denied"),
    };
    state
        .audit(
            caller,
            AuditEvent {
                tenant,
                action,
                object_kind: "QuotaRequest",
                object_name: name.to_owned(),
                detail: json!({
                    "decision": verb,
                    "reason": approval.reason,
                    "requested": request.spec.requested,
                }),
            },
        )
        .await?;
    Ok(Json(quota_request_view(&decided)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::scope::Hierarchy;

    fn body(cpu: Option<&str>, justification: &str) -> NewQuotaRequest {
        NewQuotaRequest {
            requested: ResourceAmounts {
                cpu: cpu.map(|c| Quantity(c.to_owned())),
                memory: Some(Quantity("1.5Gi".to_owned())),
                storage: None,
            },
            justification: justification.to_owned(),
            valid_for: None,
        }
    }

    const WHY: &str = "the tax system moves onto the cloud";

    #[test]
    fn valid_requests_are_canonical() {
        let valid = validate_new_request(&body(Some("0.5"), WHY)).expect("valid");
        assert_eq!(valid.requested.cpu, Some(Quantity("500m".into())));
        assert_eq!(valid.requested.memory, Some(Quantity("1536Mi".into())));
        assert_eq!(valid.valid_for.as_str(), "720h");
    }

    #[test]
    fn invalid_requests_name_the_field() {
        let cases = [
            (body(Some("-4"), WHY), "requested.cpu"),
            (body(Some("lots"), WHY), "requested.cpu"),
            (body(Some("4"), "short"), "justification"),
            (body(Some("4"), "         x          "), "justification"),
            (
                NewQuotaRequest {
                    valid_for: Some("5d".into()),
                    ..body(Some("4"), WHY)
                },
                "validFor",
            ),
            (
                NewQuotaRequest {
                    valid_for: Some("10000h".into()),
                    ..body(Some("4"), WHY)
                },
                "validFor",
            ),
            (
                NewQuotaRequest {
                    requested: ResourceAmounts::default(),
                    ..body(None, WHY)
                },
                "requested",
            ),
        ];
        for (request, field) in cases {
            let problem = validate_new_request(&request).expect_err(field);
            assert_eq!(problem.kind(), ProblemKind::InvalidInput);
            assert_eq!(problem.field(), Some(field), "{problem}");
        }
        assert!(
            validate_new_request(&body(Some("-4"), WHY))
                .expect_err("negative")
                .detail()
                .contains("negative")
        );
    }

    #[test]
    fn reasons_are_required() {
        let reason = |r: &str| DecisionRequest { reason: r.into() };
        assert_eq!(validate_reason(&reason(" ok ")), Ok("ok".to_owned()));
        assert_eq!(
            validate_reason(&reason("  ")).expect_err("blank").field(),
            Some("reason")
        );
    }

    #[test]
    fn names_are_generated_per_tenant_and_day() {
        let now = DateTime::from_timestamp(1_740_816_000, 0).expect("time");
        let name = generate_name("city-finance", now).expect("name");
        assert!(name.starts_with("city-finance-20250301-"), "{name}");
        assert_eq!(name.len(), "city-finance-20250301-".len() + 5);
        assert!(is_object_name(&name));
        assert_ne!(name, generate_name("city-finance", now).expect("name"));
    }

    fn request(tenant: &str, by_token: Option<i64>, approval: Option<Approval>) -> QuotaRequest {
        let mut request = QuotaRequest::new(
            "r",
            QuotaRequestSpec {
                tenant: tenant.into(),
                requested: ResourceAmounts::default(),
                justification: WHY.into(),
                requested_by: by_token.map(|id| format!("someone (token {id})")),
                valid_for: Duration::from("720h"),
                approval,
            },
        );
        request.metadata.creation_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::now(),
            ));
        request
    }

    fn operations(tenant: &str, id: i64) -> Caller {
        Caller {
            token_id: id,
            tenant: tenant.into(),
            role: Role::Operations,
            description: "ops".into(),
            expires_at: None,
        }
    }

    #[test]
    fn decisions_are_checked() {
        let hierarchy = Hierarchy::new([
            ("ankang", None),
            ("hanbin", Some("ankang")),
            ("hanbin-town", Some("hanbin")),
        ]);
        let now = Utc::now();
        let root = operations("ankang", 1);
        let root_scope = hierarchy.scope("ankang");
        assert!(check_decision(&root, &root_scope, &request("hanbin", Some(2), None), now).is_ok());
        assert!(check_decision(&root, &root_scope, &request("ankang", Some(2), None), now).is_ok());
        let own = check_decision(&root, &root_scope, &request("hanbin", Some(1), None), now)
            .expect_err("self");
        assert_eq!(own.kind(), ProblemKind::Forbidden);
        let county = operations("hanbin", 3);
        let county_scope = hierarchy.scope("hanbin");
        assert!(
            check_decision(
                &county,
                &county_scope,
                &request("hanbin-town", Some(2), None),
                now
            )
            .is_ok()
        );
        assert_eq!(
            check_decision(
                &county,
                &county_scope,
                &request("hanbin", Some(2), None),
                now
            )
            .expect_err("own tenant")
            .kind(),
            ProblemKind::Forbidden
        );
        let decided = request(
            "hanbin",
            Some(2),
            Some(Approval {
                decision: Decision::Denied,
                decided_by: "x".into(),
                reason: "no".into(),
            }),
        );
        assert_eq!(
            check_decision(&root, &root_scope, &decided, now)
                .expect_err("decided")
                .kind(),
            ProblemKind::Conflict
        );
        let later = now + chrono::TimeDelta::hours(721);
        assert_eq!(
            check_decision(&root, &root_scope, &request("hanbin", Some(2), None), later)
                .expect_err("expired")
                .kind(),
            ProblemKind::Conflict
        );
    }

    #[test]
    fn views_show_decisions_before_the_controller_does() {
        let approved = request(
            "hanbin",
            Some(2),
            Some(Approval {
                decision: Decision::Approved,
                decided_by: "x".into(),
                reason: "yes".into(),
            }),
        );
        let view = quota_request_view(&approved);
        assert_eq!(view.phase, QuotaRequestPhase::Approved);
        assert!(view.expires_at > view.created_at);
        assert_eq!(creator_token(&approved), Some(2));
    }
}
