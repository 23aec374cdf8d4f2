//! API bearer tokens: scoped to a tenant and a role; only the SHA-256 of the secret is stored.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::audit::{
    MAX_APPEND_ATTEMPTS, NewAuditRecord, append_in_tx, backoff as append_backoff, unchained,
};
use super::audit_chain::AuditRecord;
use super::database::{DbPool, Storage};
use super::db_time;
use super::error::StorageError;

/// What a token may do within its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Read the tenant's quota, usage and objects.
    Viewer,
    /// Also request quota and submit or confirm migrations.
    Editor,
    /// The cloud operations team: approve requests, across tenants.
    Operations,
    /// Read-only access including the audit log.
    Auditor,
}

impl Role {
    /// Every role, in privilege order.
    pub const ALL: [Self; 4] = [Self::Viewer, Self::Editor, Self::Operations, Self::Auditor];

    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Operations => "operations",
            Self::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}"))
    }
}

/// The lowercase hex SHA-256 of a token secret: what is stored and looked up.
pub fn hash_token_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A token to store; `token_hash` comes from [`hash_token_secret`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    pub tenant: String,
    pub role: Role,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub description: String,
}

/// A stored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub tenant: String,
    pub role: Role,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub description: String,
}

impl ApiToken {
    /// Neither revoked nor expired at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expires| now < expires)
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    tenant: String,
    role: String,
    token_hash: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    description: String,
}

/// The selected columns, as a literal for `concat!` (queries must be `&'static str`).
macro_rules! columns {
    () => {
        "id, tenant, role, token_hash, created_at, expires_at, revoked_at, description"
    };
}

const INSERT_TOKEN: &str = concat!(
    "INSERT INTO api_tokens ",
    "(tenant, role, token_hash, created_at, expires_at, description) ",
    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
    columns!()
);

/// The `api_tokens` repository.
#[derive(Debug, Clone, Copy)]
pub struct Tokens<'a> {
    storage: &'a Storage,
}

impl Storage {
    /// The API token repository.
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens { storage: self }
    }
}

