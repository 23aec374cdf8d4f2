//! TLS for the local API server: a CA and a serving certificate kept under `<data dir>/pki`
//! (created on the first run, reused afterwards, the serving certificate re-issued when its
//! names no longer cover the hosts or it nears expiry), and the rustls configuration serving them.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum_server::tls_rustls::RustlsConfig;
use chrono::Utc;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;

use crate::pki;

/// Common name of the generated CA.
pub const CA_COMMON_NAME: &str = "govcloud-local-ca";
/// Common name of the serving certificate.
pub const SERVER_COMMON_NAME: &str = "govcloud-apiserver";
/// Subdirectory of the data directory holding the certificates and keys.
pub const PKI_DIR: &str = "pki";

/// Lifetime of the CA.
const CA_MONTHS: u32 = 12 * 10;
/// Lifetime of a serving certificate (kubeadm's choice).
const SERVING_MONTHS: u32 = 12;
/// A serving certificate is re-issued when it would expire within this many days.
const RENEW_BEFORE_DAYS: u64 = 30;

/// Errors of creating, loading or serving the certificates.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// No host was given for the serving certificate.
    #[error("failed to issue the serving certificate: no host names or addresses were given")]
    NoHosts,
    /// A host cannot be put in a certificate.
    #[error("failed to use `{host}` as a subject alternative name: {source}")]
    Host { host: String, source: rcgen::Error },
    /// A file or directory could not be read.
    #[error("failed to read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// A file or directory could not be written.
    #[error("failed to write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// A private key on disk cannot be parsed.
    #[error("failed to parse the private key in {}: {source}", path.display())]
    ParseKey { path: PathBuf, source: rcgen::Error },
    /// The operating system gave no random bytes for a serial number.
    #[error("failed to read random bytes for a serial number: {0}")]
    Random(getrandom::Error),
    /// Key generation or signing failed.
    #[error("failed to generate the {what}: {source}")]
    Generate {
        what: &'static str,
        source: rcgen::Error,
    },
    /// A freshly issued serving certificate does not verify against its CA.
    #[error("failed to verify the new serving certificate against {}: {reason}", ca.display())]
    Verify { ca: PathBuf, reason: String },
    /// Certificate files given by the operator cannot serve.
    #[error("{} is not usable: {reason}", path.display())]
    Unusable { path: PathBuf, reason: String },
    /// The certificates cannot be made into a TLS server configuration.
    #[error("failed to build the TLS server configuration: {0}")]
    Config(String),
}

/// The PEM-encoded CA certificate, serving certificate and serving key.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerCertificates {
    /// The CA certificate (what clients trust: the kubeconfig's `certificate-authority-data`).
    pub ca_pem: String,
    /// The serving certificate, signed by the CA.
    pub cert_pem: String,
    /// The serving certificate's private key (PKCS#8).
    pub key_pem: String,
}

impl fmt::Debug for ServerCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCertificates")
            .field("ca_pem", &self.ca_pem)
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

