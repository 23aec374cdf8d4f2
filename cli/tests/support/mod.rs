//! Test support: run the real `govctl` binary in a clean environment, and a stub of the
//! controller's HTTPS API (rustls, a CA made for the test) that answers from a closure and
//! records every request. End-to-end tests against the real API use [`govctl`] the same way,
//! with the server, CA and token that local mode writes.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;

/// `govctl` with no settings from the machine: no `GOVCTL_*` variables, `HOME` and
/// `XDG_CONFIG_HOME` inside `home` (so the default settings file is `home/.config/govctl/…`).
pub fn govctl(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_govctl"));
    for name in [
        "GOVCTL_CONFIG",
        "GOVCTL_SERVER",
        "GOVCTL_TOKEN",
        "GOVCTL_CA",
    ] {
        command.env_remove(name);
    }
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// Runs `command`, returning its exit code, standard output and standard error.
pub fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run govctl");
    (
        status.code().expect("exit code"),
        String::from_utf8(stdout).expect("utf-8 stdout"),
        String::from_utf8(stderr).expect("utf-8 stderr"),
    )
}

/// Runs `command` with `input` on standard input.
pub fn run_with_input(command: &mut Command, input: &str) -> (i32, String, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn govctl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait");
    (
        status.code().expect("exit code"),
        String::from_utf8(stdout).expect("utf-8 stdout"),
        String::from_utf8(stderr).expect("utf-8 stderr"),
    )
}

/// A loopback URL on which nothing listens.
pub fn unreachable_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("https://127.0.0.1:{port}")
}

/// A request the stub received.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `POST`, `DELETE`.
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The body, as text.
    pub body: String,
}

impl Request {
    /// `"GET /v1/whoami"`
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.target)
    }
}

/// The stub's answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: serde_json::to_string(value).expect("json"),
        }
    }

    /// An RFC 9457 problem.
    pub fn problem(status: u16, title: &str, detail: &str, field: Option<&str>) -> Self {
        let problem = govcloud_crds::api::Problem {
            kind: "about:blank".to_owned(),
            title: title.to_owned(),
            status,
            detail: detail.to_owned(),
            instance: None,
            field: field.map(str::to_owned),
        };
        Self {
            status,
            content_type: govcloud_crds::api::PROBLEM_JSON,
            body: serde_json::to_string(&problem).expect("json"),
        }
    }

    /// An empty answer (`204 No Content`).
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: "text/plain",
            body: String::new(),
        }
    }

    /// A body of another media type.
    pub fn text(status: u16, content_type: &'static str, body: String) -> Self {
        Self {
            status,
            content_type,
            body,
        }
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A stub of the controller's API on loopback, over TLS with a certificate from its own CA.
pub struct StubServer {
    /// `https://127.0.0.1:PORT`
    pub url: String,
    /// The CA certificate (PEM) that signed the stub's certificate.
    pub ca: PathBuf,
    requests: Arc<Mutex<Vec<Request>>>,
    _dir: tempfile::TempDir,
}

impl StubServer {
    /// Starts the stub; it answers every request with `handler` until the test process ends.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ca_pem, cert_pem, key_pem) = certificates();
        let ca = dir.path().join("ca.crt");
        std::fs::write(&ca, ca_pem).expect("write CA");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .expect("certificate"),
                PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key"),
            )
            .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("https://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let config = Arc::clone(&config);
                let handler = Arc::clone(&handler);
                let recorded = Arc::clone(&recorded);
                std::thread::spawn(move || {
                    // A client that gives up (a wrong CA, a closed pipe) is not the stub's error.
                    let _ = serve(stream, &config, handler.as_ref(), &recorded);
                });
            }
        });
        Self {
            url,
            ca,
            requests,
            _dir: dir,
        }
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }
}

fn serve(
    stream: TcpStream,
    config: &Arc<rustls::ServerConfig>,
    handler: &Handler,
    recorded: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    let connection =
        rustls::ServerConnection::new(Arc::clone(config)).map_err(std::io::Error::other)?;
    let mut tls = BufReader::new(rustls::StreamOwned::new(connection, stream));
    let mut line = String::new();
    tls.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut authorization = None;
    let mut length = 0;
    loop {
        let mut header = String::new();
        tls.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "authorization" => authorization = Some(value.trim().to_owned()),
                "content-length" => length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    tls.read_exact(&mut body)?;
    let request = Request {
        method,
        target,
        authorization,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let reply = handler(&request);
    recorded.lock().expect("lock").push(request);
    let mut tls = tls.into_inner();
    write!(
        tls,
        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    )?;
    tls.write_all(reply.body.as_bytes())?;
    tls.flush()?;
    tls.conn.send_close_notify();
    tls.flush()
}

/// A CA, and a serving certificate and key for 127.0.0.1 and localhost signed by it (PEM).
pub fn certificates() -> (String, String, String) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("params");
    let cert = params.signed_by(&key, &issuer).expect("certificate");
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}