impl Tokens<'_> {
    /// Stores a token. Fails with `invalid_input` unless `token_hash` is a lowercase hex
    /// SHA-256 (so a secret can never be stored by mistake), `conflict` if the hash exists.
    pub async fn insert(&self, token: &NewApiToken) -> Result<ApiToken, StorageError> {
        const OP: &str = "insert api token";
        if !is_sha256_hex(&token.token_hash) {
            return Err(StorageError::InvalidInput {
                operation: OP,
                detail: "token_hash must be the lowercase hex SHA-256 of the secret".to_owned(),
            });
        }
        let row = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, TokenRow>(INSERT_TOKEN)
                .bind(&token.tenant)
                .bind(token.role.as_str())
                .bind(&token.token_hash)
                .bind(db_time(token.created_at))
                .bind(token.expires_at.map(db_time))
                .bind(&token.description)
                .fetch_one(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        self.decode(row, OP)
    }

    /// Stores a token and its audit record (`record`, built from the stored token) in one
    /// transaction: both or, on any failure (a database lost mid-request included), neither, so
    /// that no token is ever usable without its record. Validation as [`Tokens::insert`]; a lost
    /// race for the audit log's next `seq` retries the whole transaction.
    pub async fn insert_audited(
        &self,
        token: &NewApiToken,
        record: impl Fn(&ApiToken) -> NewAuditRecord,
    ) -> Result<(ApiToken, AuditRecord), StorageError> {
        const OP: &str = "insert api token with its audit record";
        if !is_sha256_hex(&token.token_hash) {
            return Err(StorageError::InvalidInput {
                operation: OP,
                detail: "token_hash must be the lowercase hex SHA-256 of the secret".to_owned(),
            });
        }
        /// One attempt in a transaction begun by `$begin`; evaluates to
        /// `Result<Result<(ApiToken, AuditRecord), StorageError>, sqlx::Error>`.
        macro_rules! insert_audited_once {
            ($begin:expr) => {
                async {
                    let mut tx = $begin.await?;
                    let row = sqlx::query_as::<_, TokenRow>(INSERT_TOKEN)
                        .bind(&token.tenant)
                        .bind(token.role.as_str())
                        .bind(&token.token_hash)
                        .bind(db_time(token.created_at))
                        .bind(token.expires_at.map(db_time))
                        .bind(&token.description)
                        .fetch_one(&mut *tx)
                        .await?;
                    let stored = match self.decode(row, OP) {
                        Ok(stored) => stored,
                        Err(error) => return Ok(Err(error)),
                    };
                    let template = match unchained(&record(&stored), OP) {
                        Ok(template) => template,
                        Err(error) => return Ok(Err(error)),
                    };
                    let audited = append_in_tx!(tx, template)?;
                    tx.commit().await?;
                    Ok::<_, sqlx::Error>(Ok((stored, audited)))
                }
                .await
            };
        }
        let mut attempt = 1;
        loop {
            let result = match self.storage.pool() {
                // IMMEDIATE: the write lock up front, as the audit log's own appends take it.
                DbPool::Sqlite(pool) => insert_audited_once!(pool.begin_with("BEGIN IMMEDIATE")),
                DbPool::Postgres(pool) => insert_audited_once!(pool.begin()),
            };
            match result {
                Ok(outcome) => return outcome,
                Err(e) if attempt < MAX_APPEND_ATTEMPTS && StorageError::is_retryable_sqlx(&e) => {
                    tracing::debug!(attempt, error = %e, "token and audit record lost a race; retrying");
                    tokio::time::sleep(append_backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(self.storage.error(OP, e)),
            }
        }
    }

    /// The token with this hash, whatever its state (`None` if unknown).
    pub async fn find_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>, StorageError> {
        const OP: &str = "find api token";
        const SQL: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM api_tokens WHERE token_hash = $1"
        );
        let row = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, TokenRow>(SQL)
                .bind(token_hash)
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        row.map(|row| self.decode(row, OP)).transpose()
    }

    /// The token with this hash if it is neither revoked nor expired at `now`.
    pub async fn find_active(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiToken>, StorageError> {
        Ok(self
            .find_by_hash(token_hash)
            .await?
            .filter(|token| token.is_active(now)))
    }

    /// The tenant's tokens (revoked and expired included), oldest first.
    pub async fn list_by_tenant(&self, tenant: &str) -> Result<Vec<ApiToken>, StorageError> {
        const OP: &str = "list api tokens";
        const SQL: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM api_tokens WHERE tenant = $1 ORDER BY id"
        );
        let rows = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, TokenRow>(SQL)
                .bind(tenant)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        rows.into_iter().map(|row| self.decode(row, OP)).collect()
    }

    /// Revokes the tenant's token `id` at `at`. Idempotent: returns `true` if this call revoked
    /// it, `false` if it already was (the first revocation time is kept); `not_found` if the
    /// tenant has no such token.
    pub async fn revoke(
        &self,
        tenant: &str,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        const OP: &str = "revoke api token";
        const SQL: &str = "UPDATE api_tokens SET revoked_at = $3 \
                           WHERE id = $1 AND tenant = $2 AND revoked_at IS NULL";
        const EXISTS: &str = "SELECT COUNT(*) FROM api_tokens WHERE id = $1 AND tenant = $2";
        let revoked = on_pool!(self.storage, |pool| {
            sqlx::query(SQL)
                .bind(id)
                .bind(tenant)
                .bind(db_time(at))
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|e| self.storage.error(OP, e))?;
        if revoked > 0 {
            return Ok(true);
        }
        let existing = on_pool!(self.storage, |pool| {
            sqlx::query_scalar::<_, i64>(EXISTS)
                .bind(id)
                .bind(tenant)
                .fetch_one(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        if existing == 0 {
            return Err(StorageError::NotFound {
                operation: OP,
                url: self.storage.redacted_url().to_owned(),
                what: format!("api token {id} of tenant {tenant}"),
            });
        }
        Ok(false)
    }

    fn decode(self, row: TokenRow, operation: &'static str) -> Result<ApiToken, StorageError> {
        let role = row.role.parse().map_err(|detail| StorageError::Corrupt {
            operation,
            url: self.storage.redacted_url().to_owned(),
            detail,
        })?;
        Ok(ApiToken {
            id: row.id,
            tenant: row.tenant,
            role,
            token_hash: row.token_hash,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            description: row.description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Role, hash_token_secret, is_sha256_hex};

    #[test]
    fn secret_hash_is_lowercase_hex_sha256() {
        // printf abc | sha256sum
        assert_eq!(
            hash_token_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_sha256_hex(&hash_token_secret("gct_secret")));
        assert!(!is_sha256_hex("gct_secret"));
        assert!(!is_sha256_hex(&hash_token_secret("x").to_uppercase()));
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
