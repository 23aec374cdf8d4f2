//! Client certificates issued to router agents: serial, router, fingerprint, where the key was
//! made, who issued it, validity and revocation. Private keys are never stored.
//!
//! The agent listener looks a certificate up by serial on every request
//! ([`RouterCertificates::find`]): unknown and revoked serials are refused.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::database::Storage;
use super::db_time;
use super::error::StorageError;

/// Where a certificate's private key was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyOrigin {
    /// By the controller, handed to the caller once and never stored.
    Server,
    /// On the router: the controller signed its certificate signing request.
    Csr,
}

impl KeyOrigin {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Csr => "csr",
        }
    }
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyOrigin {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "server" => Ok(Self::Server),
            "csr" => Ok(Self::Csr),
            other => Err(format!("unknown key origin {other:?}")),
        }
    }
}

/// A certificate to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRouterCertificate {
    /// The serial number, lowercase hex without leading zero bytes.
    pub serial: String,
    /// The router it names (its subject's common name).
    pub router: String,
    /// Lowercase hex SHA-256 of the certificate's DER.
    pub fingerprint: String,
    pub key_origin: KeyOrigin,
    /// The audit actor of whoever asked for it.
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// A recorded certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterCertificate {
    pub serial: String,
    pub router: String,
    pub fingerprint: String,
    pub key_origin: KeyOrigin,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

impl RouterCertificate {
    /// Neither revoked nor expired at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.not_after
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    serial: String,
    router: String,
    fingerprint: String,
    key_origin: String,
    issued_by: String,
    issued_at: DateTime<Utc>,
    not_after: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_by: Option<String>,
}

/// The selected columns, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "serial, router, fingerprint, key_origin, issued_by, issued_at, not_after, revoked_at, \
         revoked_by"
    };
}

/// Whether `serial` is how serials are stored: 1 to 20 bytes of lowercase hex.
pub fn is_serial(serial: &str) -> bool {
    (2..=40).contains(&serial.len())
        && serial.len().is_multiple_of(2)
        && serial
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The `router_certificates` repository.
#[derive(Debug, Clone, Copy)]
pub struct RouterCertificates<'a> {
    storage: &'a Storage,
}

impl Storage {
    /// The router certificate repository.
    pub fn router_certificates(&self) -> RouterCertificates<'_> {
        RouterCertificates { storage: self }
    }
}

impl RouterCertificates<'_> {
    /// Records an issued certificate; `conflict` if the serial exists, `invalid_input` unless
    /// the serial and fingerprint are lowercase hex.
    pub async fn insert(
        &self,
        new: &NewRouterCertificate,
    ) -> Result<RouterCertificate, StorageError> {
        const OP: &str = "insert router certificate";
        const SQL: &str = concat!(
            "INSERT INTO router_certificates (serial, router, fingerprint, key_origin, ",
            "issued_by, issued_at, not_after) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
            columns!()
        );
        let hex64 = new.fingerprint.len() == 64
            && new
                .fingerprint
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !is_serial(&new.serial) || !hex64 {
            return Err(StorageError::InvalidInput {
                operation: OP,
                detail: "serial and fingerprint must be lowercase hex".to_owned(),
            });
        }
        let row = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, Row>(SQL)
                .bind(&new.serial)
                .bind(&new.router)
                .bind(&new.fingerprint)
                .bind(new.key_origin.as_str())
                .bind(&new.issued_by)
                .bind(db_time(new.issued_at))
                .bind(db_time(new.not_after))
                .fetch_one(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        self.decode(row, OP)
    }

    /// The certificate with this serial, whatever its state (`None` if unknown).
    pub async fn find(&self, serial: &str) -> Result<Option<RouterCertificate>, StorageError> {
        const OP: &str = "find router certificate";
        const SQL: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM router_certificates WHERE serial = $1"
        );
        let row = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, Row>(SQL)
                .bind(serial)
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        row.map(|row| self.decode(row, OP)).transpose()
    }

    /// The router's certificates (revoked and expired included), oldest first.
    pub async fn list_by_router(
        &self,
        router: &str,
    ) -> Result<Vec<RouterCertificate>, StorageError> {
        const OP: &str = "list router certificates";
        const SQL: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM router_certificates WHERE router = $1 ORDER BY issued_at, serial"
        );
        let rows = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, Row>(SQL)
                .bind(router)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        rows.into_iter().map(|row| self.decode(row, OP)).collect()
    }

    /// Revokes the router's certificate `serial` at `at`. Idempotent: `true` if this call
    /// revoked it, `false` if it already was (the first revocation is kept); `not_found` if the
    /// router has no such certificate.
    pub async fn revoke(
        &self,
        router: &str,
        serial: &str,
        at: DateTime<Utc>,
        by: &str,
    ) -> Result<bool, StorageError> {
        const OP: &str = "revoke router certificate";
        const SQL: &str = "UPDATE router_certificates SET revoked_at = $3, revoked_by = $4 \
                           WHERE serial = $1 AND router = $2 AND revoked_at IS NULL";
        let revoked = on_pool!(self.storage, |pool| {
            sqlx::query(SQL)
                .bind(serial)
                .bind(router)
                .bind(db_time(at))
                .bind(by)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|e| self.storage.error(OP, e))?;
        if revoked > 0 {
            return Ok(true);
        }
        match self.find(serial).await? {
            Some(certificate) if certificate.router == router => Ok(false),
            _ => Err(StorageError::NotFound {
                operation: OP,
                url: self.storage.redacted_url().to_owned(),
                what: format!("certificate {serial} of router {router}"),
            }),
        }
    }

    fn decode(self, row: Row, operation: &'static str) -> Result<RouterCertificate, StorageError> {
        let key_origin = row
            .key_origin
            .parse()
            .map_err(|detail| StorageError::Corrupt {
                operation,
                url: self.storage.redacted_url().to_owned(),
                detail,
            })?;
        Ok(RouterCertificate {
            serial: row.serial,
            router: row.router,
            fingerprint: row.fingerprint,
            key_origin,
            issued_by: row.issued_by,
            issued_at: row.issued_at,
            not_after: row.not_after,
            revoked_at: row.revoked_at,
            revoked_by: row.revoked_by,
        })
    }
}