struct Paths {
    dir: PathBuf,
    ca_cert: PathBuf,
    ca_key: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Paths {
    fn new(data_dir: &Path) -> Self {
        let dir = data_dir.join(PKI_DIR);
        Self {
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
            dir,
        }
    }
}

/// Loads the certificates under `data_dir/pki`, creating what is missing: on the first run a CA
/// (ECDSA P-256, ten years, CN `govcloud-local-ca`) and a serving certificate for `hosts` (IP
/// SANs for addresses, DNS SANs otherwise); later runs reuse them. The serving certificate alone
/// is re-issued when it does not cover every host, does not chain to the CA, does not match its
/// key, or expires within 30 days. Keys are written with mode 0600.
pub fn load_or_create(data_dir: &Path, hosts: &[&str]) -> Result<ServerCertificates, TlsError> {
    if hosts.is_empty() {
        return Err(TlsError::NoHosts);
    }
    let paths = Paths::new(data_dir);
    pki::create_private_dir(&paths.dir).map_err(|source| TlsError::Write {
        path: paths.dir.clone(),
        source,
    })?;
    let renew_at = UnixTime::since_unix_epoch(
        UnixTime::now()
            .as_secs()
            .checked_add(RENEW_BEFORE_DAYS * 24 * 3600)
            .map_or(std::time::Duration::MAX, std::time::Duration::from_secs),
    );

    let existing_ca = read_pair(&paths.ca_cert, &paths.ca_key)?;
    if let Some((ca_pem, _)) = &existing_ca
        && let Some((cert_pem, key_pem)) = read_pair(&paths.cert, &paths.key)?
    {
        match check_serving(ca_pem, &cert_pem, &key_pem, hosts, renew_at) {
            Ok(()) => {
                return Ok(ServerCertificates {
                    ca_pem: ca_pem.clone(),
                    cert_pem,
                    key_pem,
                });
            }
            Err(reason) => {
                tracing::info!(%reason, "re-issuing the serving certificate");
            }
        }
    }

    let now = UnixTime::now();
    let (ca_pem, ca_key) = match existing_ca {
        Some((ca_pem, ca_key_pem)) => {
            let key = KeyPair::from_pem(&ca_key_pem).map_err(|source| TlsError::ParseKey {
                path: paths.ca_key.clone(),
                source,
            })?;
            (ca_pem, key)
        }
        None => create_ca(&paths)?,
    };
    let (mut cert_pem, mut key_pem) = issue_serving(&ca_key, hosts)?;
    let (ca_pem, ca_key) = match check_serving(&ca_pem, &cert_pem, &key_pem, hosts, now) {
        Ok(()) => (ca_pem, ca_key),
        Err(reason) => {
            // The CA on disk cannot sign usable certificates (expired, or its key does not
            // match): start over with a new one.
            tracing::warn!(%reason, ca = %paths.ca_cert.display(), "replacing the CA");
            let (ca_pem, ca_key) = create_ca(&paths)?;
            (cert_pem, key_pem) = issue_serving(&ca_key, hosts)?;
            check_serving(&ca_pem, &cert_pem, &key_pem, hosts, now).map_err(|reason| {
                TlsError::Verify {
                    ca: paths.ca_cert.clone(),
                    reason,
                }
            })?;
            (ca_pem, ca_key)
        }
    };
    drop(ca_key);
    write_private_file(&paths.key, key_pem.as_bytes()).map_err(|source| TlsError::Write {
        path: paths.key.clone(),
        source,
    })?;
    write_file(&paths.cert, cert_pem.as_bytes(), 0o644).map_err(|source| TlsError::Write {
        path: paths.cert.clone(),
        source,
    })?;
    Ok(ServerCertificates {
        ca_pem,
        cert_pem,
        key_pem,
    })
}

/// Loads a serving certificate and key from files that must exist (as a `kubernetes.io/tls`
/// Secret mounts `tls.crt`, `tls.key` and optionally `ca.crt`), checking that they parse and
/// that the key matches the certificate; nothing is created. Without a CA file the chain's last
/// certificate stands for what clients trust.
pub fn load_files(
    cert: &Path,
    key: &Path,
    ca: Option<&Path>,
) -> Result<ServerCertificates, TlsError> {
    let read = |path: &Path| {
        fs::read_to_string(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let unusable = |path: &Path, reason: String| TlsError::Unusable {
        path: path.to_owned(),
        reason,
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| unusable(cert, format!("the certificate does not parse: {e}")))?;
    let Some(last) = chain.last() else {
        return Err(unusable(cert, "it holds no certificate".to_owned()));
    };
    let last_pem = pem_certificate(last);
    let private_key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| unusable(key, format!("the key does not parse: {e}")))?;
    CertifiedKey::from_der(chain.clone(), private_key, &ring_provider()).map_err(|e| {
        unusable(
            key,
            format!(
                "the key does not match the certificate in {}: {e}",
                cert.display()
            ),
        )
    })?;
    let ca_pem = match ca {
        Some(path) => {
            let pem = read(path)?;
            CertificateDer::from_pem_slice(pem.as_bytes())
                .map_err(|e| unusable(path, format!("the CA certificate does not parse: {e}")))?;
            pem
        }
        None => last_pem,
    };
    Ok(ServerCertificates {
        ca_pem,
        cert_pem,
        key_pem,
    })
}

/// One certificate as PEM.
fn pem_certificate(der: &CertificateDer<'_>) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Installs ring as the process-wide rustls `CryptoProvider` unless one is already installed
/// (see notes/wire.md: with both ring and aws-lc-rs in the graph, rustls cannot choose).
pub fn install_crypto_provider() {
    // An error only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The rustls configuration serving `certs` (ALPN `h2` and `http/1.1`, as kubectl expects).
/// Installs the ring `CryptoProvider` first.
pub async fn rustls_config(certs: &ServerCertificates) -> Result<RustlsConfig, TlsError> {
    install_crypto_provider();
    RustlsConfig::from_pem(
        certs.cert_pem.clone().into_bytes(),
        certs.key_pem.clone().into_bytes(),
    )
    .await
    .map_err(|error| TlsError::Config(error.to_string()))
}

fn ring_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Why the serving certificate cannot be used at `at`: it does not parse, does not match its
/// key, does not chain to the CA, or does not cover a host.
fn check_serving(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
    hosts: &[&str],
    at: UnixTime,
) -> Result<(), String> {
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes())
        .map_err(|e| format!("the CA certificate does not parse: {e}"))?;
    let leaf = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|e| format!("the serving certificate does not parse: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| format!("the serving key does not parse: {e}"))?;
    let provider = ring_provider();
    CertifiedKey::from_der(vec![leaf.clone()], key, &provider)
        .map_err(|e| format!("the serving key does not match the certificate: {e}"))?;
    let mut roots = RootCertStore::empty();
    roots
        .add(ca)
        .map_err(|e| format!("the CA certificate is not usable: {e}"))?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| format!("the CA certificate is not usable: {e}"))?;
    for host in hosts {
        let name = ServerName::try_from((*host).to_owned())
            .map_err(|e| format!("`{host}` is not a host name or address: {e}"))?;
        verifier
            .verify_server_cert(&leaf, &[], &name, &[], at)
            .map_err(|e| format!("the serving certificate is not valid for `{host}`: {e}"))?;
    }
    Ok(())
}

/// Both files' contents, or `None` when either is missing.
fn read_pair(cert: &Path, key: &Path) -> Result<Option<(String, String)>, TlsError> {
    let read = |path: &Path| match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TlsError::Read {
            path: path.to_owned(),
            source,
        }),
    };
    match (read(cert)?, read(key)?) {
        (Some(cert), Some(key)) => Ok(Some((cert, key))),
        (None, None) => Ok(None),
        _ => {
            tracing::warn!(
                cert = %cert.display(),
                key = %key.display(),
                "only one of a certificate and its key exists; creating both anew"
            );
            Ok(None)
        }
    }
}

fn create_ca(paths: &Paths) -> Result<(String, KeyPair), TlsError> {
    let key =
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|source| TlsError::Generate {
            what: "CA key",
            source,
        })?;
    let mut params = ca_params();
    let today = Utc::now().date_naive();
    pki::set_validity(&mut params, today, pki::months_after(today, CA_MONTHS));
    params.serial_number = Some(pki::random_serial().map_err(TlsError::Random)?);
    let cert = params
        .self_signed(&key)
        .map_err(|source| TlsError::Generate {
            what: "CA certificate",
            source,
        })?;
    let cert_pem = cert.pem();
    write_private_file(&paths.ca_key, key.serialize_pem().as_bytes()).map_err(|source| {
        TlsError::Write {
            path: paths.ca_key.clone(),
            source,
        }
    })?;
    write_file(&paths.ca_cert, cert_pem.as_bytes(), 0o644).map_err(|source| TlsError::Write {
        path: paths.ca_cert.clone(),
        source,
    })?;
    Ok((cert_pem, key))
}

