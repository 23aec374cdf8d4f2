//! The desired configuration served to each router's agent: its body, its ETag and its
//! generation. Recording a body whose ETag differs from the stored one bumps the generation by
//! one, in one transaction with a conditional update (`… WHERE etag <> new`), so two requests
//! that compute the same change at the same time bump it once.

use chrono::{DateTime, Utc};

use super::database::{DbPool, Storage};
use super::db_time;
use super::error::StorageError;

/// The configuration recorded for a router.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredRouterConfig {
    pub router: String,
    /// Grows by one each time the ETag changes; 1 for the first configuration.
    pub generation: i64,
    /// Lowercase hex SHA-256 of the canonical body.
    pub etag: String,
    /// The configuration's canonical JSON, without its generation.
    pub body: String,
    /// When the generation last changed.
    pub updated_at: DateTime<Utc>,
}

/// What [`RouterConfigs::record`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The configuration as stored now.
    pub config: StoredRouterConfig,
    /// Whether this call stored a new generation (the first, or a changed body).
    pub changed: bool,
}

macro_rules! columns {
    () => {
        "router, generation, etag, body, updated_at"
    };
}

const FIND: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM router_configs WHERE router = $1"
);
const INSERT: &str = concat!(
    "INSERT INTO router_configs (router, generation, etag, body, updated_at) ",
    "VALUES ($1, 1, $2, $3, $4) ON CONFLICT (router) DO NOTHING RETURNING ",
    columns!()
);
const BUMP: &str = concat!(
    "UPDATE router_configs SET generation = generation + 1, etag = $2, body = $3, ",
    "updated_at = $4 WHERE router = $1 AND etag <> $2 RETURNING ",
    columns!()
);
const DELETE: &str = "DELETE FROM router_configs WHERE router = $1";
const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM router_configs ORDER BY router"
);

/// Records `($router, $etag, $body, $at)` in one transaction begun by `$begin`: unchanged when
/// the stored ETag is the same, else inserted at generation 1 or bumped by one.
macro_rules! record_in_tx {
    ($begin:expr, $router:expr, $etag:expr, $body:expr, $at:expr) => {
        async {
            let mut tx = $begin.await?;
            let found = sqlx::query_as::<_, StoredRouterConfig>(FIND)
                .bind($router)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(found) = found.filter(|found| found.etag == $etag) {
                tx.commit().await?;
                return Ok::<_, sqlx::Error>((found, false));
            }
            let inserted = sqlx::query_as::<_, StoredRouterConfig>(INSERT)
                .bind($router)
                .bind($etag)
                .bind($body)
                .bind($at)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(inserted) = inserted {
                tx.commit().await?;
                return Ok((inserted, true));
            }
            // A row exists: bump it unless another request just stored the same ETag.
            let bumped = sqlx::query_as::<_, StoredRouterConfig>(BUMP)
                .bind($router)
                .bind($etag)
                .bind($body)
                .bind($at)
                .fetch_optional(&mut *tx)
                .await?;
            let outcome = match bumped {
                Some(bumped) => (bumped, true),
                None => (
                    sqlx::query_as::<_, StoredRouterConfig>(FIND)
                        .bind($router)
                        .fetch_one(&mut *tx)
                        .await?,
                    false,
                ),
            };
            tx.commit().await?;
            Ok(outcome)
        }
        .await
    };
}

/// The `router_configs` repository.
#[derive(Debug, Clone, Copy)]
pub struct RouterConfigs<'a> {
    storage: &'a Storage,
}

impl Storage {
    /// The repository of the configurations served to router agents.
    pub fn router_configs(&self) -> RouterConfigs<'_> {
        RouterConfigs { storage: self }
    }
}

impl RouterConfigs<'_> {
    /// Records `body` (whose ETag is `etag`) as `router`'s configuration at `at`: the stored
    /// one when the ETag is the same, else a new generation (1 for the first).
    pub async fn record(
        &self,
        router: &str,
        etag: &str,
        body: &str,
        at: DateTime<Utc>,
    ) -> Result<Recorded, StorageError> {
        const OP: &str = "record a router configuration";
        if etag.len() != 64 || !etag.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StorageError::InvalidInput {
                operation: OP,
                detail: format!("the ETag of router {router}'s configuration is not a SHA-256"),
            });
        }
        let at = db_time(at);
        let (config, changed) = match self.storage.pool() {
            DbPool::Sqlite(pool) => {
                record_in_tx!(pool.begin_with("BEGIN IMMEDIATE"), router, etag, body, at)
            }
            DbPool::Postgres(pool) => record_in_tx!(pool.begin(), router, etag, body, at),
        }
        .map_err(|e| self.storage.error(OP, e))?;
        Ok(Recorded { config, changed })
    }

    /// `router`'s configuration, `None` before one was recorded.
    pub async fn find(&self, router: &str) -> Result<Option<StoredRouterConfig>, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, StoredRouterConfig>(FIND)
                .bind(router)
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.storage.error("read a router configuration", e))
    }

    /// Every recorded configuration, by router.
    pub async fn list(&self) -> Result<Vec<StoredRouterConfig>, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, StoredRouterConfig>(LIST)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error("list router configurations", e))
    }

    /// Each router's configuration generation, by router: what the activity feed compares to
    /// tell which routers were served a new configuration.
    pub async fn generations(&self) -> Result<Vec<(String, i64)>, StorageError> {
        const SQL: &str = "SELECT router, generation FROM router_configs";
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, (String, i64)>(SQL)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| {
            self.storage
                .error("read the generations of router configurations", e)
        })
    }

    /// Forgets `router`'s configuration (its `Router` was deleted); whether there was one.
    pub async fn delete(&self, router: &str) -> Result<bool, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query(DELETE)
                .bind(router)
                .execute(pool)
                .await
                .map(|done| done.rows_affected() > 0)
        })
        .map_err(|e| self.storage.error("delete a router configuration", e))
    }
}
