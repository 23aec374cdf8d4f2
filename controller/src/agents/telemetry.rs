//! `POST /v1/telemetry` on the agent listener: an agent's report, accepted only from the router
//! its client certificate names, stored once (samples and the report record in one
//! transaction). Every refusal is logged (router, serial, reason, status; never the body) and
//! counted in `govcloud_telemetry_refused_total{reason}`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use axum_server::tls::TlsInfo;
use chrono::Utc;
use govcloud_crds::api::TelemetryReceipt;

use super::peer::{AgentPeer, PeerRefusal, authenticate};
use super::report::{MAX_REPORT_BYTES, check_report, parse_report};
use super::state::AgentState;
use crate::api::input::is_object_name;
use crate::api::problem::{ApiProblem, ProblemKind};
use crate::api::state::storage_problem;

/// Why a report was not stored.
struct Refusal {
    /// A bounded label (`crate::metrics::TELEMETRY_REFUSAL_REASONS`).
    reason: &'static str,
    router: Option<String>,
    serial: Option<String>,
    problem: ApiProblem,
}

/// What became of a request.
enum Outcome {
    Accepted(TelemetryReceipt),
    Refused(Refusal),
    /// A storage or Kubernetes failure (already logged).
    Failed(ApiProblem),
}

/// Receives a report: `202` with `stored: true`, or `200` with `stored: false` for a report
/// stored before; `400` for a body that does not parse, `403` for a certificate that is unknown
/// or revoked or names another router, `404` when the `Router` does not exist, `413` for a body
/// over 4 MiB, `422` for insane figures.
pub async fn receive_telemetry(
    State(state): State<AgentState>,
    tls: Option<Extension<Arc<TlsInfo>>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match receive(&state, tls.as_ref().map(|tls| tls.0.as_ref()), body).await {
        Outcome::Accepted(receipt) => {
            state.metrics().accepted(receipt.stored);
            let status = if receipt.stored {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            (status, Json(receipt)).into_response()
        }
        Outcome::Refused(refusal) => {
            state.metrics().refused(refusal.reason);
            tracing::warn!(
                router = refusal.router.as_deref().unwrap_or("(unidentified)"),
                serial = refusal.serial.as_deref().unwrap_or("(none)"),
                reason = refusal.reason,
                status = refusal.problem.kind().status().as_u16(),
                "telemetry refused"
            );
            refusal.problem.into_response()
        }
        Outcome::Failed(problem) => problem.into_response(),
    }
}

async fn receive(
    state: &AgentState,
    tls: Option<&TlsInfo>,
    body: Result<Bytes, BytesRejection>,
) -> Outcome {
    let now = Utc::now();
    let peer = match authenticate(state.storage(), tls, now).await {
        Ok(peer) => peer,
        Err(PeerRefusal::Refused {
            reason,
            router,
            serial,
            problem,
        }) => {
            return Outcome::Refused(Refusal {
                reason,
                router,
                serial,
                problem,
            });
        }
        Err(PeerRefusal::Failed(problem)) => return Outcome::Failed(problem),
    };
    let refuse = |reason, problem| {
        Outcome::Refused(Refusal {
            reason,
            router: Some(peer.router.clone()),
            serial: Some(peer.serial.clone()),
            problem,
        })
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(
                "too_large",
                ApiProblem::new(
                    ProblemKind::PayloadTooLarge,
                    format!("a report may be at most {MAX_REPORT_BYTES} bytes"),
                ),
            );
        }
        Err(_) => {
            return refuse(
                "malformed",
                ApiProblem::new(ProblemKind::BadRequest, "the body could not be read"),
            );
        }
    };
    let report = match parse_report(&body) {
        Ok(report) => report,
        Err(problem) => return refuse("malformed", problem),
    };
    if report.router != peer.router {
        return refuse("router_mismatch", mismatch(&peer));
    }
    let samples = match check_report(&report, now) {
        Ok(samples) => samples,
        Err(problem) => return refuse("invalid", problem),
    };
    match router_exists(state, &peer.router).await {
        Ok(true) => {}
        Ok(false) => {
            return refuse(
                "unknown_router",
                ApiProblem::new(
                    ProblemKind::NotFound,
                    format!(
                        "there is no Router object {:?}; declare it with kubectl first",
                        peer.router
                    ),
                ),
            );
        }
        Err(problem) => return Outcome::Failed(problem),
    }
    match state
        .storage()
        .telemetry()
        .store_report(&report, now, &samples)
        .await
    {
        Ok(stored) => {
            tracing::debug!(
                router = %peer.router,
                sequence = report.sequence,
                links = samples.len(),
                stored,
                "telemetry received"
            );
            Outcome::Accepted(TelemetryReceipt {
                sequence: report.sequence,
                stored,
            })
        }
        Err(error) => Outcome::Failed(storage_problem("store a telemetry report", &error)),
    }
}

async fn router_exists(state: &AgentState, router: &str) -> Result<bool, ApiProblem> {
    if !is_object_name(router) {
        return Ok(false);
    }
    state.router_exists(router).await
}

/// The 403 of a report for another router than the certificate's.
fn mismatch(peer: &AgentPeer) -> ApiProblem {
    ApiProblem::new(
        ProblemKind::Forbidden,
        format!(
            "this client certificate is router {:?}'s: it may only send that router's reports \
             (`router` must be {:?})",
            peer.router, peer.router
        ),
    )
}
