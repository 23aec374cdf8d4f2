//! Router enrollment on the controller's API (bearer tokens): issue a client certificate for a
//! router, list a router's certificates, revoke one. Routers serve the whole network, so only
//! tokens of a root tenant may do this: operations issue and revoke, auditors and operations
//! list. Each issue and revocation is audited (never the key); a certificate whose audit record
//! cannot be written is revoked at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use govcloud_crds::Router;
use govcloud_crds::api::{
    IssuedRouterCertificate, KeyOrigin as WireKeyOrigin, NewRouterCertificate,
    RouterCertificateView,
};
use serde_json::json;

use super::ca::{CaError, IssuedCertificate, KeySource};
use crate::api::auth::Caller;
use crate::api::input::{JsonBody, is_object_name};
use crate::api::openapi::{BadRequest, Forbidden, InvalidInput, NotFound, Unauthorized};
use crate::api::problem::{ApiProblem, ProblemKind};
use crate::api::state::{AppState, AuditEvent, kube_problem, storage_problem};
use crate::report::error_chain;
use crate::storage::{KeyOrigin, NewRouterCertificate as NewRecord, Role, RouterCertificate};

/// Longest CSR accepted (PEM), far above any real request.
const MAX_CSR_BYTES: usize = 16 * 1024;

/// The wire view of a recorded certificate.
pub fn certificate_view(certificate: &RouterCertificate) -> RouterCertificateView {
    RouterCertificateView {
        router: certificate.router.clone(),
        serial: certificate.serial.clone(),
        fingerprint: certificate.fingerprint.clone(),
        key_origin: match certificate.key_origin {
            KeyOrigin::Server => WireKeyOrigin::Server,
            KeyOrigin::Csr => WireKeyOrigin::Csr,
        },
        issued_by: certificate.issued_by.clone(),
        issued_at: certificate.issued_at,
        not_after: certificate.not_after,
        revoked_at: certificate.revoked_at,
        revoked_by: certificate.revoked_by.clone(),
    }
}

/// Checks the role and that the caller's tenant is a root of the hierarchy.
async fn authorize(
    state: &AppState,
    caller: &Caller,
    roles: &[Role],
    action: &str,
) -> Result<(), ApiProblem> {
    caller.require(roles, action)?;
    if !state.scope(caller).await?.is_root() {
        return Err(ApiProblem::new(
            ProblemKind::Forbidden,
            format!(
                "routers serve the whole network: only tokens of a root tenant may {action}, \
                 and tenant {} has a parent",
                caller.tenant
            ),
        ));
    }
    Ok(())
}

/// Answers 404 unless `name` is an existing `Router`.
async fn require_router(state: &AppState, name: &str) -> Result<(), ApiProblem> {
    if !is_object_name(name) {
        return Err(ApiProblem::not_found("router"));
    }
    let routers = kube::Api::<Router>::all(state.client().clone());
    match routers.get_opt(name).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ApiProblem::not_found("router")),
        Err(error) => Err(kube_problem("read the router", &error)),
    }
}

/// Issues a client certificate for router `name` (operations of a root tenant). Without a CSR
/// the answer holds the private key, shown this once and never stored.
#[utoipa::path(
    post,
    path = "/v1/routers/{name}/certificates",
    tag = "routers",
    operation_id = "issueRouterCertificate",
    params(("name" = String, Path, description = "The Router object")),
    request_body = NewRouterCertificate,
    responses(
        (status = 201, description = "The certificate, the agent CA, and the key unless a CSR was sent", body = IssuedRouterCertificate),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = InvalidInput),
    )
)]
pub async fn issue_certificate(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<NewRouterCertificate>,
) -> Result<(StatusCode, Json<IssuedRouterCertificate>), ApiProblem> {
    authorize(&state, &caller, &[Role::Operations], "enroll routers").await?;
    require_router(&state, &name).await?;
    let ca = state.agent_ca().ok_or_else(no_agent_ca)?;
    let key = match body.csr.as_deref() {
        Some(csr) if csr.len() > MAX_CSR_BYTES => {
            return Err(ApiProblem::invalid(
                "csr",
                format!("csr: at most {MAX_CSR_BYTES} bytes are accepted"),
            ));
        }
        Some(csr) => KeySource::Csr(csr),
        None => KeySource::Generate,
    };
    let issued = ca.issue_router(&name, key).map_err(|error| match error {
        CaError::Csr(reason) => ApiProblem::invalid("csr", format!("csr: {reason}")),
        error => {
            tracing::error!(error = %error_chain(&error), "failed to issue a router certificate");
            ApiProblem::internal()
        }
    })?;
    let record = record(&state, &caller, &name, &issued).await?;
    tracing::info!(router = %name, serial = %record.serial, "router certificate issued");
    Ok((
        StatusCode::CREATED,
        Json(IssuedRouterCertificate {
            view: certificate_view(&record),
            certificate: issued.certificate_pem,
            private_key: issued.private_key_pem,
            ca: ca.ca_pem().to_owned(),
        }),
    ))
}

fn no_agent_ca() -> ApiProblem {
    ApiProblem::new(
        ProblemKind::Unavailable,
        "this controller runs without an agent CA: routers cannot be enrolled here",
    )
}