/// The CA's parameters; also what an [`Issuer`] needs to sign with a CA loaded from disk (its
/// distinguished name, key usages and key identifier method are always these).
/// The local CA's parameters (unconstrained path length, as before).
fn ca_params() -> CertificateParams {
    pki::ca_params(CA_COMMON_NAME, BasicConstraints::Unconstrained)
}

/// A new serving certificate and key for `hosts`, signed by the CA key.
fn issue_serving(ca_key: &KeyPair, hosts: &[&str]) -> Result<(String, String), TlsError> {
    let mut params = CertificateParams::default();
    for host in hosts {
        let single =
            CertificateParams::new(vec![(*host).to_owned()]).map_err(|source| TlsError::Host {
                host: (*host).to_owned(),
                source,
            })?;
        params.subject_alt_names.extend(single.subject_alt_names);
    }
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, SERVER_COMMON_NAME);
    params.distinguished_name = name;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let today = Utc::now().date_naive();
    pki::set_validity(&mut params, today, pki::months_after(today, SERVING_MONTHS));
    params.serial_number = Some(pki::random_serial().map_err(TlsError::Random)?);
    let key =
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|source| TlsError::Generate {
            what: "serving key",
            source,
        })?;
    let issuer = Issuer::new(ca_params(), ca_key);
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|source| TlsError::Generate {
            what: "serving certificate",
            source,
        })?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Writes a secret (a key, a token, a kubeconfig) readable by its owner only (mode 0600).
