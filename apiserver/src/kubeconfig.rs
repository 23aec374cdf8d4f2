//! Writes the kubeconfig through which kubectl and kube-rs reach the local API server: one
//! cluster (its CA inline as `certificate-authority-data`), one user with the bearer token, one
//! context, made current; file mode 0600 since it holds the token.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

/// Errors of writing a kubeconfig.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// An argument cannot go into a kubeconfig.
    #[error("failed to write the kubeconfig {}: `{field}` {reason}", path.display())]
    Invalid {
        path: PathBuf,
        field: &'static str,
        reason: &'static str,
    },
    /// The document cannot be rendered as YAML.
    #[error("failed to render the kubeconfig {}: {message}", path.display())]
    Render { path: PathBuf, message: String },
    /// The file cannot be written.
    #[error("failed to write the kubeconfig {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes a kubeconfig at `path` (creating its directory; replacing any file there) naming the
/// cluster, the user and the context `context_name`, and making that context current.
pub fn write_kubeconfig(
    path: &Path,
    server_url: &str,
    ca_pem: &str,
    token: &str,
    context_name: &str,
) -> Result<(), KubeconfigError> {
    let invalid = |field, reason| KubeconfigError::Invalid {
        path: path.to_owned(),
        field,
        reason,
    };
    let authority = server_url
        .strip_prefix("https://")
        .or_else(|| server_url.strip_prefix("http://"));
    if authority.is_none_or(|rest| rest.is_empty() || rest.starts_with('/')) {
        return Err(invalid(
            "server_url",
            "must be an http:// or https:// URL with a host",
        ));
    }
    if server_url.chars().any(char::is_whitespace) {
        return Err(invalid("server_url", "must not contain spaces"));
    }
    if !ca_pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(invalid("ca_pem", "must hold a PEM certificate"));
    }
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            "token",
            "must be non-empty and free of spaces and control characters",
        ));
    }
    if context_name.trim().is_empty() || context_name.chars().any(char::is_control) {
        return Err(invalid(
            "context_name",
            "must be non-empty and free of control characters",
        ));
    }
    let document = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": context_name,
            "cluster": {
                "server": server_url,
                "certificate-authority-data": STANDARD.encode(ca_pem.as_bytes()),
            },
        }],
        "users": [{
            "name": context_name,
            "user": { "token": token },
        }],
        "contexts": [{
            "name": context_name,
            "context": { "cluster": context_name, "user": context_name },
        }],
        "current-context": context_name,
        "preferences": {},
    });
    let yaml = serde_norway::to_string(&document).map_err(|error| KubeconfigError::Render {
        path: path.to_owned(),
        message: error.to_string(),
    })?;
    crate::tls::write_private_file(path, yaml.as_bytes()).map_err(|source| KubeconfigError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::sync::Arc;

    use axum::Router;
    use axum::routing::get;
    use serde_json::Value;

    use super::*;
    use crate::auth::{BearerAuth, require_bearer};

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    /// Whether kubectl can run here; otherwise prints why the test is skipped, or fails when
    /// `GOVCLOUD_REQUIRE_ALL=1` forbids skipping.
    fn kubectl_available(test: &str) -> bool {
        let found = Command::new("kubectl")
            .args(["version", "--client"])
            .output()
            .is_ok_and(|output| output.status.success());
        if !found {
            let reason = "kubectl is not on PATH";
            assert!(
                std::env::var("GOVCLOUD_REQUIRE_ALL").as_deref() != Ok("1"),
                "{test} cannot run and GOVCLOUD_REQUIRE_ALL=1 forbids skipping: {reason}"
            );
            eprintln!("skipping {test}: {reason}");
        }
        found
    }

    /// Runs kubectl with `args` against `kubeconfig` and parses its JSON output.
    fn kubectl_json(kubeconfig: &Path, args: &[&str]) -> Value {
        let output = Command::new("kubectl")
            .args(args)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["-o", "json"])
            .env_remove("KUBECONFIG")
            .output()
            .expect("run kubectl");
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("kubectl prints JSON")
    }

    #[test]
    fn the_kubeconfig_is_standard_and_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/kubeconfig");
        write_kubeconfig(&path, "https://127.0.0.1:6443", CA, "tok", "govcloud-local")
            .expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        let document: Value = serde_norway::from_str(&text).expect("yaml");
        assert_eq!(document["kind"], "Config");
        assert_eq!(document["current-context"], "govcloud-local");
        assert_eq!(
            document["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        let ca = document["clusters"][0]["cluster"]["certificate-authority-data"]
            .as_str()
            .expect("ca data");
        assert_eq!(STANDARD.decode(ca).expect("base64"), CA.as_bytes());
        assert_eq!(document["users"][0]["user"]["token"], "tok");
        assert_eq!(document["contexts"][0]["context"]["user"], "govcloud-local");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn bad_arguments_are_refused_naming_the_field() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kubeconfig");
        let cases = [
            ("127.0.0.1:6443", CA, "tok", "c", "server_url"),
            ("https://", CA, "tok", "c", "server_url"),
            ("https://127.0.0.1:6443", "not pem", "tok", "c", "ca_pem"),
            ("https://127.0.0.1:6443", CA, "", "c", "token"),
            ("https://127.0.0.1:6443", CA, "a b", "c", "token"),
            ("https://127.0.0.1:6443", CA, "tok", " ", "context_name"),
        ];
        for (url, ca, token, context, field) in cases {
            let error = write_kubeconfig(&path, url, ca, token, context).expect_err(field);
            let message = error.to_string();
            assert!(
                message.starts_with("failed to write the kubeconfig ")
                    && message.contains(&format!("`{field}`")),
                "{message}"
            );
        }
        assert!(!path.exists());
    }

    #[test]
    fn kubectl_accepts_the_kubeconfig() {
        if !kubectl_available("kubectl_accepts_the_kubeconfig") {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kubeconfig");
        write_kubeconfig(
            &path,
            "https://127.0.0.1:6443",
            CA,
            "0123abcd",
            "govcloud-local",
        )
        .expect("write");

        let view = kubectl_json(&path, &["config", "view"]);
        assert_eq!(view["current-context"], "govcloud-local");
        assert_eq!(view["clusters"][0]["name"], "govcloud-local");
        assert_eq!(
            view["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        assert_eq!(
            view["clusters"][0]["cluster"]["certificate-authority-data"],
            "DATA+OMITTED"
        );
        assert_eq!(view["users"][0]["user"]["token"], "REDACTED");

        let raw = kubectl_json(&path, &["config", "view", "--raw", "--minify"]);
        assert_eq!(raw["users"][0]["user"]["token"], "0123abcd");
        assert_eq!(
            raw["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        let ca = raw["clusters"][0]["cluster"]["certificate-authority-data"]
            .as_str()
            .expect("ca data");
        assert_eq!(STANDARD.decode(ca).expect("base64"), CA.as_bytes());
    }

    /// The pieces together: kubectl trusts the generated CA, the serving certificate covers
    /// 127.0.0.1, and the token in the kubeconfig passes the middleware.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kubectl_reaches_a_tls_server_with_the_token() {
        if !kubectl_available("kubectl_reaches_a_tls_server_with_the_token") {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = crate::tls::load_or_create(dir.path(), &["127.0.0.1", "localhost"])
            .expect("certificates");
        let token = crate::auth::load_or_create_token(dir.path()).expect("token");
        let config = crate::tls::rustls_config(&certs).await.expect("tls config");
        let auth = Arc::new(BearerAuth::new(token.clone()));
        let app = Router::new()
            .route(
                "/version",
                get(|| async { axum::Json(json!({"major": "1", "minor": "32"})) }),
            )
            .layer(axum::middleware::from_fn_with_state(auth, require_bearer));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            axum_server::from_tcp_rustls(listener, config)
                .expect("server")
                .serve(app.into_make_service())
                .await
        });

        let good = dir.path().join("good");
        let url = format!("https://{address}");
        write_kubeconfig(&good, &url, &certs.ca_pem, &token, "local").expect("write");
        let bad = dir.path().join("bad");
        write_kubeconfig(&bad, &url, &certs.ca_pem, "wrong", "local").expect("write");
        let cache = dir.path().join("cache");
        let run = move |kubeconfig: PathBuf| {
            Command::new("kubectl")
                .args(["get", "--raw", "/version", "--request-timeout=20s"])
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .arg("--cache-dir")
                .arg(&cache)
                .env_remove("KUBECONFIG")
                .output()
                .expect("run kubectl")
        };
        let (accepted, refused) = tokio::task::spawn_blocking(move || (run(good), run(bad)))
            .await
            .expect("kubectl");
        server.abort();

        assert!(
            accepted.status.success(),
            "{}",
            String::from_utf8_lossy(&accepted.stderr)
        );
        let version: Value = serde_json::from_slice(&accepted.stdout).expect("json");
        assert_eq!(version["minor"], "32");
        assert!(!refused.status.success());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("Unauthorized"), "{stderr}");
    }
}
