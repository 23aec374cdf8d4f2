//! The audit log repository: appends hash-chained records without forking, lists and verifies.

use std::ops::{Bound, RangeBounds};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::audit_chain::{AuditRecord, ChainStatus, ChainVerifier};
use super::database::{DbPool, Storage};
use super::db_time;
use super::error::StorageError;

/// Attempts of one append before giving up (each lost race costs one).
pub(super) const MAX_APPEND_ATTEMPTS: u32 = 64;
/// Records read per page while verifying.
const VERIFY_PAGE: i64 = 1000;

/// An audit event to append; `seq`, `prev_hash` and `hash` are assigned by [`AuditLog::append`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditRecord {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub tenant: Option<String>,
    pub action: String,
    pub object_kind: String,
    pub object_name: String,
    pub detail: serde_json::Value,
}

macro_rules! columns {
    () => {
        "seq, at, actor, tenant, action, object_kind, object_name, detail, prev_hash, hash"
    };
}

pub(super) const AUDIT_INSERT: &str = concat!(
    "INSERT INTO audit_log (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);
pub(super) const AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";
const RANGE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq"
);
const PAGE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
);

/// Chains `$template` onto the head of the log and inserts it, inside the open transaction
/// `$tx`; evaluates to `Result<AuditRecord, sqlx::Error>`. A concurrent append that took the
/// same `seq` makes the insert fail (primary key on `seq`, unique `prev_hash`), and the caller
/// retries the whole transaction.
macro_rules! append_in_tx {
    ($tx:expr, $template:expr) => {
        async {
            use $crate::storage::audit::{AUDIT_HEAD, AUDIT_INSERT};
            let head: Option<(i64, String)> =
                sqlx::query_as(AUDIT_HEAD).fetch_optional(&mut *$tx).await?;
            let (seq, prev_hash) = head.map_or(
                (1, $crate::storage::GENESIS_HASH.to_owned()),
                |(seq, hash)| (seq + 1, hash),
            );
            let record = $crate::storage::AuditRecord {
                seq,
                prev_hash,
                ..$template.clone()
            }
            .sealed();
            sqlx::query(AUDIT_INSERT)
                .bind(record.seq)
                .bind(record.at)
                .bind(&record.actor)
                .bind(&record.tenant)
                .bind(&record.action)
                .bind(&record.object_kind)
                .bind(&record.object_name)
                .bind(&record.detail)
                .bind(&record.prev_hash)
                .bind(&record.hash)
                .execute(&mut *$tx)
                .await?;
            Ok::<_, sqlx::Error>(record)
        }
        .await
    };
}
pub(super) use append_in_tx;

/// One append attempt in a transaction begun by `$begin`: read the head, chain onto it, insert.
macro_rules! append_once {
    ($begin:expr, $template:expr) => {
        async {
            let mut tx = $begin.await?;
            let record = append_in_tx!(tx, $template)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(record)
        }
        .await
    };
}

/// `new` as a record not yet chained (`seq`, `prev_hash` and `hash` empty), its time at the
/// stored precision.
pub(super) fn unchained(
    new: &NewAuditRecord,
    operation: &'static str,
) -> Result<AuditRecord, StorageError> {
    let detail = serde_json::to_string(&new.detail).map_err(|e| StorageError::InvalidInput {
        operation,
        detail: format!("detail is not serializable: {e}"),
    })?;
    Ok(AuditRecord {
        seq: 0,
        at: db_time(new.at),
        actor: new.actor.clone(),
        tenant: new.tenant.clone(),
        action: new.action.clone(),
        object_kind: new.object_kind.clone(),
        object_name: new.object_name.clone(),
        detail,
        prev_hash: String::new(),
        hash: String::new(),
    })
}

/// The `audit_log` repository.
#[derive(Debug, Clone, Copy)]
pub struct AuditLog<'a> {
    storage: &'a Storage,
}

impl Storage {
    /// The audit log repository.
    pub fn audit(&self) -> AuditLog<'_> {
        AuditLog { storage: self }
    }
}

impl AuditLog<'_> {
    /// Appends a record at the end of the chain and returns it as stored. Concurrent appends
    /// (from tasks or replicas) never fork the chain: each runs in a transaction, a lost race
    /// violates the uniqueness of `seq` and is retried.
    pub async fn append(&self, new: &NewAuditRecord) -> Result<AuditRecord, StorageError> {
        const OP: &str = "append audit record";
        let template = unchained(new, OP)?;
        let mut attempt = 1;
        loop {
            let result = match self.storage.pool() {
                // IMMEDIATE takes the write lock up front, so SQLite writers queue on the busy
                // timeout instead of failing when their read snapshot goes stale.
                DbPool::Sqlite(pool) => append_once!(pool.begin_with("BEGIN IMMEDIATE"), template),
                DbPool::Postgres(pool) => append_once!(pool.begin(), template),
            };
            match result {
                Ok(record) => return Ok(record),
                Err(e) if attempt < MAX_APPEND_ATTEMPTS && StorageError::is_retryable_sqlx(&e) => {
                    tracing::debug!(attempt, error = %e, "audit append lost a race; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(self.storage.error(OP, e)),
            }
        }
    }

    /// The records whose `seq` lies in `seqs`, in order.
    pub async fn list(
        &self,
        seqs: impl RangeBounds<i64>,
    ) -> Result<Vec<AuditRecord>, StorageError> {
        let low = match seqs.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => i64::MIN,
        };
        let high = match seqs.end_bound() {
            Bound::Included(&e) => e,
            Bound::Excluded(&e) => e.saturating_sub(1),
            Bound::Unbounded => i64::MAX,
        };
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, AuditRecord>(RANGE)
                .bind(low)
                .bind(high)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error("list audit records", e))
    }

    /// Walks the whole chain page by page and reports the first broken record, if any. The
    /// deletion of the newest records cannot be seen from the chain alone: compare the head
    /// with one recorded elsewhere for that.
    pub async fn verify(&self) -> Result<ChainStatus, StorageError> {
        let mut verifier = ChainVerifier::default();
        let mut after = 0_i64;
        loop {
            let page = on_pool!(self.storage, |pool| {
                sqlx::query_as::<_, AuditRecord>(PAGE)
                    .bind(after)
                    .bind(VERIFY_PAGE)
                    .fetch_all(pool)
                    .await
            })
            .map_err(|e| self.storage.error("verify audit chain", e))?;
            let Some(last) = page.last() else {
                return Ok(verifier.finish());
            };
            after = last.seq;
            for record in &page {
                if let Err(broken) = verifier.push(record) {
                    return Ok(ChainStatus::Broken(broken));
                }
            }
        }
    }
}

/// A short, growing, jittered pause between append attempts.
pub(super) fn backoff(attempt: u32) -> Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() % 2_000_000);
    Duration::from_millis(u64::from(attempt.min(20))) + Duration::from_nanos(u64::from(jitter))
}
