//! The agent at the other end of a connection: the client certificate the TLS handshake verified
//! against the agent CA (axum-server puts it in the request's extensions), checked on every
//! request against the certificates the controller issued — so a revocation takes effect at
//! once, even on an open connection.

use axum_server::tls::TlsInfo;
use chrono::{DateTime, Utc};

use super::identity::identify;
use crate::api::problem::{ApiProblem, ProblemKind};
use crate::api::state::storage_problem;
use crate::storage::Storage;

/// A router agent whose certificate the controller issued and has not revoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentPeer {
    /// The router its certificate names.
    pub router: String,
    /// The certificate's serial number.
    pub serial: String,
}

/// Why a peer was not accepted.
#[derive(Debug)]
pub enum PeerRefusal {
    /// Refused: a bounded reason (`unknown_certificate`, `revoked`), what is known of the
    /// certificate, and the answer.
    Refused {
        reason: &'static str,
        router: Option<String>,
        serial: Option<String>,
        problem: ApiProblem,
    },
    /// The lookup failed (already logged).
    Failed(ApiProblem),
}

/// Identifies the peer of `tls` and checks its certificate against storage at `now`: it must
/// be one the controller issued (same serial, router and fingerprint), not revoked, not
/// expired.
pub async fn authenticate(
    storage: &Storage,
    tls: Option<&TlsInfo>,
    now: DateTime<Utc>,
) -> Result<AgentPeer, PeerRefusal> {
    let refuse = |reason, router, serial, detail: String| PeerRefusal::Refused {
        reason,
        router,
        serial,
        problem: ApiProblem::new(ProblemKind::Forbidden, detail),
    };
    let Some(der) = tls.and_then(|tls| tls.peer_certificates.first()) else {
        return Err(refuse(
            "unknown_certificate",
            None,
            None,
            "no client certificate was presented".to_owned(),
        ));
    };
    let identity = identify(der).map_err(|error| {
        refuse(
            "unknown_certificate",
            None,
            None,
            format!("the client certificate names no router: {error}"),
        )
    })?;
    let stored = storage
        .router_certificates()
        .find(&identity.serial)
        .await
        .map_err(|error| PeerRefusal::Failed(storage_problem("look up a certificate", &error)))?;
    let (router, serial) = (Some(identity.router.clone()), Some(identity.serial.clone()));
    let Some(stored) = stored.filter(|stored| {
        stored.router == identity.router && stored.fingerprint == identity.fingerprint
    }) else {
        return Err(refuse(
            "unknown_certificate",
            router,
            serial,
            format!(
                "the client certificate (serial {}) is not one the controller issued; enroll the \
                 router with `govctl router enroll`",
                identity.serial
            ),
        ));
    };
    if let Some(revoked_at) = stored.revoked_at {
        return Err(refuse(
            "revoked",
            router,
            serial,
            format!(
                "the client certificate (serial {}) was revoked at {}; enroll the router again",
                stored.serial,
                revoked_at.to_rfc3339()
            ),
        ));
    }
    if !stored.is_active(now) {
        return Err(refuse(
            "unknown_certificate",
            router,
            serial,
            format!(
                "the client certificate (serial {}) expired at {}; enroll the router again",
                stored.serial,
                stored.not_after.to_rfc3339()
            ),
        ));
    }
    Ok(AgentPeer {
        router: stored.router,
        serial: stored.serial,
    })
}
