//! `StorageError`: what went wrong in the storage layer, with a static category for metrics.
//!
//! Every message names the database by its redacted URL (never a password).

use sqlx::error::ErrorKind;

/// A storage failure. `url` fields always hold the redacted URL.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The URL is unusable (unknown scheme, bad syntax, unreachable path).
    #[error("failed to open database {url}: {reason}")]
    Config { url: String, reason: String },
    /// The database could not be opened or reached.
    #[error("failed to open database {url}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// The versioned migrations could not be applied.
    #[error("failed to apply migrations on {url}")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// The database became unreachable during an operation (I/O, pool timeout or closed).
    #[error("failed to {operation} on {url}: database unavailable")]
    Unavailable {
        operation: &'static str,
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// A statement failed.
    #[error("failed to {operation} on {url}")]
    Query {
        operation: &'static str,
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// A uniqueness rule refused the write (the row, or a conflicting one, already exists).
    #[error("failed to {operation} on {url}: conflict: {detail}")]
    Conflict {
        operation: &'static str,
        url: String,
        detail: String,
    },
    /// The row the operation needs does not exist.
    #[error("failed to {operation} on {url}: {what} not found")]
    NotFound {
        operation: &'static str,
        url: String,
        what: String,
    },
    /// The caller's input was refused before or by the database (a constraint).
    #[error("failed to {operation}: invalid input: {detail}")]
    InvalidInput {
        operation: &'static str,
        detail: String,
    },
    /// A stored value could not be understood (for example an unknown enum value).
    #[error("failed to {operation} on {url}: invalid stored data: {detail}")]
    Corrupt {
        operation: &'static str,
        url: String,
        detail: String,
    },
}

impl StorageError {
    /// A static, bounded label for metrics and event reasons.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Config { .. } => "config",
            Self::Connect { .. } => "connect",
            Self::Migrate { .. } => "migrate",
            Self::Unavailable { .. } => "unavailable",
            Self::Query { .. } => "query",
            Self::Conflict { .. } => "conflict",
            Self::NotFound { .. } => "not_found",
            Self::InvalidInput { .. } => "invalid_input",
            Self::Corrupt { .. } => "corrupt",
        }
    }

    /// Classifies a failed statement: constraint violations become `Conflict`, `NotFound` or
    /// `InvalidInput`; lost connections `Unavailable`; anything else `Query`.
    pub(crate) fn from_sqlx(operation: &'static str, url: &str, source: sqlx::Error) -> Self {
        let url = url.to_owned();
        match &source {
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => Self::Conflict {
                    operation,
                    url,
                    detail: db.message().to_owned(),
                },
                ErrorKind::ForeignKeyViolation => Self::NotFound {
                    operation,
                    url,
                    what: format!("referenced row ({})", db.message()),
                },
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => Self::InvalidInput {
                    operation,
                    detail: db.message().to_owned(),
                },
                _ => Self::Query {
                    operation,
                    url,
                    source,
                },
            },
            sqlx::Error::RowNotFound => Self::NotFound {
                operation,
                url,
                what: "row".to_owned(),
            },
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable {
                operation,
                url,
                source,
            },
            _ => Self::Query {
                operation,
                url,
                source,
            },
        }
    }

    /// Whether retrying the whole transaction may succeed: a uniqueness race, a busy or locked
    /// SQLite database, or a PostgreSQL serialization failure or deadlock.
    pub(crate) fn is_retryable_sqlx(source: &sqlx::Error) -> bool {
        let sqlx::Error::Database(db) = source else {
            return false;
        };
        if db.kind() == ErrorKind::UniqueViolation {
            return true;
        }
        let code = db.code();
        let code = code.as_deref().unwrap_or_default();
        if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
            // SQLite extended result codes: the primary code is the low byte (5 BUSY, 6 LOCKED).
            code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
        } else {
            matches!(code, "40001" | "40P01")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StorageError;

    #[test]
    fn categories_are_static_labels() {
        let url = "postgres://postgres:***@127.0.0.1:5432/db";
        let error = StorageError::from_sqlx("list tokens", url, sqlx::Error::PoolTimedOut);
        assert_eq!(error.category(), "unavailable");
        assert!(
            error
                .to_string()
                .starts_with(&format!("failed to list tokens on {url}: "))
        );
        let error = StorageError::from_sqlx("find token", url, sqlx::Error::RowNotFound);
        assert_eq!(error.category(), "not_found");
        let error = StorageError::Config {
            url: "mysql://x".to_owned(),
            reason: "unsupported URL scheme".to_owned(),
        };
        assert_eq!(error.category(), "config");
        assert_eq!(
            error.to_string(),
            "failed to open database mysql://x: unsupported URL scheme"
        );
    }
}
