//! Bearer-token authentication for the local API server: one random token kept in the data
//! directory (created once, mode 0600), compared in constant time by an axum middleware that
//! answers a Kubernetes `Status` 401 (`error: You must be logged in to the server (Unauthorized)`
//! in kubectl) to requests without it.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Name of the token file in the data directory.
pub const TOKEN_FILE: &str = "token";
/// Random bytes in a generated token (hex-encoded, so the token has twice as many characters).
const TOKEN_BYTES: usize = 32;

/// Errors of loading or creating the token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token file exists but cannot be read.
    #[error("failed to read the token file {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// The token file cannot be written.
    #[error("failed to write the token file {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// The token file holds something that is not a usable token.
    #[error("failed to use the token in {}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: &'static str },
    /// The system's random source failed.
    #[error("failed to generate a token: {0}")]
    Random(String),
}

/// The token in `data_dir/token`, created on the first call (32 random bytes, hex-encoded, file
/// mode 0600) and read back on later ones. Two processes racing to create it agree on one token.
pub fn load_or_create_token(data_dir: &Path) -> Result<String, AuthError> {
    let path = data_dir.join(TOKEN_FILE);
    if let Some(token) = read_token(&path)? {
        return Ok(token);
    }
    let mut bytes = [0_u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| AuthError::Random(error.to_string()))?;
    let token = hex(&bytes);
    create_exclusively(&path, token.as_bytes()).map_err(|source| AuthError::Write {
        path: path.clone(),
        source,
    })?;
    // Whoever created the file first wins; read back what is there.
    read_token(&path)?.ok_or(AuthError::Invalid {
        path,
        reason: "it disappeared while being created",
    })
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

fn read_token(path: &Path) -> Result<Option<String>, AuthError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AuthError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let token = text.trim();
    let invalid = |reason| AuthError::Invalid {
        path: path.to_owned(),
        reason,
    };
    if token.is_empty() {
        return Err(invalid("the file is empty"));
    }
    if !token.bytes().all(is_token68) {
        return Err(invalid(
            "a bearer token may hold only letters, digits and `-._~+/=`",
        ));
    }
    Ok(Some(token.to_owned()))
}

/// The characters of RFC 7235's `token68`, what a bearer credential may hold.
fn is_token68(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~+/=".contains(&byte)
}

/// Creates `path` with `contents` (mode 0600) unless it already exists, atomically: the complete
/// file appears under its name or not at all.
fn create_exclusively(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut temporary_name = path.as_os_str().to_owned();
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary_name);
    crate::tls::write_private_file(&temporary, contents)?;
    let linked = fs::hard_link(&temporary, path);
    let removed = fs::remove_file(&temporary);
    match linked {
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other.and(removed),
    }
}

/// Checks `Authorization: Bearer <token>` headers against one token.
#[derive(Clone)]
pub struct BearerAuth {
    token: Vec<u8>,
}

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuth")
            .field("token", &"<redacted>")
            .finish()
    }
}

impl BearerAuth {
    /// Accepts `token`; an empty token accepts nothing.
    pub fn new(token: String) -> Self {
        Self {
            token: token.into_bytes(),
        }
    }

    /// Whether the `Authorization` header carries the token. Parsed as kube-apiserver's
    /// bearer-token authenticator does: surrounding space trimmed, a case-insensitive `Bearer`
    /// scheme, one space, the token; the comparison takes the same time wherever it differs.
    pub fn check(&self, authorization_header: Option<&str>) -> bool {
        let Some(header) = authorization_header else {
            return false;
        };
        let mut parts = header.trim().splitn(3, ' ');
        let (Some(scheme), Some(credential)) = (parts.next(), parts.next()) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("bearer") || credential.is_empty() || self.token.is_empty()
        {
            return false;
        }
        constant_time_eq(credential.as_bytes(), &self.token)
    }
}

