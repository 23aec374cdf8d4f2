//! The controller's HTTPS API as typed calls, one method per endpoint, over a blocking client
//! (ureq, rustls with the ring provider) that trusts the given CA. Error answers are read as
//! RFC 9457 problems; transport failures are sorted into "cannot reach" and "TLS".

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use govcloud_crds::api::{
    API_PREFIX, AuditVerification, DecisionRequest, IssuedToken, NewQuotaRequest, NewToken,
    Problem, QuotaRequestView, TenantView, TokenView, WhoAmI,
};
use govcloud_crds::common::Decision;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Serialize;
use serde::de::DeserializeOwned;
use ureq::http::Response;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
use ureq::{Agent, Body};

use crate::exit::Exit;
use crate::settings::Secret;

mod dedicated_network;
mod ipv6;
mod migration;
mod network;
mod router_certificates;

/// Time allowed to open a connection (TCP and TLS).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for the server to start answering once the request is sent (verifying a long
/// audit chain takes a while).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest JSON answer read into memory (the audit export streams instead).
const BODY_LIMIT: u64 = 64 * 1024 * 1024;
/// Media types of answers govctl reads.
const ACCEPT_JSON: &str = "application/json, application/problem+json";
const ACCEPT_NDJSON: &str = "application/x-ndjson, application/problem+json";

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The CA file cannot be used.
    #[error("failed to read the CA certificate {path}: {reason}")]
    Ca { path: String, reason: String },
    /// No answer: connection refused, name not found, timeout.
    #[error("cannot reach the server at {server}: {reason}")]
    Unreachable { server: String, reason: String },
    /// The TLS handshake failed, usually because the CA does not match the server.
    #[error(
        "failed to connect securely to {server}: {reason} (is the CA file the one that signed the server's certificate?)"
    )]
    Tls { server: String, reason: String },
    /// The server answered with an error status.
    #[error("{}", status_message(*status, problem.as_deref(), body))]
    Status {
        status: u16,
        problem: Option<Box<Problem>>,
        body: String,
    },
    /// The answer is not what the API promises.
    #[error("the server's answer is not valid: {0}")]
    Invalid(String),
    /// Anything else the HTTP client reports.
    #[error("the request failed: {0}")]
    Request(String),
}

impl ApiError {
    /// The exit code the error ends `govctl` with.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Ca { .. } => Exit::Usage,
            Self::Unreachable { .. } => Exit::Server,
            Self::Status { status, .. } => Exit::for_status(*status),
            Self::Tls { .. } | Self::Invalid(_) | Self::Request(_) => Exit::Failure,
        }
    }
}

/// `404 Not Found: no tenant named x (field requested.cpu)`, from the problem when there is one.
fn status_message(status: u16, problem: Option<&Problem>, body: &str) -> String {
    let Some(problem) = problem else {
        let reason = ureq::http::StatusCode::from_u16(status)
            .ok()
            .and_then(|code| code.canonical_reason())
            .unwrap_or("error");
        let excerpt: String = body.trim().chars().take(200).collect();
        return if excerpt.is_empty() {
            format!("{status} {reason}")
        } else {
            format!("{status} {reason}: {excerpt}")
        };
    };
    let mut message = format!("{status} {}", problem.title);
    if !problem.detail.is_empty() {
        message.push_str(": ");
        message.push_str(&problem.detail);
    }
    if let Some(field) = &problem.field {
        message.push_str(" (field ");
        message.push_str(field);
        message.push(')');
    }
    message
}

/// A client of one server, with one token.
pub struct Client {
    agent: Agent,
    server: String,
    authorization: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of `server` (`https://HOST:PORT`, no trailing slash) that trusts the
    /// certificates in the `ca` file (PEM), or the well-known public authorities without one.
    pub fn new(server: &str, ca: Option<&Path>, token: &Secret) -> Result<Self, ApiError> {
        let roots = match ca {
            Some(path) => RootCerts::from(read_ca(path)?),
            None => RootCerts::WebPki,
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .root_certs(roots)
            .build();
        let agent = Agent::config_builder()
            .tls_config(tls)
            .https_only(true)
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(RESPONSE_TIMEOUT))
            .user_agent(concat!("govctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Self {
            agent,
            server: server.trim_end_matches('/').to_owned(),
            authorization: format!("Bearer {}", token.expose()),
        })
    }

