//! The controller's HTTPS API under `/v1` (axum + rustls): who-am-I, tenants, quota requests,
//! migrations and campaigns, token administration and the audit log, for `govctl` and auditors.
//!
//! - **TLS only**: [`serve`] speaks HTTPS on its port and nothing else.
//! - **Tokens**: bearer tokens scoped to one tenant and one role, stored as SHA-256 hashes
//!   ([`auth`]); unknown, expired and revoked tokens are a `401`, a role that does not allow
//!   the call a `403`.
//! - **Visibility**: a token sees its tenant and the tenant's descendants, from the `Tenant`
//!   objects' `spec.parent` (watched); another tenant's object answers the same `404` as a
//!   missing one ([`scope`]). Routers and extranet links belong to no tenant: tokens of a
//!   root tenant read them ([`network`]).
//! - **Router enrollment**: client certificates of the router agents, issued, listed and revoked
//!   by tokens of a root tenant ([`crate::agents::enrollment`]); the agents themselves report
//!   to a separate mutual-TLS listener ([`crate::agents::listener`]).
//! - **Errors**: every error is `application/problem+json` ([`problem`]).
//! - **Audit**: every change appends a record to the hash-chained audit log, counted in
//!   `govcloud_audit_records_total`; `govcloud_audit_chain_intact` holds the last verification.
//! - **OpenAPI**: generated from the handlers and wire types ([`mod@openapi`]), served at
//!   `/v1/openapi.json` and committed as `docs/api/openapi.json`.
//!
//! See `docs/adr/0006-api-auth-visibility-openapi.md`.

pub mod audit;
pub mod auth;
pub mod duration;
pub mod input;
pub mod ipv6;
pub mod migrations;
pub mod network;
pub mod openapi;
pub mod problem;
pub mod quota_requests;
pub mod scope;
pub mod state;
pub mod tenants;
pub mod tokens;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use chrono::{TimeDelta, Utc};
use futures::StreamExt as _;
use govcloud_apiserver::tls::{ServerCertificates, TlsError};
use govcloud_crds::Tenant;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::{reflector, watcher};
use tokio::task::JoinHandle;
use tracing::Instrument as _;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::audit::{AuditMetrics, verify_chain};
use self::state::AppState;
use self::tokens::{IssueError, issue};
use crate::report::error_chain;
use crate::storage::{Role, Storage, StorageError};

/// How often the audit chain is verified in the background (the gauge's freshness).
const VERIFY_INTERVAL: Duration = Duration::from_secs(600);
/// How long open requests may finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Lifetime of the operations token of local mode.
const BOOTSTRAP_TOKEN_DAYS: i64 = 365;
/// Actor of the audit record of the operations token of local mode.
const BOOTSTRAP_ACTOR: &str = "govcloud-controller local mode";

/// Where and with which certificate to serve.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Address to listen on; port 0 picks a free port.
    pub address: SocketAddr,
    /// The serving certificate (local mode shares the embedded API server's).
    pub certificates: ServerCertificates,
    /// The agent CA that signs router certificates; without it, enrollment answers 503.
    pub agent_ca: Option<crate::agents::AgentCa>,
}

/// Errors of starting the API or issuing its first token.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The audit metrics could not be registered (already registered in this registry?).
    #[error("failed to register the audit metrics")]
    Metrics(#[source] prometheus::Error),
    /// The certificates cannot serve TLS.
    #[error("failed to configure TLS for the API")]
    Tls(#[source] TlsError),
    /// The address could not be bound.
    #[error("failed to listen on {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The audit log could not be read at start.
    #[error("failed to verify the audit log")]
    Audit(#[source] StorageError),
    /// A token could not be issued.
    #[error("failed to issue the operations token")]
    Token(#[source] IssueError),
}

impl ApiError {
    /// A static, bounded label for metrics and logs.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Metrics(_) => "metrics",
            Self::Tls(_) => "tls",
            Self::Bind { .. } => "bind",
            Self::Audit(_) => "audit",
            Self::Token(_) => "token",
        }
    }
}

/// A running API.
#[derive(Debug)]
pub struct RunningApi {
    /// The bound address.
    pub address: SocketAddr,
    /// `https://ADDRESS`.
    pub url: String,
    handle: axum_server::Handle<SocketAddr>,
    serving: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl RunningApi {
    /// Stops accepting, lets open requests finish briefly, and stops the background tasks.
    pub async fn shutdown(self) {
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        for task in &self.background {
            task.abort();
        }
        match self.serving.await {
            Ok(Err(error)) => tracing::warn!(%error, "the API server stopped with an error"),
            Err(error) if error.is_panic() => tracing::error!("the API server panicked"),
            _ => {}
        }
    }
}

/// The routes, with their documentation.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(tenants::whoami))
        .routes(routes!(tenants::get_tenant))
        .routes(routes!(
            quota_requests::list_quota_requests,
            quota_requests::create_quota_request
        ))
        .routes(routes!(quota_requests::get_quota_request))
        .routes(routes!(quota_requests::approve_quota_request))
        .routes(routes!(quota_requests::deny_quota_request))
        .routes(routes!(tokens::list_tokens, tokens::issue_token))
        .routes(routes!(tokens::revoke_token))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(
                    migrations::read::list_migrations,
                    migrations::submit::submit_migrations
                ))
                .layer(DefaultBodyLimit::max(migrations::MAX_SUBMISSION_BYTES)),
        )
        .routes(routes!(migrations::read::get_migration))
        .routes(routes!(migrations::decisions::decide_migration))
        .routes(routes!(migrations::confirmations::confirm_step))
        .routes(routes!(migrations::plans::list_migration_plans))
        .routes(routes!(migrations::plans::get_migration_plan))
        .routes(routes!(
            crate::agents::enrollment::list_certificates,
            crate::agents::enrollment::issue_certificate
        ))
        .routes(routes!(crate::agents::enrollment::revoke_certificate))
        .routes(routes!(network::list_routers))
        .routes(routes!(network::get_router))
        .routes(routes!(network::list_links))
        .routes(routes!(network::get_link))
        .routes(routes!(network::dedicated::list_networks))
        .routes(routes!(network::dedicated::get_network))
        .routes(routes!(ipv6::get_ipv6_status))
        .routes(routes!(audit::export_audit))
        .routes(routes!(audit::verify_audit))
        .routes(routes!(openapi::openapi_json))
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The application: routes, fallbacks, body limit, problem instances and request logs.
pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    router
        .fallback(problem::unknown_path)
        .method_not_allowed_fallback(problem::unknown_method)
        .layer(DefaultBodyLimit::max(input::MAX_BODY_BYTES))
        .layer(middleware::from_fn(problem::add_instance))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Logs each request with its route template (never its headers, body or query) and the
