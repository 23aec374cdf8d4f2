//! `GET /v1/config` on the agent listener: the desired configuration of the router the client
//! certificate names (authenticated as `POST /v1/telemetry` is, by [`authenticate`]), as JSON
//! with its generation and an `ETag`.
//!
//! - `If-None-Match` naming the current ETag: `304 Not Modified`.
//! - `?waitSeconds=N` (0–60) with `If-None-Match`: a long poll — answered as soon as the
//!   configuration's ETag differs, else `304` after N seconds. The configuration is recomputed
//!   every second from inputs read from the API server and the ledger no earlier than the
//!   request (one read shared by every request waiting, so many agents cost one read a second);
//!   the certificate is checked again each time, so a revocation ends a long poll at once.
//!
//! Computing a configuration records it (`crate::routing::record`): its generation grows
//! when its content changes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum_server::tls::TlsInfo;
use chrono::Utc;

use super::peer::{PeerRefusal, authenticate};
use super::state::AgentState;
use crate::api::problem::{ApiProblem, ProblemKind};
use crate::api::state::storage_problem;
use crate::report::error_chain;
use crate::routing::{Served, record};
use govcloud_core::routing::{self, BuildError, etag};

/// The path agents fetch their configuration from.
pub const CONFIG_PATH: &str = "/v1/config";
/// The longest long poll, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 60;
/// How often a long poll recomputes the configuration.
const RECOMPUTE_EVERY: Duration = Duration::from_secs(1);

/// Serves the configuration: `200` with the JSON and its `ETag`, `304` when `If-None-Match`
/// names it (after up to `waitSeconds`), `400` for a bad `waitSeconds`, `403` for a
/// certificate unknown or revoked, `404` when the `Router` does not exist.
pub async fn serve_config(
    State(state): State<AgentState>,
    tls: Option<Extension<Arc<TlsInfo>>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let tls = tls.as_ref().map(|tls| tls.0.as_ref());
    let wait = match wait_seconds(query.as_deref()) {
        Ok(wait) => Duration::from_secs(wait),
        Err(problem) => return problem.into_response(),
    };
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let deadline = started + wait;
    let mut since = started;
    loop {
        let served = match current(&state, tls, since).await {
            Ok(served) => served,
            Err(response) => return response,
        };
        let unchanged = if_none_match
            .as_deref()
            .is_some_and(|tags| etag::matches(tags, &served.etag));
        if !unchanged {
            return ok(&served);
        }
        let now = Instant::now();
        if now >= deadline {
            return not_modified(&served.etag);
        }
        tokio::time::sleep(RECOMPUTE_EVERY.min(deadline - now)).await;
        // Inputs at most a second old, and never older than the request.
        since = Instant::now()
            .checked_sub(RECOMPUTE_EVERY)
            .map_or(started, |recent| recent.max(started));
    }
}

/// `waitSeconds` from the query: 0 when absent; other parameters are refused.
fn wait_seconds(query: Option<&str>) -> Result<u64, ApiProblem> {
    let mut wait = 0;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if key != "waitSeconds" {
            return Err(ApiProblem::new(
                ProblemKind::BadRequest,
                format!("unknown query parameter {key:?}: {CONFIG_PATH} takes waitSeconds only"),
            ));
        }
        wait = value
            .parse::<u64>()
            .ok()
            .filter(|seconds| *seconds <= MAX_WAIT_SECONDS)
            .ok_or_else(|| {
                ApiProblem::new(
                    ProblemKind::BadRequest,
                    format!(
                        "query parameter waitSeconds must be a whole number of seconds from 0 to \
                         {MAX_WAIT_SECONDS}, not {value:?}"
                    ),
                )
            })?;
    }
    Ok(wait)
}

/// The peer's configuration from inputs read at `since` or later, recorded; or the answer
/// that refuses or fails the request.
async fn current(
    state: &AgentState,
    tls: Option<&TlsInfo>,
    since: Instant,
) -> Result<Served, Response> {
    let peer = match authenticate(state.storage(), tls, Utc::now()).await {
        Ok(peer) => peer,
        Err(PeerRefusal::Refused {
            reason,
            router,
            serial,
            problem,
        }) => {
            return Err(refuse(
                state,
                reason,
                router.as_deref(),
                serial.as_deref(),
                problem,
            ));
        }
        Err(PeerRefusal::Failed(problem)) => return Err(problem.into_response()),
    };
    let inputs = state
        .inputs()
        .read_since(since, state.client(), state.storage())
        .await
        .map_err(|error| {
            tracing::error!(router = %peer.router, error = %error_chain(&error), "failed to read the inputs of a configuration");
            ApiProblem::new(
                ProblemKind::Upstream,
                "the controller could not read the objects the configuration is built from; retry",
            )
            .into_response()
        })?;
    let desired = routing::build(&peer.router, &inputs).map_err(|error| match error {
        BuildError::UnknownRouter(router) => refuse(
            state,
            "unknown_router",
            Some(&router),
            Some(&peer.serial),
            ApiProblem::new(
                ProblemKind::NotFound,
                format!("there is no Router object {router:?}; declare it with kubectl first"),
            ),
        ),
    })?;
    record(state.storage(), &desired, Utc::now())
        .await
        .map_err(|error| storage_problem("record a router configuration", &error).into_response())
}

/// Counts, logs and answers a refusal.
fn refuse(
    state: &AgentState,
    reason: &'static str,
    router: Option<&str>,
    serial: Option<&str>,
    problem: ApiProblem,
) -> Response {
    state.metrics().refused(reason);
    tracing::warn!(
        router = router.unwrap_or("(unidentified)"),
        serial = serial.unwrap_or("(none)"),
        reason,
        status = problem.kind().status().as_u16(),
        "configuration request refused"
    );
    problem.into_response()
}

fn etag_header(etag: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{etag}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

fn ok(served: &Served) -> Response {
    match serde_json::to_vec(&served.config) {
        Ok(body) => (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::ETAG, etag_header(&served.etag)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "failed to serialise a router configuration");
            ApiProblem::internal().into_response()
        }
    }
}

fn not_modified(etag: &str) -> Response {
    (
        StatusCode::NOT_MODIFIED,
        [
            (header::ETAG, etag_header(etag)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_seconds_is_from_0_to_60_and_named_when_wrong() {
        assert_eq!(wait_seconds(None).expect("none"), 0);
        assert_eq!(wait_seconds(Some("waitSeconds=60")).expect("60"), 60);
        assert_eq!(wait_seconds(Some("waitSeconds=0")).expect("0"), 0);
        for bad in [
            "waitSeconds=61",
            "waitSeconds=-1",
            "waitSeconds=1.5",
            "waitSeconds=",
        ] {
            let problem = wait_seconds(Some(bad)).expect_err(bad);
            assert_eq!(problem.kind(), ProblemKind::BadRequest);
            assert!(problem.detail().contains("waitSeconds"), "{bad}");
        }
        let problem = wait_seconds(Some("wait=5")).expect_err("unknown");
        assert!(problem.detail().contains("\"wait\""));
    }
}