    /// The server's URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// `GET /v1/whoami`
    pub fn whoami(&self) -> Result<WhoAmI, ApiError> {
        self.get("/whoami")
    }

    /// `GET /v1/tenants/{tenant}`
    pub fn tenant(&self, tenant: &str) -> Result<TenantView, ApiError> {
        self.get(&format!("/tenants/{}", segment(tenant)))
    }

    /// `GET /v1/tenants/{tenant}/quota-requests`
    pub fn quota_requests(&self, tenant: &str) -> Result<Vec<QuotaRequestView>, ApiError> {
        self.get(&format!("/tenants/{}/quota-requests", segment(tenant)))
    }

    /// `GET /v1/tenants/{tenant}/quota-requests/{name}`
    pub fn quota_request(&self, tenant: &str, name: &str) -> Result<QuotaRequestView, ApiError> {
        self.get(&format!(
            "/tenants/{}/quota-requests/{}",
            segment(tenant),
            segment(name)
        ))
    }

    /// `POST /v1/tenants/{tenant}/quota-requests`
    pub fn create_quota_request(
        &self,
        tenant: &str,
        request: &NewQuotaRequest,
    ) -> Result<QuotaRequestView, ApiError> {
        self.post(
            &format!("/tenants/{}/quota-requests", segment(tenant)),
            request,
        )
    }

    /// `POST /v1/tenants/{tenant}/quota-requests/{name}/approve` or `…/deny`
    pub fn decide_quota_request(
        &self,
        tenant: &str,
        name: &str,
        decision: Decision,
        reason: &DecisionRequest,
    ) -> Result<QuotaRequestView, ApiError> {
        let verb = match decision {
            Decision::Approved => "approve",
            Decision::Denied => "deny",
        };
        self.post(
            &format!(
                "/tenants/{}/quota-requests/{}/{verb}",
                segment(tenant),
                segment(name)
            ),
            reason,
        )
    }

    /// `GET /v1/tokens[?tenant=…]`
    pub fn tokens(&self, tenant: Option<&str>) -> Result<Vec<TokenView>, ApiError> {
        let mut request = self.request_get("/tokens", ACCEPT_JSON);
        if let Some(tenant) = tenant {
            request = request.query("tenant", tenant);
        }
        read_json(self.check(request.call())?)
    }

    /// `POST /v1/tokens`
    pub fn issue_token(&self, token: &NewToken) -> Result<IssuedToken, ApiError> {
        self.post("/tokens", token)
    }

    /// `DELETE /v1/tokens/{id}`
    pub fn revoke_token(&self, id: i64) -> Result<(), ApiError> {
        let request = self
            .agent
            .delete(self.url(&format!("/tokens/{id}")))
            .header("Authorization", &self.authorization)
            .header("Accept", ACCEPT_JSON);
        self.check(request.call()).map(drop)
    }

    /// `GET /v1/audit[?from=…&to=…]`: the records as JSON lines, streamed.
    pub fn audit_export(
        &self,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<impl Read + use<>, ApiError> {
        let mut request = self.request_get("/audit", ACCEPT_NDJSON);
        if let Some(from) = from {
            request = request.query("from", from.to_string());
        }
        if let Some(to) = to {
            request = request.query("to", to.to_string());
        }
        Ok(self.check(request.call())?.into_body().into_reader())
    }

    /// `GET /v1/audit/verify`
    pub fn audit_verify(&self) -> Result<AuditVerification, ApiError> {
        self.get("/audit/verify")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.server)
    }

