//! The agent CA: a certificate authority of its own (not the API server's), kept as
//! `<pki dir>/agents-ca.crt` and `agents-ca.key` (mode 0600). It signs the routers' client
//! certificates — subject common name = the router's name, TLS client usage only, a random
//! 16-byte serial — with a key the controller generates or from the router's CSR, and the agent
//! listener's serving certificate. It is created on first use and never replaced silently:
//! replacing it would cut every enrolled router off.

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use x509_parser::prelude::{FromDer, X509Certificate};

use govcloud_apiserver::pki;

use super::identity::{CertificateIdentity, IdentityError, identify};

/// File name of the agent CA's certificate in the PKI directory.
pub const CA_CERT_FILE: &str = "agents-ca.crt";
/// File name of the agent CA's private key in the PKI directory.
pub const CA_KEY_FILE: &str = "agents-ca.key";
/// Common name of the agent CA.
pub const CA_COMMON_NAME: &str = "govcloud-agent-ca";
/// Common name of the agent listener's serving certificate.
pub const SERVING_COMMON_NAME: &str = "govcloud-agent-api";
/// Lifetime of a router certificate, in days.
pub const ROUTER_CERTIFICATE_DAYS: u64 = 365;
/// Lifetime of the agent CA, in months.
const CA_MONTHS: u32 = 12 * 10;
/// Lifetime of the listener's serving certificate (re-issued at every start), in days.
const SERVING_DAYS: u64 = 365;

/// Errors of loading, creating or using the agent CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// A file could not be read.
    #[error("failed to read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file or directory could not be written.
    #[error("failed to write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// One of the two files exists without the other.
    #[error(
        "{} exists but {} does not: restore it, or move the other away to create a new agent CA \
         (every router must then be enrolled again)",
        present.display(),
        missing.display()
    )]
    Incomplete { present: PathBuf, missing: PathBuf },
    /// The files on disk are not a usable CA.
    #[error("the agent CA in {} is not usable: {reason}", path.display())]
    Unusable { path: PathBuf, reason: String },
    /// Key generation or signing failed.
    #[error("failed to generate the {what}")]
    Generate {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
    /// The operating system gave no random bytes for a serial number.
    #[error("failed to read random bytes for a serial number: {0}")]
    Random(getrandom::Error),
    /// The certificate signing request is not acceptable (the caller's fault).
    #[error("the certificate signing request is not acceptable: {0}")]
    Csr(String),
    /// A freshly issued certificate cannot be read back.
    #[error("the issued certificate cannot be read back")]
    Identity(#[source] IdentityError),
}

/// Where a new router certificate's key comes from.
#[derive(Clone, Copy, Debug)]
pub enum KeySource<'a> {
    /// The controller generates it (ECDSA P-256) and returns it once.
    Generate,
    /// The router made it and sent this PKCS#10 request (PEM); only its public key is used.
    Csr(&'a str),
}

/// A certificate just issued.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The certificate (PEM).
    pub certificate_pem: String,
    /// Its private key (PKCS#8 PEM) when the controller generated it.
    pub private_key_pem: Option<String>,
    /// What it names.
    pub identity: CertificateIdentity,
}