/// caller's token id once authenticated.
async fn log_request(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unknown)", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!(
        "api",
        method = %request.method(),
        route = %route,
        token = tracing::field::Empty,
    );
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, elapsed_ms, "request failed");
        } else {
            tracing::debug!(status, elapsed_ms, "request served");
        }
    });
    response
}

/// Starts the API on `config.address` (HTTPS only): registers the audit metrics in `registry`,
/// verifies the audit chain once (and every ten minutes after), watches the tenants for
/// visibility, and serves until [`RunningApi::shutdown`].
pub async fn serve(
    config: ApiConfig,
    client: kube::Client,
    storage: Storage,
    registry: &prometheus::Registry,
) -> Result<RunningApi, ApiError> {
    let metrics = AuditMetrics::register(registry).map_err(ApiError::Metrics)?;
    verify_chain(&storage, &metrics)
        .await
        .map_err(ApiError::Audit)?;
    let rustls = govcloud_apiserver::tls::rustls_config(&config.certificates)
        .await
        .map_err(ApiError::Tls)?;
    let bind_error = |source| ApiError::Bind {
        address: config.address,
        source,
    };
    let listener = std::net::TcpListener::bind(config.address).map_err(bind_error)?;
    listener.set_nonblocking(true).map_err(bind_error)?;
    let address = listener.local_addr().map_err(bind_error)?;

    let (tenants, writer) = reflector::store::<Tenant>();
    let watch = reflector(
        writer,
        watcher(
            kube::Api::<Tenant>::all(client.clone()),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .for_each(|event| async move {
        if let Err(error) = event {
            tracing::warn!(error = %error_chain(&error), "the watch of tenants failed; retrying");
        }
    });
    let watching = tokio::spawn(watch);
    let verifying = tokio::spawn(verify_periodically(storage.clone(), metrics.clone()));

    let state = AppState::new(client, storage, tenants, metrics, config.agent_ca);
    let server = axum_server::from_tcp_rustls(listener, rustls).map_err(bind_error)?;
    let handle = axum_server::Handle::new();
    let serving = tokio::spawn(
        server
            .handle(handle.clone())
            .serve(router(state).into_make_service()),
    );
    let url = format!("https://{address}");
    tracing::info!(%url, "controller API ready");
    Ok(RunningApi {
        address,
        url,
        handle,
        serving,
        background: vec![watching, verifying],
    })
}

async fn verify_periodically(storage: Storage, metrics: AuditMetrics) {
    let mut ticker = tokio::time::interval(VERIFY_INTERVAL);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(error) = verify_chain(&storage, &metrics).await {
            tracing::warn!(error = %error_chain(&error), "failed to verify the audit log");
        }
    }
}

/// Issues an operations token scoped to `root_tenant` (valid for a year) for local mode, with
/// its audit record, and returns the secret (to be written to `DATA/govctl.toml` only).
pub async fn bootstrap_operations_token(
    storage: &Storage,
    root_tenant: &str,
) -> Result<String, ApiError> {
    issue_audited_token(
        storage,
        &NewBootstrapToken {
            tenant: root_tenant,
            role: Role::Operations,
            description: "local mode operations (govctl)",
            actor: BOOTSTRAP_ACTOR,
            lifetime: TimeDelta::days(BOOTSTRAP_TOKEN_DAYS),
        },
    )
    .await
}

/// A token issued outside the API, by whoever holds the database (local mode, or
/// `govcloud-controller issue-token` for a cluster's first operations token).
#[derive(Clone, Copy, Debug)]
pub struct NewBootstrapToken<'a> {
    /// The tenant it is scoped to.
    pub tenant: &'a str,
    /// Its role.
    pub role: Role,
    /// What it is for (shown in token lists).
    pub description: &'a str,
    /// Who issued it, for the audit record.
    pub actor: &'a str,
    /// How long it is valid.
    pub lifetime: TimeDelta,
}

/// Issues `new` with its audit record, and returns the secret (shown once, never stored).
pub async fn issue_audited_token(
    storage: &Storage,
    new: &NewBootstrapToken<'_>,
) -> Result<String, ApiError> {
    let now = Utc::now();
    let root_tenant = new.tenant;
    let (secret, _, _) = issue(
        storage,
        root_tenant,
        new.role,
        new.description,
        now,
        Some(now + new.lifetime),
        new.actor,
    )
    .await
    .map_err(ApiError::Token)?;
    Ok(secret)
}