/// Equality whose running time depends on the lengths only, not on where the bytes differ.
fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    let difference = given
        .iter()
        .zip(expected)
        .fold(0_u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

/// axum middleware (`axum::middleware::from_fn_with_state(auth, require_bearer)`): passes
/// requests carrying the token on, answers the others with a Kubernetes `Status` 401.
pub async fn require_bearer(
    State(auth): State<Arc<BearerAuth>>,
    request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if auth.check(header) {
        next.run(request).await
    } else {
        tracing::debug!(
            method = %request.method(),
            path = %request.uri().path(),
            "refusing a request without a valid bearer token"
        );
        ApiError::unauthorized().into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use axum::Router;
    use axum::routing::get;

    use super::*;

    #[test]
    fn the_token_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().expect("tempdir");
        let token = load_or_create_token(dir.path()).expect("create");
        assert_eq!(token.len(), 2 * TOKEN_BYTES);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
        assert_eq!(load_or_create_token(dir.path()).expect("reload"), token);
        let path = dir.path().join("token");
        assert_eq!(fs::read_to_string(&path).expect("read"), token);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let entries = fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(entries, 1, "no temporary file is left behind");
        let other = tempfile::tempdir().expect("tempdir");
        assert_ne!(load_or_create_token(other.path()).expect("create"), token);
    }

    #[test]
    fn an_existing_token_is_kept_and_a_bad_one_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        fs::write(&path, "my-own-token\n").expect("write");
        assert_eq!(
            load_or_create_token(dir.path()).expect("load"),
            "my-own-token"
        );
        fs::write(&path, "two words").expect("write");
        let error = load_or_create_token(dir.path()).expect_err("invalid");
        assert!(
            error.to_string().starts_with("failed to use the token in ")
                && error
                    .to_string()
                    .contains("token: a bearer token may hold only"),
            "{error}"
        );
        fs::write(&path, " \n").expect("write");
        let error = load_or_create_token(dir.path()).expect_err("empty");
        assert!(error.to_string().ends_with("the file is empty"), "{error}");
    }

    #[test]
    fn check_accepts_exactly_the_token() {
        let auth = BearerAuth::new("s3cr3t".into());
        assert!(auth.check(Some("Bearer s3cr3t")));
        assert!(auth.check(Some("bearer s3cr3t")));
        assert!(auth.check(Some("  Bearer s3cr3t  ")));
        assert!(!auth.check(None));
        assert!(!auth.check(Some("")));
        assert!(!auth.check(Some("Bearer")));
        assert!(!auth.check(Some("Bearer ")));
        assert!(!auth.check(Some("Bearer s3cr3u")));
        assert!(!auth.check(Some("Bearer s3cr3")));
        assert!(!auth.check(Some("Bearer s3cr3tt")));
        assert!(!auth.check(Some("Basic s3cr3t")));
        assert!(!auth.check(Some("s3cr3t")));
        let empty = BearerAuth::new(String::new());
        assert!(!empty.check(Some("Bearer ")));
        assert!(!empty.check(Some("Bearer x")));
        assert!(!format!("{auth:?}").contains("s3cr3t"));
    }

    #[test]
    fn hex_is_lower_case_and_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    #[test]
    fn constant_time_eq_compares_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    /// Sends one HTTP/1.1 request and returns the raw response.
    fn send(address: std::net::SocketAddr, authorization: Option<&str>) -> String {
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        let mut request =
            format!("GET /api/v1/namespaces HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
        if let Some(value) = authorization {
            request = format!("{request}Authorization: {value}\r\n");
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        response
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_middleware_answers_401_as_a_kubernetes_status() {
        let auth = Arc::new(BearerAuth::new("s3cr3t".into()));
        let app = Router::new()
            .route("/api/v1/namespaces", get(|| async { "listed" }))
            .layer(axum::middleware::from_fn_with_state(auth, require_bearer));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(async move { axum::serve(listener, app).await });

        let (ok, missing, wrong) = tokio::task::spawn_blocking(move || {
            (
                send(address, Some("Bearer s3cr3t")),
                send(address, None),
                send(address, Some("Bearer nope")),
            )
        })
        .await
        .expect("client");
        server.abort();

        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert!(ok.ends_with("listed"), "{ok}");
        for refused in [missing, wrong] {
            assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
            assert!(
                refused
                    .to_ascii_lowercase()
                    .contains("content-type: application/json"),
                "{refused}"
            );
            let body = refused.split("\r\n\r\n").nth(1).expect("body");
            let status: serde_json::Value = serde_json::from_str(body).expect("json");
            assert_eq!(status["kind"], "Status");
            assert_eq!(status["reason"], "Unauthorized");
            assert_eq!(status["message"], "Unauthorized");
            assert_eq!(status["code"], 401);
        }
    }
}