impl fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("identity", &self.identity)
            .field(
                "private_key_pem",
                &self.private_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// The agent CA. Cheap to clone.
#[derive(Clone)]
pub struct AgentCa {
    inner: Arc<Inner>,
}

struct Inner {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for AgentCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentCa")
            .field("ca_pem", &self.inner.ca_pem)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl AgentCa {
    /// Loads the agent CA from `pki_dir`, creating it (and the directory, mode 0700) when
    /// neither file exists. Fails when only one exists, when the key does not match the
    /// certificate, or when the CA has expired: it is never replaced silently.
    pub fn load_or_create(pki_dir: &Path) -> Result<Self, CaError> {
        let cert_path = pki_dir.join(CA_CERT_FILE);
        let key_path = pki_dir.join(CA_KEY_FILE);
        match (read_optional(&cert_path)?, read_optional(&key_path)?) {
            (Some(cert_pem), Some(key_pem)) => Self::from_pem(&cert_pem, &key_pem, &cert_path),
            (None, None) => {
                let (ca, key_pem) = Self::generate_with_key()?;
                pki::create_private_dir(pki_dir).map_err(|source| CaError::Write {
                    path: pki_dir.to_owned(),
                    source,
                })?;
                write_new(&key_path, key_pem.as_bytes(), 0o600)?;
                write_new(&cert_path, ca.ca_pem().as_bytes(), 0o644)?;
                tracing::info!(ca = %cert_path.display(), "created the agent CA");
                Ok(ca)
            }
            (Some(_), None) => Err(CaError::Incomplete {
                present: cert_path,
                missing: key_path,
            }),
            (None, Some(_)) => Err(CaError::Incomplete {
                present: key_path,
                missing: cert_path,
            }),
        }
    }

    /// Loads the agent CA from two files that must exist (as a Kubernetes Secret mounts
    /// `tls.crt` and `tls.key`): every replica must sign with the same CA, so nothing is
    /// created here.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, CaError> {
        let read = |path: &Path| {
            fs::read_to_string(path).map_err(|source| CaError::Read {
                path: path.to_owned(),
                source,
            })
        };
        let cert_pem = read(cert_path)?;
        let key_pem = read(key_path)?;
        Self::from_pem(&cert_pem, &key_pem, cert_path)
    }

    /// A new CA held in memory only (tests, and the first step of [`Self::load_or_create`]).
    pub fn generate() -> Result<Self, CaError> {
        Self::generate_with_key().map(|(ca, _)| ca)
    }

    fn generate_with_key() -> Result<(Self, String), CaError> {
        let key =
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|source| CaError::Generate {
                what: "agent CA key",
                source,
            })?;
        let mut params = pki::ca_params(CA_COMMON_NAME, BasicConstraints::Constrained(0));
        let today = Utc::now().date_naive();
        pki::set_validity(&mut params, today, pki::months_after(today, CA_MONTHS));
        params.serial_number = Some(pki::random_serial().map_err(CaError::Random)?);
        let certificate = params
            .self_signed(&key)
            .map_err(|source| CaError::Generate {
                what: "agent CA certificate",
                source,
            })?;
        let key_pem = key.serialize_pem();
        let ca = Self {
            inner: Arc::new(Inner {
                ca_pem: certificate.pem(),
                ca_der: certificate.der().clone(),
                issuer: Issuer::new(params, key),
            }),
        };
        Ok((ca, key_pem))
    }

    /// The CA from its certificate and key (PEM); `path` names the certificate in errors.
    fn from_pem(cert_pem: &str, key_pem: &str, path: &Path) -> Result<Self, CaError> {
        let unusable = |reason: String| CaError::Unusable {
            path: path.to_owned(),
            reason,
        };
        let ca_der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| unusable(format!("the certificate does not parse: {e}")))?;
        let key = KeyPair::from_pem(key_pem)
            .map_err(|e| unusable(format!("the key does not parse: {e}")))?;
        let (_, certificate) = X509Certificate::from_der(&ca_der)
            .map_err(|e| unusable(format!("the certificate does not parse: {e}")))?;
        if certificate.public_key().subject_public_key.data.as_ref()
            != rcgen::PublicKeyData::der_bytes(&key)
        {
            return Err(unusable(
                "the key does not match the certificate".to_owned(),
            ));
        }
        if !certificate.validity().is_valid() {
            return Err(unusable(format!(
                "it is valid from {} to {}; move both files away to create a new agent CA \
                 (every router must then be enrolled again)",
                certificate.validity().not_before,
                certificate.validity().not_after
            )));
        }
        let issuer = Issuer::from_ca_cert_der(&ca_der, key)
            .map_err(|e| unusable(format!("the certificate cannot sign: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                ca_pem: cert_pem.to_owned(),
                ca_der,
                issuer,
            }),
        })
    }

    /// The CA's certificate (PEM): what agents trust, and what client certificates chain to.
    pub fn ca_pem(&self) -> &str {
        &self.inner.ca_pem
    }

    /// The CA's certificate (DER).
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.inner.ca_der
    }

    /// Issues a client certificate for `router` (valid for a year from today), with a new key
    /// or for the public key of a CSR. The CSR's subject and extensions are ignored.
    pub fn issue_router(
        &self,
        router: &str,
        key: KeySource<'_>,
    ) -> Result<IssuedCertificate, CaError> {
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, router);
        params.distinguished_name = name;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let today = Utc::now().date_naive();
        pki::set_validity(
            &mut params,
            today,
            pki::days_after(today, ROUTER_CERTIFICATE_DAYS),
        );
        params.serial_number = Some(pki::random_serial().map_err(CaError::Random)?);
        let failed = |source| CaError::Generate {
            what: "router certificate",
            source,
        };
        let (certificate, private_key_pem) = match key {
            KeySource::Generate => {
                let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|source| {
                    CaError::Generate {
                        what: "router key",
                        source,
                    }
                })?;
                let certificate = params.signed_by(&key, &self.inner.issuer).map_err(failed)?;
                (certificate, Some(key.serialize_pem()))
            }
            KeySource::Csr(pem) => {
                let mut csr = CertificateSigningRequestParams::from_pem(pem)
                    .map_err(|error| CaError::Csr(csr_reason(&error)))?;
                csr.params = params;
                (csr.signed_by(&self.inner.issuer).map_err(failed)?, None)
            }
        };
        let identity = identify(certificate.der()).map_err(CaError::Identity)?;
        Ok(IssuedCertificate {
            certificate_pem: certificate.pem(),
            private_key_pem,
            identity,
        })
    }

    /// A serving certificate for `hosts` (IP or DNS names) and its key (PKCS#8 DER), for the
    /// agent listener; the chain is the certificate then the CA.
    pub fn issue_serving(
        &self,
        hosts: &[String],
    ) -> Result<(Vec<CertificateDer<'static>>, Vec<u8>), CaError> {
        let failed = |what, source| CaError::Generate { what, source };
        let mut params =
            CertificateParams::new(hosts.to_vec()).map_err(|e| failed("serving certificate", e))?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, SERVING_COMMON_NAME);
        params.distinguished_name = name;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let today = Utc::now().date_naive();
        pki::set_validity(&mut params, today, pki::days_after(today, SERVING_DAYS));
        params.serial_number = Some(pki::random_serial().map_err(CaError::Random)?);
        let key =
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| failed("serving key", e))?;
        let certificate = params
            .signed_by(&key, &self.inner.issuer)
            .map_err(|e| failed("serving certificate", e))?;
        Ok((
            vec![certificate.der().clone(), self.inner.ca_der.clone()],
            key.serialize_der(),
        ))
    }
}

