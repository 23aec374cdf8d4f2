//! The tests' databases, made one way: a fresh SQLite file, or a fresh PostgreSQL database on the
//! server `GOVCLOUD_TEST_DATABASE_URL` names (the skip rule of [`crate::require`] applies when it
//! is unset), handed out as a URL that the code under test opens
//! (`govcloud_controller::storage::Storage::open`), and removed afterwards.
//!
//! The harness only creates and drops databases: the schema is the storage's own migrations', so
//! every test starts from what a new installation has, on either backend.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

/// The variable naming the PostgreSQL server of the tests (`.ci/setup-postgres` prints it): a
/// URL whose user may create databases.
pub const DATABASE_URL: &str = "GOVCLOUD_TEST_DATABASE_URL";

/// PostgreSQL's longest identifier, in bytes.
const MAX_NAME: usize = 63;

/// Databases made by this process so far, for unique names.
static MADE: AtomicUsize = AtomicUsize::new(0);

/// A storage backend of the tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server of the tests, or `None` (after the skip rule: a printed reason, or a
/// panic under `GOVCLOUD_REQUIRE_ALL=1`) when `GOVCLOUD_TEST_DATABASE_URL` is unset or empty.
pub fn server_url(test: &str) -> Option<String> {
    let url = std::env::var(DATABASE_URL)
        .ok()
        .filter(|url| !url.is_empty());
    if url.is_none() {
        crate::require::skip(
            test,
            &format!("{DATABASE_URL} is not set (.ci/setup-postgres prints one)"),
        );
    }
    url
}

/// A database made for one test. [`TestDatabase::remove`] drops it; one dropped without that
/// (a test that panicked) is dropped all the same, on a thread of its own.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    place: Place,
}

#[derive(Debug)]
enum Place {
    /// The directory of the SQLite file, deleted with it.
    Sqlite { _dir: tempfile::TempDir },
    /// A database on the server, dropped at the end.
    Postgres { server: String, name: String },
    /// Already removed.
    Removed,
}

impl TestDatabase {
    /// A fresh database of `backend` for `test`, or `None` when PostgreSQL is asked for and the
    /// skip rule lets the test skip.
    pub async fn create(backend: Backend, test: &str) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres(test).await,
        }
    }

    /// A SQLite file in a fresh temporary directory (the storage creates the file).
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory for the SQLite file");
        let url = format!("sqlite://{}", dir.path().join("govcloud.db").display());
        Self {
            url,
            place: Place::Sqlite { _dir: dir },
        }
    }

    /// A freshly created PostgreSQL database named after `test` (and this process, so that
    /// concurrent runs never meet), or `None` as [`server_url`] says.
    pub async fn postgres(test: &str) -> Option<Self> {
        let server = server_url(test)?;
        let name = database_name(test);
        let mut admin = PgConnection::connect(&server)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to {DATABASE_URL}: {error}"));
        sqlx::query(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|error| panic!("cannot create the database {name}: {error}"));
        admin.close().await.expect("close the admin connection");
        let mut url = url::Url::parse(&server)
            .unwrap_or_else(|error| panic!("{DATABASE_URL} is not a URL: {error}"));
        url.set_path(&name);
        Some(Self {
            url: url.to_string(),
            place: Place::Postgres { server, name },
        })
    }

    /// The URL the code under test opens.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which backend it is.
    pub fn backend(&self) -> Backend {
        match self.place {
            Place::Postgres { .. } => Backend::Postgres,
            Place::Sqlite { .. } | Place::Removed => Backend::Sqlite,
        }
    }

    /// Drops the database (forcing out connections still open) or deletes the SQLite file.
    pub async fn remove(mut self) {
        if let Place::Postgres { server, name } = std::mem::replace(&mut self.place, Place::Removed)
        {
            drop_database(&server, &name)
                .await
                .unwrap_or_else(|error| panic!("cannot drop the database {name}: {error}"));
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Place::Postgres { server, name } = std::mem::replace(&mut self.place, Place::Removed)
        {
            // This thread may be a runtime's, which cannot block on another: a thread of its own,
            // and no panic (the test may be unwinding already).
            let dropping = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime
                    && let Err(error) = runtime.block_on(drop_database(&server, &name))
                {
                    eprintln!("the test database {name} was not dropped: {error}");
                }
            });
            let _ = dropping.join();
        }
    }
}

/// `DROP DATABASE … WITH (FORCE)` on `server`.
async fn drop_database(server: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(server).await?;
    sqlx::query(AssertSqlSafe(format!(
        r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
    )))
    .execute(&mut admin)
    .await?;
    admin.close().await
}

/// `govcloud_test_PID_N_TEST`: lowercase letters, digits and underscores, at most 63 bytes.
fn database_name(test: &str) -> String {
    let made = MADE.fetch_add(1, Ordering::Relaxed);
    let mut name = format!("govcloud_test_{}_{made}_", std::process::id());
    name.extend(test.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        }
    }));
    name.truncate(MAX_NAME);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_identifiers_of_at_most_63_bytes() {
        let long = "a_test_whose_name_is_much_longer_than_postgresql_lets_an_identifier_be";
        let first = database_name(long);
        let second = database_name("Odd-Name ü");
        assert!(first.len() <= MAX_NAME, "{first}");
        assert!(first.starts_with(&format!("govcloud_test_{}_", std::process::id())));
        assert_ne!(first, database_name(long));
        assert!(second.ends_with("_odd_name__"), "{second}");
        assert!(
            second
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
    }

    #[test]
    fn sqlite_databases_are_files_in_a_directory_of_their_own() {
        let database = TestDatabase::sqlite();
        assert_eq!(database.backend(), Backend::Sqlite);
        let path = database
            .url()
            .strip_prefix("sqlite://")
            .expect("a SQLite URL");
        let dir = std::path::Path::new(path)
            .parent()
            .expect("a directory")
            .to_path_buf();
        assert!(dir.is_dir());
        drop(database);
        assert!(!dir.exists(), "the directory goes with it");
    }
}