pub(crate) fn write_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_file(path, contents, 0o600)
}

/// Writes `contents` to `path` atomically (a temporary file in the same directory, then a
/// rename), creating the parent directories; `mode` applies on Unix.
pub(crate) fn write_file(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(file_name);
    temporary_name.push(".tmp");
    let temporary = dir.join(temporary_name);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    let mut file = options.open(&temporary)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &[&str] = &["127.0.0.1", "localhost"];

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn first_run_creates_a_ca_and_a_serving_certificate_for_the_hosts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = load_or_create(dir.path(), HOSTS).expect("create");
        assert!(certs.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(certs.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(certs.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_ne!(certs.ca_pem, certs.cert_pem);
        let pki = dir.path().join("pki");
        for file in ["ca.crt", "ca.key", "server.crt", "server.key"] {
            assert!(pki.join(file).is_file(), "{file}");
        }
        assert_eq!(
            fs::read_to_string(pki.join("server.crt")).expect("read"),
            certs.cert_pem
        );
        #[cfg(unix)]
        {
            assert_eq!(mode(&pki.join("ca.key")), 0o600);
            assert_eq!(mode(&pki.join("server.key")), 0o600);
            assert_eq!(mode(&pki.join("ca.crt")), 0o644);
            assert_eq!(mode(&pki), 0o700);
        }
        let now = UnixTime::now();
        check_serving(&certs.ca_pem, &certs.cert_pem, &certs.key_pem, HOSTS, now)
            .expect("valid for both hosts");
        let other = check_serving(
            &certs.ca_pem,
            &certs.cert_pem,
            &certs.key_pem,
            &["10.0.0.1"],
            now,
        )
        .expect_err("not valid for another address");
        assert!(other.contains("`10.0.0.1`"), "{other}");
    }

    #[test]
    fn files_given_by_the_operator_load_only_when_present_and_matching() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create(dir.path(), HOSTS).expect("create");
        let pki = dir.path().join("pki");
        let loaded = load_files(
            &pki.join("server.crt"),
            &pki.join("server.key"),
            Some(&pki.join("ca.crt")),
        )
        .expect("a matching pair");
        assert_eq!(loaded, first);
        let without_ca =
            load_files(&pki.join("server.crt"), &pki.join("server.key"), None).expect("no CA");
        assert_eq!(without_ca.ca_pem.trim(), first.cert_pem.trim());

        let missing = load_files(&pki.join("tls.crt"), &pki.join("server.key"), None)
            .expect_err("missing file");
        assert!(missing.to_string().contains("tls.crt"), "{missing}");

        let other = tempfile::tempdir().expect("tempdir");
        load_or_create(other.path(), HOSTS).expect("create");
        let mismatch = load_files(
            &pki.join("server.crt"),
            &other.path().join("pki/server.key"),
            None,
        )
        .expect_err("a key of another certificate");
        let text = mismatch.to_string();
        assert!(
            text.contains("server.key") && text.contains("does not match"),
            "{text}"
        );
    }

    #[test]
    fn later_runs_reuse_everything() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create(dir.path(), HOSTS).expect("create");
        let second = load_or_create(dir.path(), &["localhost"]).expect("reload");
        assert_eq!(first, second);
    }

    #[test]
    fn a_new_host_reissues_only_the_serving_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create(dir.path(), HOSTS).expect("create");
        let hosts = ["127.0.0.1", "localhost", "::1", "govcloud.local"];
        let second = load_or_create(dir.path(), &hosts).expect("reissue");
        assert_eq!(first.ca_pem, second.ca_pem);
        assert_ne!(first.cert_pem, second.cert_pem);
        assert_ne!(first.key_pem, second.key_pem);
        check_serving(
            &second.ca_pem,
            &second.cert_pem,
            &second.key_pem,
            &hosts,
            UnixTime::now(),
        )
        .expect("covers the new hosts");
        let third = load_or_create(dir.path(), &hosts).expect("reload");
        assert_eq!(second, third);
    }

    #[test]
    fn a_serving_certificate_nearing_expiry_or_mismatched_is_reissued() {
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = load_or_create(dir.path(), HOSTS).expect("create");
        let in_two_years = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            UnixTime::now().as_secs() + 2 * 365 * 24 * 3600,
        ));
        let expired = check_serving(
            &certs.ca_pem,
            &certs.cert_pem,
            &certs.key_pem,
            HOSTS,
            in_two_years,
        )
        .expect_err("expired in two years");
        assert!(expired.contains("not valid"), "{expired}");

        let pki = dir.path().join("pki");
        let (_, other_key) = issue_serving(
            &KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key"),
            HOSTS,
        )
        .expect("issue");
        fs::write(pki.join("server.key"), &other_key).expect("write");
        let reloaded = load_or_create(dir.path(), HOSTS).expect("reissue");
        assert_eq!(reloaded.ca_pem, certs.ca_pem);
        assert_ne!(reloaded.key_pem, other_key);
        assert_ne!(reloaded.cert_pem, certs.cert_pem);
    }

    #[test]
    fn a_corrupt_ca_key_is_reported_with_its_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        load_or_create(dir.path(), HOSTS).expect("create");
        let pki = dir.path().join("pki");
        fs::write(pki.join("ca.key"), "not a key").expect("write");
        fs::remove_file(pki.join("server.crt")).expect("remove");
        let error = load_or_create(dir.path(), HOSTS).expect_err("corrupt key");
        let message = error.to_string();
        assert!(
            message.starts_with("failed to parse the private key in ")
                && message.contains("pki/ca.key"),
            "{message}"
        );
    }

    #[test]
    fn hosts_are_required_and_must_be_names_or_addresses() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            load_or_create(dir.path(), &[]),
            Err(TlsError::NoHosts)
        ));
        let error = load_or_create(dir.path(), &["bad host\u{e9}"]).expect_err("bad host");
        assert!(
            error.to_string().starts_with("failed to use `bad host"),
            "{error}"
        );
    }

    #[test]
    fn debug_output_hides_the_key() {
        let certs = ServerCertificates {
            ca_pem: "ca".into(),
            cert_pem: "cert".into(),
            key_pem: "secret".into(),
        };
        let debug = format!("{certs:?}");
        assert!(
            !debug.contains("secret") && debug.contains("<redacted>"),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn the_certificates_make_a_server_configuration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = load_or_create(dir.path(), HOSTS).expect("create");
        let config = rustls_config(&certs).await.expect("config");
        assert_eq!(
            config.get_inner().alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(CryptoProvider::get_default().is_some());
        let broken = ServerCertificates {
            key_pem: "junk".into(),
            ..certs
        };
        let error = rustls_config(&broken).await.expect_err("bad key");
        assert!(
            error
                .to_string()
                .starts_with("failed to build the TLS server configuration"),
            "{error}"
        );
    }

    #[test]
    fn files_are_written_atomically_with_their_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/secret");
        write_private_file(&path, b"one").expect("write");
        write_private_file(&path, b"two").expect("overwrite");
        assert_eq!(fs::read_to_string(&path).expect("read"), "two");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("a/b"))
            .expect("list")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("secret")]);
    }
}
