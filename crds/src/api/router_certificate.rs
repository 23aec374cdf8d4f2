//! Router enrollment (operations): client certificates for router agents, signed by the agent CA
//! with the router's name as subject, issued with a server-generated key or from the router's
//! certificate signing request, listed and revoked by serial number.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A request for a router's client certificate. Without `csr`, the controller generates the key
/// and returns it once; with one, the key stays on the router.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRouterCertificate {
    /// A PKCS#10 certificate signing request (PEM) made on the router. Only its public key is
    /// used: the subject is always the router's name, the usage always TLS client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csr: Option<String>,
}

/// Where a certificate's private key was generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum KeyOrigin {
    /// By the controller, returned once in the answer to the request and never stored.
    Server,
    /// On the router, which sent a certificate signing request.
    Csr,
}

/// A certificate just issued: the only time its private key (when the controller made it) is
/// shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IssuedRouterCertificate {
    /// What is recorded of it.
    #[serde(flatten)]
    pub view: RouterCertificateView,
    /// The certificate (PEM).
    pub certificate: String,
    /// Its private key (PKCS#8 PEM), when the controller generated it; absent for a CSR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// The agent CA's certificate (PEM): what the agent trusts for the controller's agent
    /// listener, and what signed its certificate.
    pub ca: String,
}

impl std::fmt::Debug for IssuedRouterCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedRouterCertificate")
            .field("view", &self.view)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// A router's certificate as recorded (never its key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RouterCertificateView {
    /// The router named in the certificate's subject (common name).
    pub router: String,
    /// Serial number, lowercase hex: what revocation names.
    pub serial: String,
    /// SHA-256 of the certificate (DER), lowercase hex.
    pub fingerprint: String,
    /// Where its key was generated.
    pub key_origin: KeyOrigin,
    /// Who asked for it (`<token description> (token <id>)`).
    pub issued_by: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it expires.
    pub not_after: DateTime<Utc>,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
}