/// Stores and audits an issued certificate; revokes it again if the audit record cannot be
/// written, so that nothing unaudited can reach the agent listener.
async fn record(
    state: &AppState,
    caller: &Caller,
    router: &str,
    issued: &IssuedCertificate,
) -> Result<RouterCertificate, ApiProblem> {
    let identity = &issued.identity;
    let record = state
        .storage()
        .router_certificates()
        .insert(&NewRecord {
            serial: identity.serial.clone(),
            router: router.to_owned(),
            fingerprint: identity.fingerprint.clone(),
            key_origin: if issued.private_key_pem.is_some() {
                KeyOrigin::Server
            } else {
                KeyOrigin::Csr
            },
            issued_by: caller.actor(),
            issued_at: Utc::now(),
            not_after: identity.not_after,
        })
        .await
        .map_err(|error| storage_problem("record a router certificate", &error))?;
    let audited = state
        .audit(
            caller,
            AuditEvent {
                tenant: &caller.tenant,
                action: "router-certificate.issue",
                object_kind: "RouterCertificate",
                object_name: format!("{router}/{}", record.serial),
                detail: json!({
                    "router": router,
                    "serial": record.serial,
                    "fingerprint": record.fingerprint,
                    "keyOrigin": record.key_origin.as_str(),
                    "notAfter": record.not_after,
                }),
            },
        )
        .await;
    if let Err(problem) = audited {
        let revoked = state
            .storage()
            .router_certificates()
            .revoke(router, &record.serial, Utc::now(), "audit failure")
            .await;
        if let Err(error) = revoked {
            tracing::error!(
                serial = %record.serial,
                error = %error_chain(&error),
                "failed to revoke a router certificate whose audit record could not be written"
            );
        }
        return Err(problem);
    }
    Ok(record)
}

/// The certificates of router `name`, revoked and expired included, oldest first (operations
/// and auditors of a root tenant).
#[utoipa::path(
    get,
    path = "/v1/routers/{name}/certificates",
    tag = "routers",
    operation_id = "listRouterCertificates",
    params(("name" = String, Path, description = "The router")),
    responses(
        (status = 200, description = "The router's certificates (never their keys)", body = Vec<RouterCertificateView>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn list_certificates(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Vec<RouterCertificateView>>, ApiProblem> {
    authorize(
        &state,
        &caller,
        &[Role::Operations, Role::Auditor],
        "list router certificates",
    )
    .await?;
    if !is_object_name(&name) {
        return Err(ApiProblem::not_found("router"));
    }
    let certificates = state
        .storage()
        .router_certificates()
        .list_by_router(&name)
        .await
        .map_err(|error| storage_problem("list router certificates", &error))?;
    if certificates.is_empty() {
        // A router that was deleted keeps its certificates' history; an unknown one is a 404.
        require_router(&state, &name).await?;
    }
    Ok(Json(certificates.iter().map(certificate_view).collect()))
}

/// Revokes certificate `serial` of router `name` (operations of a root tenant): the agent
/// listener refuses it from the next request on. Revoking a revoked certificate changes
/// nothing.
#[utoipa::path(
    post,
    path = "/v1/routers/{name}/certificates/{serial}/revocation",
    tag = "routers",
    operation_id = "revokeRouterCertificate",
    params(
        ("name" = String, Path, description = "The router"),
        ("serial" = String, Path, description = "The certificate's serial number (lowercase hex)"),
    ),
    responses(
        (status = 200, description = "The certificate, revoked", body = RouterCertificateView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn revoke_certificate(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, serial)): Path<(String, String)>,
) -> Result<Json<RouterCertificateView>, ApiProblem> {
    authorize(
        &state,
        &caller,
        &[Role::Operations],
        "revoke router certificates",
    )
    .await?;
    let serial = serial.to_ascii_lowercase();
    if !is_object_name(&name) || !crate::storage::is_serial(&serial) {
        return Err(ApiProblem::not_found("certificate"));
    }
    let certificates = state.storage().router_certificates();
    let revoked = match certificates
        .revoke(&name, &serial, Utc::now(), &caller.actor())
        .await
    {
        Ok(revoked) => revoked,
        Err(error) if error.category() == "not_found" => {
            return Err(ApiProblem::not_found("certificate"));
        }
        Err(error) => return Err(storage_problem("revoke a router certificate", &error)),
    };
    let record = certificates
        .find(&serial)
        .await
        .map_err(|error| storage_problem("read a router certificate", &error))?
        .ok_or_else(|| ApiProblem::not_found("certificate"))?;
    if revoked {
        state
            .audit(
                &caller,
                AuditEvent {
                    tenant: &caller.tenant,
                    action: "router-certificate.revoke",
                    object_kind: "RouterCertificate",
                    object_name: format!("{name}/{serial}"),
                    detail: json!({
                        "router": name,
                        "serial": serial,
                        "fingerprint": record.fingerprint,
                    }),
                },
            )
            .await?;
        tracing::info!(router = %name, %serial, "router certificate revoked");
    }
    Ok(Json(certificate_view(&record)))
}