/// Why rcgen refused a CSR, in words for the caller.
fn csr_reason(error: &rcgen::Error) -> String {
    match error {
        rcgen::Error::InvalidCertificationRequestSignature => {
            "its signature does not verify".to_owned()
        }
        rcgen::Error::CouldNotParseCertificationRequest | rcgen::Error::PemError(_) => {
            "it is not a PEM PKCS#10 certificate signing request".to_owned()
        }
        rcgen::Error::UnsupportedExtension => {
            "it requests an extension other than subject alternative names, key usage, extended \
             key usage and basic constraints"
                .to_owned()
        }
        other => other.to_string(),
    }
}

/// The file's contents, or `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>, CaError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CaError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes a file that must not exist yet, with `mode` on Unix (0600 for a key).
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), CaError> {
    let error = |source| CaError::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(error)?;
    file.write_all(contents).map_err(error)?;
    file.sync_all().map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn the_ca_is_created_once_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = dir.path().join("pki");
        let first = AgentCa::load_or_create(&pki).expect("create");
        assert!(first.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        #[cfg(unix)]
        {
            assert_eq!(mode(&pki.join(CA_KEY_FILE)), 0o600);
            assert_eq!(mode(&pki.join(CA_CERT_FILE)), 0o644);
            assert_eq!(mode(&pki), 0o700);
        }
        let second = AgentCa::load_or_create(&pki).expect("reload");
        assert_eq!(first.ca_pem(), second.ca_pem());
        // A certificate issued after the reload chains to the same CA.
        let issued = second
            .issue_router("hanyin-r1", KeySource::Generate)
            .expect("issue");
        assert_eq!(issued.identity.router, "hanyin-r1");
    }

    #[test]
    fn a_half_missing_or_mismatched_ca_is_an_error_not_a_replacement() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = dir.path().to_path_buf();
        AgentCa::load_or_create(&pki).expect("create");
        let key = fs::read_to_string(pki.join(CA_KEY_FILE)).expect("key");
        fs::remove_file(pki.join(CA_KEY_FILE)).expect("remove");
        let error = AgentCa::load_or_create(&pki).expect_err("key missing");
        assert!(matches!(error, CaError::Incomplete { .. }), "{error}");
        assert!(error.to_string().contains(CA_KEY_FILE), "{error}");

        let other = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        fs::write(pki.join(CA_KEY_FILE), other.serialize_pem()).expect("write");
        let error = AgentCa::load_or_create(&pki).expect_err("other key");
        assert!(error.to_string().contains("does not match"), "{error}");
        fs::write(pki.join(CA_KEY_FILE), key).expect("restore");
        AgentCa::load_or_create(&pki).expect("restored");
    }

    #[test]
    fn router_certificates_name_the_router_with_a_random_serial() {
        let ca = AgentCa::generate().expect("ca");
        let a = ca.issue_router("r1", KeySource::Generate).expect("a");
        let b = ca.issue_router("r1", KeySource::Generate).expect("b");
        assert_ne!(a.identity.serial, b.identity.serial);
        assert_eq!(a.identity.serial.len(), 32);
        assert!(
            a.private_key_pem
                .as_deref()
                .is_some_and(|key| key.starts_with("-----BEGIN PRIVATE KEY-----"))
        );
        let days = (a.identity.not_after - Utc::now()).num_days();
        assert!((363..=366).contains(&days), "{days}");
        assert!(!format!("{a:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn a_csr_keeps_the_key_on_the_router_and_its_subject_is_ignored() {
        let ca = AgentCa::generate().expect("ca");
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "someone-else");
        let csr = params
            .serialize_request(&key)
            .expect("csr")
            .pem()
            .expect("pem");
        let issued = ca.issue_router("r2", KeySource::Csr(&csr)).expect("issue");
        assert_eq!(issued.private_key_pem, None);
        assert_eq!(issued.identity.router, "r2");
        let der = CertificateDer::from_pem_slice(issued.certificate_pem.as_bytes()).expect("der");
        let (_, certificate) = X509Certificate::from_der(&der).expect("parse");
        assert_eq!(
            certificate.public_key().subject_public_key.data.as_ref(),
            rcgen::PublicKeyData::der_bytes(&key)
        );

        let error = ca
            .issue_router("r2", KeySource::Csr("not a csr"))
            .expect_err("junk");
        assert!(matches!(error, CaError::Csr(_)), "{error}");
        let mut tampered = csr.clone().into_bytes();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("utf8");
        assert!(matches!(
            ca.issue_router("r2", KeySource::Csr(&tampered)),
            Err(CaError::Csr(_))
        ));
    }
}
