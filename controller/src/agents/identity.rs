//! Who a certificate names: the router (its subject's single common name), its serial number
//! (lowercase hex, as stored), its expiry and its SHA-256 fingerprint. Read from the DER of a
//! certificate the TLS handshake already verified, or of one the agent CA just issued.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

/// What a router certificate says about its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateIdentity {
    /// The subject's common name: the router's name.
    pub router: String,
    /// The serial number, lowercase hex without leading zero bytes.
    pub serial: String,
    /// Lowercase hex SHA-256 of the DER.
    pub fingerprint: String,
    /// When the certificate expires.
    pub not_after: DateTime<Utc>,
}

/// Why a certificate names no router.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The DER does not parse as an X.509 certificate.
    #[error("the certificate does not parse: {0}")]
    Parse(String),
    /// The subject has no common name, or more than one.
    #[error("the certificate's subject must have exactly one common name, found {0}")]
    CommonNames(usize),
    /// The common name is not a UTF-8 string.
    #[error("the certificate's common name is not a string")]
    CommonNameEncoding,
    /// The expiry is outside the range of dates the controller handles.
    #[error("the certificate's expiry is out of range")]
    Expiry,
}

/// The identity in certificate `der`.
pub fn identify(der: &[u8]) -> Result<CertificateIdentity, IdentityError> {
    let (_, certificate) =
        X509Certificate::from_der(der).map_err(|error| IdentityError::Parse(error.to_string()))?;
    let names: Vec<_> = certificate.subject().iter_common_name().collect();
    let [name] = names.as_slice() else {
        return Err(IdentityError::CommonNames(names.len()));
    };
    let router = name
        .as_str()
        .map_err(|_| IdentityError::CommonNameEncoding)?
        .to_owned();
    let not_after = DateTime::from_timestamp(certificate.validity().not_after.timestamp(), 0)
        .ok_or(IdentityError::Expiry)?;
    Ok(CertificateIdentity {
        router,
        serial: serial_hex(certificate.raw_serial()),
        fingerprint: hex::encode(Sha256::digest(der)),
        not_after,
    })
}

/// A serial number's DER content as stored: lowercase hex, leading zero bytes dropped (one
/// kept for zero).
pub fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex::encode(&raw[start..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SerialNumber};

    fn certificate(names: &[&str], serial: &[u8]) -> Vec<u8> {
        let mut params = CertificateParams::default();
        let mut subject = DistinguishedName::new();
        for name in names {
            subject.push(DnType::CommonName, *name);
        }
        params.distinguished_name = subject;
        params.serial_number = Some(SerialNumber::from_slice(serial));
        params.not_after = rcgen::date_time_ymd(2030, 1, 2);
        let key = KeyPair::generate().expect("key");
        params.self_signed(&key).expect("sign").der().to_vec()
    }

    #[test]
    fn the_common_name_and_serial_are_read() {
        let der = certificate(&["hanyin-r1"], &[0x3a, 0x00, 0xff]);
        let identity = identify(&der).expect("identity");
        assert_eq!(identity.router, "hanyin-r1");
        assert_eq!(identity.serial, "3a00ff");
        assert_eq!(identity.fingerprint.len(), 64);
        assert_eq!(identity.not_after.to_rfc3339(), "2030-01-02T00:00:00+00:00");
    }

    #[test]
    fn certificates_without_a_common_name_name_no_router() {
        assert_eq!(
            identify(&certificate(&[], &[1])),
            Err(IdentityError::CommonNames(0))
        );
        assert!(matches!(
            identify(b"not a certificate"),
            Err(IdentityError::Parse(_))
        ));
    }

    #[test]
    fn serials_drop_leading_zero_bytes() {
        assert_eq!(serial_hex(&[0, 0x80, 1]), "8001");
        assert_eq!(serial_hex(&[0x7f]), "7f");
        assert_eq!(serial_hex(&[0, 0]), "00");
        assert_eq!(serial_hex(&[]), "");
    }
}
