//! The provincial outbox: reports queued for the provincial multi-cloud manager, delivered in
//! order with retries.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use super::database::Storage;
use super::db_time;
use super::error::StorageError;

/// A queued report.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    /// The report type (e.g. `inventory`, `usage`, `progress`).
    pub kind: String,
    pub payload: Value,
    /// Failed delivery attempts so far.
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    created_at: DateTime<Utc>,
    kind: String,
    payload: Json<Value>,
    attempts: i64,
    next_attempt_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

impl From<MessageRow> for OutboxMessage {
    fn from(row: MessageRow) -> Self {
        Self {
            id: row.id,
            created_at: row.created_at,
            kind: row.kind,
            payload: row.payload.0,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            delivered_at: row.delivered_at,
        }
    }
}

macro_rules! columns {
    () => {
        "id, created_at, kind, payload, attempts, next_attempt_at, delivered_at"
    };
}

const ENQUEUE: &str = concat!(
    "INSERT INTO provincial_outbox (created_at, kind, payload, attempts, next_attempt_at) ",
    "VALUES ($1, $2, $3, 0, $1) RETURNING ",
    columns!()
);
const DUE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM provincial_outbox WHERE delivered_at IS NULL AND next_attempt_at <= $1 ",
    "ORDER BY id LIMIT $2"
);
const DELIVERED: &str =
    "UPDATE provincial_outbox SET delivered_at = $2 WHERE id = $1 AND delivered_at IS NULL";
const FAILED: &str = concat!(
    "UPDATE provincial_outbox SET attempts = attempts + 1, next_attempt_at = $2 ",
    "WHERE id = $1 AND delivered_at IS NULL RETURNING ",
    columns!()
);
const EXISTS: &str = "SELECT COUNT(*) FROM provincial_outbox WHERE id = $1";
const PENDING: &str = "SELECT COUNT(*) FROM provincial_outbox WHERE delivered_at IS NULL";

/// The `provincial_outbox` repository.
#[derive(Debug, Clone, Copy)]
pub struct Outbox<'a> {
    storage: &'a Storage,
}

impl Storage {
    /// The provincial outbox repository.
    pub fn outbox(&self) -> Outbox<'_> {
        Outbox { storage: self }
    }
}

impl Outbox<'_> {
    /// Queues a report, due at once.
    pub async fn enqueue(
        &self,
        kind: &str,
        payload: &Value,
        now: DateTime<Utc>,
    ) -> Result<OutboxMessage, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, MessageRow>(ENQUEUE)
                .bind(db_time(now))
                .bind(kind)
                .bind(Json(payload))
                .fetch_one(pool)
                .await
        })
        .map(OutboxMessage::from)
        .map_err(|e| self.storage.error("enqueue outbox message", e))
    }

    /// Up to `limit` undelivered messages due at `now`, oldest (lowest id) first.
    pub async fn fetch_due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, MessageRow>(DUE)
                .bind(db_time(now))
                .bind(limit)
                .fetch_all(pool)
                .await
        })
        .map(|rows| rows.into_iter().map(OutboxMessage::from).collect())
        .map_err(|e| self.storage.error("fetch due outbox messages", e))
    }

    /// Marks message `id` delivered. Idempotent: `true` if this call delivered it, `false` if
    /// it already was; `not_found` for an unknown id.
    pub async fn mark_delivered(&self, id: i64, at: DateTime<Utc>) -> Result<bool, StorageError> {
        const OP: &str = "mark outbox message delivered";
        let updated = on_pool!(self.storage, |pool| {
            sqlx::query(DELIVERED)
                .bind(id)
                .bind(db_time(at))
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|e| self.storage.error(OP, e))?;
        if updated > 0 {
            return Ok(true);
        }
        self.ensure_exists(id, OP).await?;
        Ok(false)
    }

    /// Records a failed attempt on message `id`: one more attempt, next try at
    /// `next_attempt_at`. `not_found` unless the message exists undelivered.
    pub async fn mark_failed(
        &self,
        id: i64,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<OutboxMessage, StorageError> {
        const OP: &str = "mark outbox message failed";
        let row = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, MessageRow>(FAILED)
                .bind(id)
                .bind(db_time(next_attempt_at))
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        row.map(OutboxMessage::from)
            .ok_or_else(|| StorageError::NotFound {
                operation: OP,
                url: self.storage.redacted_url().to_owned(),
                what: format!("undelivered outbox message {id}"),
            })
    }

    /// How many messages wait for delivery.
    pub async fn count_pending(&self) -> Result<i64, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_scalar::<_, i64>(PENDING).fetch_one(pool).await
        })
        .map_err(|e| self.storage.error("count pending outbox messages", e))
    }

    async fn ensure_exists(&self, id: i64, operation: &'static str) -> Result<(), StorageError> {
        let count = on_pool!(self.storage, |pool| {
            sqlx::query_scalar::<_, i64>(EXISTS)
                .bind(id)
                .fetch_one(pool)
                .await
        })
        .map_err(|e| self.storage.error(operation, e))?;
        if count == 0 {
            return Err(StorageError::NotFound {
                operation,
                url: self.storage.redacted_url().to_owned(),
                what: format!("outbox message {id}"),
            });
        }
        Ok(())
    }
}
