//! Certificate building shared by the API server's TLS (`crate::tls`) and the controller's agent
//! CA: a CA's parameters, validity in whole days at midnight UTC, random serial numbers, and the
//! private directory keys live in. Each caller keeps its own files and its own policy (the API
//! server re-issues its serving certificate; the agent CA never replaces itself).

use std::fs;
use std::io;
use std::path::Path;

use chrono::{Datelike, Months, NaiveDate, TimeDelta};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyUsagePurpose,
    SerialNumber,
};

/// The parameters of a CA named `common_name`: certificate and CRL signing, and signatures.
pub fn ca_params(common_name: &str, constraints: BasicConstraints) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(constraints);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// Valid from the day before `start` (tolerating clock skew) to `end`, at midnight UTC; an end
/// past X.509's `GeneralizedTime` (9999-12-31) is cut there.
pub fn set_validity(params: &mut CertificateParams, start: NaiveDate, end: NaiveDate) {
    let start = start.pred_opt().unwrap_or(start);
    let end = end.min(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(end));
    // Months and days always fit in a u8.
    let ymd = |date: NaiveDate| {
        rcgen::date_time_ymd(
            date.year(),
            u8::try_from(date.month()).unwrap_or(1),
            u8::try_from(date.day()).unwrap_or(1),
        )
    };
    params.not_before = ymd(start);
    params.not_after = ymd(end);
}

/// `date` plus `months`, or the latest date.
pub fn months_after(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// `date` plus `days`, or the latest date.
pub fn days_after(date: NaiveDate, days: u64) -> NaiveDate {
    i64::try_from(days)
        .ok()
        .and_then(TimeDelta::try_days)
        .and_then(|delta| date.checked_add_signed(delta))
        .unwrap_or(NaiveDate::MAX)
}

/// A positive random 16-byte serial number without a leading zero byte (so that its hex form
/// is the DER content as is).
pub fn random_serial() -> Result<SerialNumber, getrandom::Error> {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

/// Creates `dir` (and its parents) for keys: mode 0700 on Unix when this call creates it.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_starts_the_day_before_and_is_cut_at_9999() {
        let mut params = CertificateParams::default();
        let start = NaiveDate::from_ymd_opt(2026, 12, 7).expect("date");
        set_validity(&mut params, start, days_after(start, 365));
        assert_eq!(params.not_before, rcgen::date_time_ymd(2026, 12, 6));
        assert_eq!(params.not_after, rcgen::date_time_ymd(2027, 12, 7));
        set_validity(&mut params, start, NaiveDate::MAX);
        assert_eq!(params.not_after, rcgen::date_time_ymd(9999, 12, 31));
        assert_eq!(
            months_after(start, 120),
            NaiveDate::from_ymd_opt(2036, 12, 7).expect("date")
        );
    }

    #[test]
    fn serials_are_positive_without_a_leading_zero() {
        let a = random_serial().expect("random");
        let b = random_serial().expect("random");
        assert_ne!(a, b);
        let bytes = a.as_ref();
        assert_eq!(bytes.len(), 16);
        assert!(bytes[0] & 0x80 == 0 && bytes[0] != 0);
    }

    #[test]
    fn ca_params_sign_certificates() {
        let params = ca_params("test-ca", BasicConstraints::Constrained(0));
        assert_eq!(params.is_ca, IsCa::Ca(BasicConstraints::Constrained(0)));
        assert!(params.key_usages.contains(&KeyUsagePurpose::KeyCertSign));
    }
}