    fn request_get(
        &self,
        path: &str,
        accept: &str,
    ) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        self.agent
            .get(self.url(path))
            .header("Authorization", &self.authorization)
            .header("Accept", accept)
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        read_json(self.check(self.request_get(path, ACCEPT_JSON).call())?)
    }

    fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ApiError> {
        let body =
            serde_json::to_vec(body).map_err(|error| ApiError::Request(error.to_string()))?;
        let request = self
            .agent
            .post(self.url(path))
            .header("Authorization", &self.authorization)
            .header("Accept", ACCEPT_JSON)
            .content_type("application/json");
        read_json(self.check(request.send(&body[..]))?)
    }

    /// The answer if it is a success; otherwise why not.
    fn check(
        &self,
        result: Result<Response<Body>, ureq::Error>,
    ) -> Result<Response<Body>, ApiError> {
        let mut response = result.map_err(|error| self.transport_error(error))?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(response);
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .lossy_utf8(true)
            .read_to_string()
            .unwrap_or_default();
        let problem = serde_json::from_str::<Problem>(&body).ok().map(Box::new);
        Err(ApiError::Status {
            status,
            problem,
            body,
        })
    }

    fn transport_error(&self, error: ureq::Error) -> ApiError {
        let server = self.server.clone();
        match error {
            ureq::Error::Io(io) => {
                let tls = io
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .map(ToString::to_string);
                match tls {
                    Some(reason) => ApiError::Tls { server, reason },
                    None => ApiError::Unreachable {
                        server,
                        reason: io.to_string(),
                    },
                }
            }
            ureq::Error::Rustls(tls) => ApiError::Tls {
                server,
                reason: tls.to_string(),
            },
            error @ (ureq::Error::Tls(_) | ureq::Error::Pem(_)) => ApiError::Tls {
                server,
                reason: error.to_string(),
            },
            error @ (ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Timeout(_)
            | ureq::Error::Protocol(_)) => ApiError::Unreachable {
                server,
                reason: error.to_string(),
            },
            error => ApiError::Request(error.to_string()),
        }
    }
}

/// The certificates of a PEM file.
fn read_ca(path: &Path) -> Result<Vec<Certificate<'static>>, ApiError> {
    let ca_error = |reason: String| ApiError::Ca {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|error| ca_error(error.to_string()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .map(|certificate| {
            certificate
                .map(|der| Certificate::from_der(der.as_ref()).to_owned())
                .map_err(|error| ca_error(format!("not a PEM certificate file ({error})")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if certificates.is_empty() {
        return Err(ca_error("no certificate in the file".to_owned()));
    }
    Ok(certificates)
}

fn read_json<T: DeserializeOwned>(mut response: Response<Body>) -> Result<T, ApiError> {
    let body = response
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_string()
        .map_err(|error| ApiError::Invalid(error.to_string()))?;
    serde_json::from_str(&body).map_err(|error| ApiError::Invalid(error.to_string()))
}

/// One path segment, percent-encoded (names are DNS labels, but a typo must not change the
/// path).
fn segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(byte >> 4)]));
            encoded.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("city-finance"), "city-finance");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment(".."), "..");
        assert_eq!(segment("安康"), "%E5%AE%89%E5%BA%B7");
    }

    #[test]
    fn problems_name_the_field() {
        let problem = Problem {
            kind: "https://govcloud.example.org/problems/invalid".to_owned(),
            title: "Unprocessable Content".to_owned(),
            status: 422,
            detail: "quantity must not be negative".to_owned(),
            instance: None,
            field: Some("requested.cpu".to_owned()),
            errors: Vec::new(),
        };
        assert_eq!(
            status_message(422, Some(&problem), ""),
            "422 Unprocessable Content: quantity must not be negative (field requested.cpu)"
        );
        assert_eq!(status_message(502, None, ""), "502 Bad Gateway");
        assert_eq!(
            status_message(500, None, "  upstream died\n"),
            "500 Internal Server Error: upstream died"
        );
    }

    #[test]
    fn a_missing_or_empty_ca_is_a_usage_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let token: Secret = "t".parse().expect("token");
        let missing = Client::new("https://x", Some(&dir.path().join("none.crt")), &token)
            .expect_err("missing CA");
        assert_eq!(missing.exit(), Exit::Usage);
        let empty = dir.path().join("empty.crt");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let empty = Client::new("https://x", Some(&empty), &token).expect_err("empty CA");
        assert!(empty.to_string().contains("no certificate"), "{empty}");
    }
}
