//! The `Storage` handle: opens the database a URL names, configures it and migrates it.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection as _, PgConnection, PgPool, SqlitePool};

use super::error::StorageError;
use super::url::{Backend, redacted_url};

/// How long a SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an operation waits for a free pooled connection (or a new one).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections per pool.
const MAX_CONNECTIONS: u32 = 10;

/// The concrete connection pool of one backend.
#[derive(Debug, Clone)]
pub enum DbPool {
    /// A SQLite file (WAL, foreign keys on) or an in-memory database.
    Sqlite(SqlitePool),
    /// A PostgreSQL database.
    Postgres(PgPool),
}

/// The storage handle: a pool on one backend, migrated to this build's schema. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage {
    pool: DbPool,
    /// The database URL with its password removed; used in every message.
    url: Arc<str>,
}

impl Storage {
    /// Opens the database `url` names (`sqlite://path/to/file.db`, `sqlite::memory:` or
    /// `postgres://user:pass@host:port/db`) and applies the pending migrations. A SQLite file
    /// (and its directory) is created on first run.
    pub async fn open(url: &str) -> Result<Self, StorageError> {
        let redacted = redacted_url(url);
        let pool = match Backend::from_url(url) {
            Some(Backend::Sqlite) => DbPool::Sqlite(open_sqlite(url, &redacted).await?),
            Some(Backend::Postgres) => DbPool::Postgres(open_postgres(url, &redacted).await?),
            None => {
                return Err(StorageError::Config {
                    url: redacted,
                    reason: "unsupported URL scheme (expected sqlite://path/to/file.db, \
                             sqlite::memory: or postgres://user:pass@host:port/db)"
                        .to_owned(),
                });
            }
        };
        let storage = Self {
            pool,
            url: redacted.into(),
        };
        storage.migrate().await?;
        tracing::info!(
            database = %storage.url,
            backend = %storage.backend(),
            "storage opened and migrated"
        );
        Ok(storage)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match self.pool {
            DbPool::Sqlite(_) => Backend::Sqlite,
            DbPool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The concrete pool, for diagnostics and tests; repository methods are the normal way in.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// The database URL without its password.
    pub fn redacted_url(&self) -> &str {
        &self.url
    }

    /// Answers when the database does (`SELECT 1`): the readiness probe's storage check.
    pub async fn ping(&self) -> Result<(), StorageError> {
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i32>("SELECT 1")
                .fetch_one(pool)
                .await
        })
        .map(drop)
        .map_err(|e| self.error("ping", e))
    }

    /// Closes every pooled connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await);
    }

    /// A `StorageError` for a failed statement of `operation`.
    pub(crate) fn error(&self, operation: &'static str, source: sqlx::Error) -> StorageError {
        StorageError::from_sqlx(operation, &self.url, source)
    }
}

async fn open_sqlite(url: &str, redacted: &str) -> Result<SqlitePool, StorageError> {
    let connect_error = |source| StorageError::Connect {
        url: redacted.to_owned(),
        source,
    };
    let options = SqliteConnectOptions::from_str(url).map_err(connect_error)?;
    let in_memory = is_sqlite_memory(url);
    let options = options
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .create_if_missing(true);
    let options = if in_memory {
        options
    } else {
        if let Some(dir) = options
            .get_filename()
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| StorageError::Config {
                    url: redacted.to_owned(),
                    reason: format!("failed to create directory {}: {e}", dir.display()),
                })?;
        }
        options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
    };
    let pool_options = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT);
    // An in-memory database lives as long as one of its connections: keep one open for good.
    let pool_options = if in_memory {
        pool_options
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        pool_options
    };
    pool_options
        .connect_with(options)
        .await
        .map_err(connect_error)
}

fn is_sqlite_memory(url: &str) -> bool {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database == ":memory:" || params.split('&').any(|p| p == "mode=memory")
}

async fn open_postgres(url: &str, redacted: &str) -> Result<PgPool, StorageError> {
    let connect_error = |source| StorageError::Connect {
        url: redacted.to_owned(),
        source,
    };
    let options = PgConnectOptions::from_str(url)
        .map_err(connect_error)?
        .application_name("govcloud-controller");
    // The pool retries refused connections until its acquire timeout and then reports only
    // "pool timed out"; one direct attempt first fails fast with the real cause.
    PgConnection::connect_with(&options)
        .await
        .map_err(connect_error)?
        .close()
        .await
        .map_err(connect_error)?;
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(connect_error)
}

#[cfg(test)]
mod tests {
    use super::is_sqlite_memory;

    #[test]
    fn in_memory_sqlite_urls_are_recognised() {
        assert!(is_sqlite_memory("sqlite::memory:"));
        assert!(is_sqlite_memory("sqlite://:memory:"));
        assert!(is_sqlite_memory("sqlite://db?mode=memory"));
        assert!(!is_sqlite_memory("sqlite://state.db"));
        assert!(!is_sqlite_memory("sqlite:///var/lib/govcloud/memory.db"));
    }
}
