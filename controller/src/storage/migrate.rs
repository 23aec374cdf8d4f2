//! Versioned migrations, embedded per backend, and the schema version for diagnostics.
//!
//! `migrations/sqlite` and `migrations/postgres` are kept in step: the same version numbers
//! and the same logical tables, each in its backend's types.

use sqlx::migrate::Migrator;

use super::database::{DbPool, Storage};
use super::error::StorageError;
use super::url::Backend;

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

fn migrator(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    }
}

impl Storage {
    /// Applies the migrations not yet applied (a no-op on an up-to-date database). Fails if an
    /// applied migration was changed or is unknown to this build (a newer controller ran).
    pub(crate) async fn migrate(&self) -> Result<(), StorageError> {
        let migrator = migrator(self.backend());
        let result = match self.pool() {
            DbPool::Sqlite(pool) => migrator.run(pool).await,
            DbPool::Postgres(pool) => migrator.run(pool).await,
        };
        result.map_err(|source| StorageError::Migrate {
            url: self.redacted_url().to_owned(),
            source,
        })
    }

    /// The latest migration version applied to the database (`None` before any).
    pub async fn schema_version(&self) -> Result<Option<i64>, StorageError> {
        const SQL: &str = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
        on_pool!(self, |pool| {
            sqlx::query_scalar::<_, Option<i64>>(SQL)
                .fetch_one(pool)
                .await
        })
        .map_err(|e| self.error("read schema version", e))
    }

    /// The latest migration version this build carries for the backend in use.
    pub fn expected_schema_version(&self) -> Option<i64> {
        migrator(self.backend()).iter().map(|m| m.version).max()
    }
}
