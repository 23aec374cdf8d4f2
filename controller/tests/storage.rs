//! The storage suite: written once against `Storage`, run on a fresh SQLite file always and on
//! a fresh PostgreSQL database when `GOVCLOUD_TEST_DATABASE_URL` is set (required, not skipped,
//! when `GOVCLOUD_REQUIRE_ALL=1`).

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use govcloud_controller::report::error_chain;
use govcloud_controller::storage::{
    Backend, ChainBreak, ChainStatus, DbPool, GENESIS_HASH, KeyOrigin, NewApiToken, NewAuditRecord,
    NewIpamAllocation, NewReservation, NewRouterCertificate, ReserveOutcome, ReservedAmounts, Role,
    Storage, StorageError, TelemetrySample, hash_token_secret,
};
use govcloud_crds::api::{LinkCounters, LinkObservation, RouteSummary, TelemetryReport};
use govcloud_tests::database::TestDatabase;
use serde_json::json;
use sqlx::AssertSqlSafe;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A database made for one test (by `govcloud_tests::database`), dropped after it.
struct TestDb {
    storage: Storage,
    url: String,
    database: TestDatabase,
}

impl TestDb {
    async fn sqlite() -> Self {
        Self::open(TestDatabase::sqlite()).await
    }

    /// A freshly created, uniquely named database, or `None` (after saying so) when no server
    /// is configured. Panics instead of skipping when `GOVCLOUD_REQUIRE_ALL=1`.
    async fn postgres(test: &str) -> Option<Self> {
        Some(Self::open(TestDatabase::postgres(test).await?).await)
    }

    async fn open(database: TestDatabase) -> Self {
        let url = database.url().to_owned();
        let storage = Storage::open(&url).await.unwrap();
        Self {
            storage,
            url,
            database,
        }
    }

    /// Closes and drops the database, then re-raises the test's panic, if any.
    async fn finish(self, outcome: std::thread::Result<()>) {
        self.storage.close().await;
        self.database.remove().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// For each suite function, a `sqlite::name` and a `postgres::name` test. The arguments name
/// `TestDb` fields: `storage` (a `&Storage`) and, for the few tests that reopen, `url`.
macro_rules! on_both_backends {
    ($($name:ident($($field:ident),+)),+ $(,)?) => {
        mod sqlite {
            use futures::FutureExt as _;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::TestDb::sqlite().await;
                    let outcome = super::AssertUnwindSafe(super::$name($(&db.$field),+))
                        .catch_unwind()
                        .await;
                    db.finish(outcome).await;
                }
            )+
        }
        mod postgres {
            use futures::FutureExt as _;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::TestDb::postgres(stringify!($name)).await else {
                        return;
                    };
                    let outcome = super::AssertUnwindSafe(super::$name($(&db.$field),+))
                        .catch_unwind()
                        .await;
                    db.finish(outcome).await;
                }
            )+
        }
    };
}

on_both_backends! {
    migrations_are_applied(storage),
    reopening_is_idempotent_and_keeps_data(storage, url),
    tokens_store_only_the_hash(storage),
    tokens_revocation_and_expiry(storage),
    audit_chain_appends_and_verifies(storage),
    audit_log_is_append_only_and_edits_are_found(storage),
    audit_deletion_is_found(storage),
    audit_concurrent_appends_keep_one_chain(storage),
    ipam_uniqueness_and_holds(storage),
    ipam_concurrent_allocations_have_one_winner(storage),
    ipam_active_rows_and_release_by_owner(storage),
    ipam_a_batch_is_recorded_whole_or_not_at_all(storage),
    reservations_hold_within_capacity(storage),
    reservations_race_for_the_last_headroom(storage),
    telemetry_window_and_retention(storage),
    router_certificates_are_recorded_and_revoked(storage),
    telemetry_reports_are_stored_once_and_the_latest_kept(storage),
    router_configs_grow_a_generation_per_change(storage),
    router_configs_recorded_concurrently_bump_once(storage),
    telemetry_latest_keeps_the_configuration_report(storage),
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn t0() -> DateTime<Utc> {
    // A sub-second part with microseconds, to check it survives both backends.
    Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap() + Duration::microseconds(123_456)
}

/// Runs a raw statement, as an intruder with database access (or a test) would.
async fn execute(storage: &Storage, sql: &str) -> Result<u64, sqlx::Error> {
    let sql = AssertSqlSafe(sql.to_owned());
    match storage.pool() {
        DbPool::Sqlite(pool) => sqlx::query(sql)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
        DbPool::Postgres(pool) => sqlx::query(sql)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
    }
}

async fn count(storage: &Storage, table: &str) -> i64 {
    let sql = AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
    match storage.pool() {
        DbPool::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        DbPool::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

/// Drops one of the audit log's append-only triggers, as an intruder would before tampering.
async fn drop_trigger(storage: &Storage, trigger: &str) {
    let sql = match storage.backend() {
        Backend::Sqlite => format!("DROP TRIGGER {trigger}"),
        Backend::Postgres => format!("DROP TRIGGER {trigger} ON audit_log"),
    };
    execute(storage, &sql).await.unwrap();
}

/// (version, description) of each migration file of one backend.
fn migration_files(backend: &str) -> Vec<(i64, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut files: Vec<(i64, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter_map(|name| {
            let stem = name.strip_suffix(".sql")?;
            let (version, description) = stem.split_once('_')?;
            Some((version.parse().unwrap(), description.to_owned()))
        })
        .collect();
    files.sort();
    files
}

const TABLES: &[&str] = &[
    "api_tokens",
    "audit_log",
    "telemetry_samples",
    "ipam_allocations",
    "quota_reservations",
    "router_certificates",
    "telemetry_reports",
    "telemetry_latest",
    "router_configs",
    "segment_allocations",
];

fn token(tenant: &str, secret: &str, role: Role) -> NewApiToken {
    NewApiToken {
        tenant: tenant.to_owned(),
        role,
        token_hash: hash_token_secret(secret),
        created_at: t0(),
        expires_at: None,
        description: format!("{tenant} {role} token"),
    }
}

fn audit_event(i: usize) -> NewAuditRecord {
    NewAuditRecord {
        at: t0() + Duration::seconds(i64::try_from(i).unwrap()),
        actor: format!("user-{i}"),
        tenant: i.is_multiple_of(2).then(|| "hanbin".to_owned()),
        action: "approve".to_owned(),
        object_kind: "QuotaRequest".to_owned(),
        object_name: format!("request-{i}"),
        detail: json!({ "cpu": i, "memory": "8Gi", "note": "扩容" }),
    }
}

fn allocation(pool: &str, prefix: &str, level: i32, owner: &str) -> NewIpamAllocation {
    NewIpamAllocation {
        pool: pool.to_owned(),
        prefix: prefix.to_owned(),
        level,
        owner_kind: "Tenant".to_owned(),
        owner_name: owner.to_owned(),
        allocated_at: t0(),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests that need no database server
// ---------------------------------------------------------------------------------------------

#[test]
fn migration_directories_are_in_step() {
    let sqlite = migration_files("sqlite");
    let postgres = migration_files("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
    let tables = |backend: &str| -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut tables = BTreeSet::new();
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        // In version order: a later migration may drop what an earlier one created.
        paths.sort();
        for path in paths {
            let sql = std::fs::read_to_string(path).unwrap();
            for line in sql.lines() {
                if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                    tables.insert(rest.split_whitespace().next().unwrap().to_owned());
                }
                if let Some(rest) = line.strip_prefix("DROP TABLE ") {
                    tables.remove(rest.trim_end_matches(';').trim());
                }
            }
        }
        tables
    };
    let expected: BTreeSet<String> = TABLES.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(tables("sqlite"), expected);
    assert_eq!(tables("postgres"), expected);
}

#[tokio::test]
async fn unsupported_scheme_is_a_clear_error() {
    let error = Storage::open("mysql://root:hunter2@localhost:3306/govcloud")
        .await
        .unwrap_err();
    assert_eq!(error.category(), "config");
    let message = error.to_string();
    assert!(
        message.starts_with("failed to open database mysql://root:***@localhost:3306/govcloud: "),
        "{message}"
    );
    assert!(message.contains("unsupported URL scheme"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn failed_postgres_connect_names_the_redacted_url_only() {
    let started = std::time::Instant::now();
    let error = Storage::open("postgres://postgres:hunter2@127.0.0.1:1/govcloud")
        .await
        .unwrap_err();
    // The real cause, at once (not "pool timed out" after the acquire timeout).
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let message = error_chain(&error);
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert_eq!(error.category(), "connect");
    assert!(
        message
            .starts_with("failed to open database postgres://postgres:***@127.0.0.1:1/govcloud: "),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
}

#[tokio::test]
async fn sqlite_file_is_created_with_wal_and_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("nested").join("state.db");
    assert!(!path.exists());
    let storage = Storage::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert!(path.is_file(), "{} was not created", path.display());
    assert_eq!(storage.backend(), Backend::Sqlite);
    let DbPool::Sqlite(pool) = storage.pool() else {
        panic!("not a SQLite pool")
    };
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(foreign_keys, 1);
    let busy_timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(busy_timeout, 10_000);
    storage.close().await;
}

#[tokio::test]
async fn sqlite_in_memory_database_works() {
    let storage = Storage::open("sqlite::memory:").await.unwrap();
    let stored = storage
        .tokens()
        .insert(&token("hanbin", "s1", Role::Viewer))
        .await
        .unwrap();
    let found = storage
        .tokens()
        .find_by_hash(&stored.token_hash)
        .await
        .unwrap();
    assert_eq!(found, Some(stored));
    assert_eq!(
        storage.schema_version().await.unwrap(),
        storage.expected_schema_version()
    );
    storage.close().await;
}

// ---------------------------------------------------------------------------------------------
// The suite, on both backends
// ---------------------------------------------------------------------------------------------

async fn migrations_are_applied(storage: &Storage) {
    let files = migration_files(match storage.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    });
    let latest = files.last().map(|(version, _)| *version);
    assert_eq!(latest, Some(6));
    assert_eq!(storage.schema_version().await.unwrap(), latest);
    assert_eq!(storage.expected_schema_version(), latest);
    assert_eq!(
        count(storage, "_sqlx_migrations").await,
        i64::try_from(files.len()).unwrap()
    );
    for table in TABLES {
        assert_eq!(count(storage, table).await, 0, "{table}");
    }
    // Dropped by version 6: created ahead of capabilities that never wrote them.
    for table in [
        "review_runs",
        "review_decisions",
        "drill_evidence",
        "provincial_outbox",
    ] {
        let query = format!("SELECT COUNT(*) FROM {table}");
        let gone = match storage.pool() {
            DbPool::Sqlite(pool) => sqlx::query(AssertSqlSafe(query))
                .fetch_one(pool)
                .await
                .is_err(),
            DbPool::Postgres(pool) => sqlx::query(AssertSqlSafe(query))
                .fetch_one(pool)
                .await
                .is_err(),
        };
        assert!(gone, "{table} is dropped");
    }
}

async fn reopening_is_idempotent_and_keeps_data(storage: &Storage, url: &str) {
    let stored = storage
        .tokens()
        .insert(&token("hanbin", "keep-me", Role::Editor))
        .await
        .unwrap();
    let applied = count(storage, "_sqlx_migrations").await;

    let reopened = Storage::open(url).await.unwrap();
    assert_eq!(
        reopened.schema_version().await.unwrap(),
        storage.schema_version().await.unwrap()
    );
    assert_eq!(count(&reopened, "_sqlx_migrations").await, applied);
    let found = reopened
        .tokens()
        .find_by_hash(&hash_token_secret("keep-me"))
        .await
        .unwrap();
    assert_eq!(found, Some(stored));
    reopened.close().await;

    let again = Storage::open(url).await.unwrap();
    assert_eq!(count(&again, "api_tokens").await, 1);
    again.close().await;
}

async fn tokens_store_only_the_hash(storage: &Storage) {
    let secret = "gct_Zm9vYmFyYmF6cXV4cXV1eA";
    let stored = storage
        .tokens()
        .insert(&token("hanbin", secret, Role::Operations))
        .await
        .unwrap();
    assert_eq!(stored.id, 1);
    assert_eq!(stored.tenant, "hanbin");
    assert_eq!(stored.role, Role::Operations);
    assert_eq!(stored.token_hash, hash_token_secret(secret));
    assert_eq!(stored.created_at, t0());
    assert_eq!(stored.revoked_at, None);

    // The whole stored row, as text, holds the hash and never the secret.
    let sql = match storage.backend() {
        Backend::Sqlite => {
            "SELECT id || '|' || tenant || '|' || role || '|' || token_hash || '|' || \
             created_at || '|' || coalesce(expires_at, '') || '|' || \
             coalesce(revoked_at, '') || '|' || description FROM api_tokens"
        }
        Backend::Postgres => "SELECT t::text FROM api_tokens t",
    };
    let rows: Vec<String> = match storage.pool() {
        DbPool::Sqlite(pool) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_all(pool).await,
        DbPool::Postgres(pool) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_all(pool).await,
    }
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains(&hash_token_secret(secret)), "{}", rows[0]);
    assert!(!rows[0].contains(secret), "{}", rows[0]);
    assert!(!rows[0].contains("Zm9vYmFy"), "{}", rows[0]);

    // A secret passed where the hash belongs is refused.
    let mut plaintext = token("hanbin", secret, Role::Viewer);
    plaintext.token_hash = secret.to_owned();
    let error = storage.tokens().insert(&plaintext).await.unwrap_err();
    assert_eq!(error.category(), "invalid_input");
    assert_eq!(count(storage, "api_tokens").await, 1);

    // The hash is unique.
    let error = storage
        .tokens()
        .insert(&token("other", secret, Role::Viewer))
        .await
        .unwrap_err();
    assert_eq!(error.category(), "conflict");

    assert_eq!(
        storage
            .tokens()
            .find_by_hash(&hash_token_secret("unknown"))
            .await
            .unwrap(),
        None
    );
}

async fn tokens_revocation_and_expiry(storage: &Storage) {
    let tokens = storage.tokens();
    let forever = tokens
        .insert(&token("hanbin", "forever", Role::Viewer))
        .await
        .unwrap();
    let mut expiring = token("hanbin", "expiring", Role::Editor);
    expiring.expires_at = Some(t0() + Duration::days(30));
    let expiring = tokens.insert(&expiring).await.unwrap();
    let other = tokens
        .insert(&token("ziyang", "other", Role::Auditor))
        .await
        .unwrap();

    let listed = tokens.list_by_tenant("hanbin").await.unwrap();
    assert_eq!(listed, vec![forever.clone(), expiring.clone()]);
    assert_eq!(
        tokens.list_by_tenant("ziyang").await.unwrap(),
        vec![other.clone()]
    );
    assert_eq!(tokens.list_by_tenant("nobody").await.unwrap(), vec![]);

    // Expiry.
    let before = t0() + Duration::days(29);
    let after = t0() + Duration::days(30);
    let hash = hash_token_secret("expiring");
    assert_eq!(
        tokens.find_active(&hash, before).await.unwrap(),
        Some(expiring.clone())
    );
    assert_eq!(tokens.find_active(&hash, after).await.unwrap(), None);
    assert_eq!(
        tokens.find_by_hash(&hash).await.unwrap(),
        Some(expiring.clone())
    );

    // Revocation, idempotent, scoped to the tenant.
    let revoked_at = t0() + Duration::hours(1);
    let error = tokens
        .revoke("ziyang", forever.id, revoked_at)
        .await
        .unwrap_err();
    assert_eq!(error.category(), "not_found");
    assert!(
        tokens
            .revoke("hanbin", forever.id, revoked_at)
            .await
            .unwrap()
    );
    assert!(
        !tokens
            .revoke("hanbin", forever.id, revoked_at + Duration::hours(1))
            .await
            .unwrap()
    );
    let found = tokens
        .find_by_hash(&hash_token_secret("forever"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.revoked_at, Some(revoked_at));
    assert!(!found.is_active(t0()));
    let active = tokens
        .find_active(&hash_token_secret("forever"), t0())
        .await
        .unwrap();
    assert_eq!(active, None);
    let error = tokens.revoke("hanbin", 999, revoked_at).await.unwrap_err();
    assert_eq!(error.category(), "not_found");

    // The other tokens are untouched.
    let still = tokens
        .find_active(&hash_token_secret("other"), after)
        .await
        .unwrap();
    assert_eq!(still, Some(other));
}

async fn audit_chain_appends_and_verifies(storage: &Storage) {
    let audit = storage.audit();
    assert_eq!(
        audit.verify().await.unwrap(),
        ChainStatus::Intact {
            records: 0,
            last_seq: 0,
            head_hash: GENESIS_HASH.to_owned()
        }
    );
    let mut appended = Vec::new();
    for i in 1..=5 {
        appended.push(audit.append(&audit_event(i)).await.unwrap());
    }
    assert_eq!(
        appended.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(appended[0].prev_hash, GENESIS_HASH);
    for pair in appended.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    for record in &appended {
        assert_eq!(record.hash, record.compute_hash());
    }
    assert_eq!(appended[1].tenant.as_deref(), Some("hanbin"));
    assert_eq!(appended[0].tenant, None);
    assert_eq!(appended[0].at, t0() + Duration::seconds(1));
    let detail: serde_json::Value = serde_json::from_str(&appended[2].detail).unwrap();
    assert_eq!(detail, json!({ "cpu": 3, "memory": "8Gi", "note": "扩容" }));

    // What is read back is exactly what was appended.
    assert_eq!(audit.list(..).await.unwrap(), appended);
    assert_eq!(audit.list(2..=4).await.unwrap(), appended[1..4].to_vec());
    assert_eq!(audit.list(4..).await.unwrap(), appended[3..].to_vec());
    assert_eq!(audit.list(6..).await.unwrap(), vec![]);

    assert_eq!(
        audit.verify().await.unwrap(),
        ChainStatus::Intact {
            records: 5,
            last_seq: 5,
            head_hash: appended[4].hash.clone()
        }
    );
}

async fn audit_log_is_append_only_and_edits_are_found(storage: &Storage) {
    for i in 1..=5 {
        storage.audit().append(&audit_event(i)).await.unwrap();
    }
    // The database itself refuses edits and deletions.
    let edit = r#"UPDATE audit_log SET detail = '{"cpu":300}' WHERE seq = 3"#;
    let refused = execute(storage, edit).await.unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
    let refused = execute(storage, "DELETE FROM audit_log WHERE seq = 3")
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
    assert!(matches!(
        storage.audit().verify().await.unwrap(),
        ChainStatus::Intact { records: 5, .. }
    ));

    // An intruder who drops the trigger and edits a record is caught at that record.
    drop_trigger(storage, "audit_log_no_update").await;
    assert_eq!(execute(storage, edit).await.unwrap(), 1);
    let status = storage.audit().verify().await.unwrap();
    assert_eq!(
        status,
        ChainStatus::Broken(ChainBreak::HashMismatch { seq: 3 })
    );

    // Re-hashing the edited record moves the break to the next link, still caught.
    let mut edited = storage.audit().list(3..=3).await.unwrap().remove(0);
    edited.hash = String::new();
    let rehashed = edited.sealed().hash;
    let sql = format!("UPDATE audit_log SET hash = '{rehashed}' WHERE seq = 3");
    assert_eq!(execute(storage, &sql).await.unwrap(), 1);
    let status = storage.audit().verify().await.unwrap();
    assert_eq!(
        status,
        ChainStatus::Broken(ChainBreak::PrevHashMismatch { seq: 4 })
    );
}

async fn audit_deletion_is_found(storage: &Storage) {
    for i in 1..=6 {
        storage.audit().append(&audit_event(i)).await.unwrap();
    }
    drop_trigger(storage, "audit_log_no_delete").await;
    assert_eq!(
        execute(storage, "DELETE FROM audit_log WHERE seq = 4")
            .await
            .unwrap(),
        1
    );
    let status = storage.audit().verify().await.unwrap();
    assert_eq!(status, ChainStatus::Broken(ChainBreak::Missing { seq: 4 }));
    assert_eq!(ChainBreak::Missing { seq: 4 }.seq(), 4);

    assert_eq!(
        execute(storage, "DELETE FROM audit_log WHERE seq = 1")
            .await
            .unwrap(),
        1
    );
    let status = storage.audit().verify().await.unwrap();
    assert_eq!(status, ChainStatus::Broken(ChainBreak::Missing { seq: 1 }));
}

async fn audit_concurrent_appends_keep_one_chain(storage: &Storage) {
    const TASKS: usize = 20;
    let tasks: Vec<_> = (1..=TASKS)
        .map(|i| {
            let storage = storage.clone();
            tokio::spawn(async move { storage.audit().append(&audit_event(i)).await })
        })
        .collect();
    let mut seqs = BTreeSet::new();
    for task in tasks {
        let record = task.await.unwrap().unwrap();
        assert!(seqs.insert(record.seq), "seq {} given twice", record.seq);
    }
    let expected: BTreeSet<i64> = (1..=20).collect();
    assert_eq!(seqs, expected);

    let records = storage.audit().list(..).await.unwrap();
    assert_eq!(records.len(), TASKS);
    let actors: BTreeSet<String> = records.iter().map(|r| r.actor.clone()).collect();
    assert_eq!(actors.len(), TASKS);
    let prev_hashes: BTreeSet<&str> = records.iter().map(|r| r.prev_hash.as_str()).collect();
    assert_eq!(
        prev_hashes.len(),
        TASKS,
        "two records share a predecessor: the chain forked"
    );
    assert_eq!(
        storage.audit().verify().await.unwrap(),
        ChainStatus::Intact {
            records: 20,
            last_seq: 20,
            head_hash: records[TASKS - 1].hash.clone()
        }
    );
}

async fn ipam_uniqueness_and_holds(storage: &Storage) {
    let ipam = storage.ipam();
    let county = ipam
        .allocate(&allocation("ankang", "2001:DB8:0:0100::/56", 1, "hanbin"))
        .await
        .unwrap();
    assert_eq!(county.prefix, "2001:db8:0:100::/56");
    assert_eq!(county.level, 1);
    assert_eq!(county.owner_name, "hanbin");
    assert_eq!(county.allocated_at, t0());
    assert_eq!(county.released_at, None);

    // The same prefix for another owner.
    let error = ipam
        .allocate(&allocation("ankang", "2001:db8:0:100::/56", 1, "ziyang"))
        .await
        .unwrap_err();
    assert_eq!(error.category(), "conflict");
    assert!(
        error.to_string().contains("allocated to Tenant/hanbin"),
        "{error}"
    );
    // A second prefix at the same level for the same owner.
    let error = ipam
        .allocate(&allocation("ankang", "2001:db8:0:200::/56", 1, "hanbin"))
        .await
        .unwrap_err();
    assert_eq!(error.category(), "conflict");
    // A malformed prefix.
    let error = ipam
        .allocate(&allocation("ankang", "2001:db8:0:300::1/56", 1, "shiquan"))
        .await
        .unwrap_err();
    assert_eq!(error.category(), "invalid_input");

    // Another level, another pool: fine.
    let township = ipam
        .allocate(&allocation("ankang", "2001:db8:0:110::/60", 2, "hanbin"))
        .await
        .unwrap();
    let elsewhere = ipam
        .allocate(&allocation("hanzhong", "2001:db8:0:100::/56", 1, "ziyang"))
        .await
        .unwrap();
    assert_eq!(elsewhere.pool, "hanzhong");
    let owned = ipam
        .find_by_owner("ankang", "Tenant", "hanbin")
        .await
        .unwrap();
    assert_eq!(owned, vec![county.clone(), township.clone()]);

    // The database enforces uniqueness even for writers that skip the checks.
    let raw = "INSERT INTO ipam_allocations (pool, prefix, level, owner_kind, owner_name, \
               allocated_at) VALUES ('ankang', '2001:db8:0:100::/56', 5, 'Tenant', 'x', \
               '2025-03-01 08:00:00+00')";
    let refused = execute(storage, raw).await.unwrap_err();
    assert!(
        refused.to_string().to_lowercase().contains("unique"),
        "{refused}"
    );

    // Release with a hold: the prefix cannot be reused until the hold ends.
    let released_at = t0() + Duration::hours(1);
    let hold_until = t0() + Duration::days(7);
    let released = ipam
        .release(
            "ankang",
            "2001:db8:0:0100::/56",
            released_at,
            Some(hold_until),
        )
        .await
        .unwrap();
    assert_eq!(released.id, county.id);
    assert_eq!(released.released_at, Some(released_at));
    assert_eq!(released.hold_until, Some(hold_until));
    assert_eq!(
        ipam.find_by_owner("ankang", "Tenant", "hanbin")
            .await
            .unwrap(),
        vec![township]
    );
    let in_use = ipam
        .list_in_use("ankang", t0() + Duration::days(1))
        .await
        .unwrap();
    let prefixes: Vec<&str> = in_use.iter().map(|a| a.prefix.as_str()).collect();
    assert_eq!(prefixes, ["2001:db8:0:100::/56", "2001:db8:0:110::/60"]);

    let mut during_hold = allocation("ankang", "2001:db8:0:100::/56", 1, "ziyang");
    during_hold.allocated_at = t0() + Duration::days(1);
    let error = ipam.allocate(&during_hold).await.unwrap_err();
    assert_eq!(error.category(), "conflict");
    assert!(error.to_string().contains("held"), "{error}");
    let mut after_hold = during_hold.clone();
    after_hold.allocated_at = t0() + Duration::days(8);
    let reallocated = ipam.allocate(&after_hold).await.unwrap();
    assert_eq!(reallocated.owner_name, "ziyang");
    assert_eq!(reallocated.prefix, "2001:db8:0:100::/56");

    let error = ipam
        .release("ankang", "2001:db8:ffff::/48", released_at, None)
        .await
        .unwrap_err();
    assert_eq!(error.category(), "not_found");
}

async fn ipam_concurrent_allocations_have_one_winner(storage: &Storage) {
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let storage = storage.clone();
            tokio::spawn(async move {
                let owner = format!("county-{i}");
                storage
                    .ipam()
                    .allocate(&allocation("ankang", "2001:db8:5::/48", 0, &owner))
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(allocation) => {
                won += 1;
                assert_eq!(allocation.prefix, "2001:db8:5::/48");
            }
            Err(error) => assert_eq!(error.category(), "conflict", "{error}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(count(storage, "ipam_allocations").await, 1);
}

async fn ipam_a_batch_is_recorded_whole_or_not_at_all(storage: &Storage) {
    let ipam = storage.ipam();
    let rows = ipam
        .allocate_all(&[
            allocation("ankang", "2001:db8:a00::/48", 0, "core"),
            allocation("ankang", "2001:db8:a00:100::/56", 1, "hanbin"),
        ])
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    // The second allocation of this batch takes a prefix already allocated: nothing of the
    // batch is recorded, and the conflict names the holder.
    let error = ipam
        .allocate_all(&[
            allocation("ankang", "2001:db8:a00:200::/56", 1, "ziyang"),
            allocation("ankang", "2001:db8:a00:100::/56", 1, "shiquan"),
        ])
        .await
        .unwrap_err();
    assert_eq!(error.category(), "conflict");
    assert!(
        error.to_string().contains("allocated to Tenant/hanbin"),
        "{error}"
    );
    assert_eq!(count(storage, "ipam_allocations").await, 2);
    assert!(ipam.allocate_all(&[]).await.unwrap().is_empty());
}

async fn ipam_active_rows_and_release_by_owner(storage: &Storage) {
    let ipam = storage.ipam();
    let city = ipam
        .allocate(&allocation("ankang", "2001:db8:a00::/48", 0, "core"))
        .await
        .unwrap();
    let county = ipam
        .allocate(&allocation("ankang", "2001:db8:a00::/56", 1, "hanbin"))
        .await
        .unwrap();
    let township = ipam
        .allocate(&allocation("ankang", "2001:db8:a00::/60", 2, "hanbin"))
        .await
        .unwrap();
    let other = ipam
        .allocate(&allocation("hanzhong", "2001:db8:b00::/48", 0, "core"))
        .await
        .unwrap();
    assert_eq!(
        ipam.list_active("ankang").await.unwrap(),
        vec![city.clone(), county.clone(), township.clone()]
    );
    assert_eq!(
        ipam.list_all_active().await.unwrap(),
        vec![
            city.clone(),
            county.clone(),
            township.clone(),
            other.clone()
        ]
    );

    // Releasing an owner releases each of its levels in that pool, held; nothing else.
    let released_at = t0() + Duration::hours(1);
    let hold_until = t0() + Duration::days(7);
    let released = ipam
        .release_by_owner("ankang", "Tenant", "hanbin", released_at, Some(hold_until))
        .await
        .unwrap();
    let mut prefixes: Vec<&str> = released.iter().map(|r| r.prefix.as_str()).collect();
    prefixes.sort_unstable();
    assert_eq!(prefixes, ["2001:db8:a00::/56", "2001:db8:a00::/60"]);
    assert!(
        released
            .iter()
            .all(|r| r.released_at == Some(released_at) && r.hold_until == Some(hold_until))
    );
    assert_eq!(
        ipam.list_active("ankang").await.unwrap(),
        vec![city.clone()]
    );
    assert_eq!(
        ipam.list_all_active().await.unwrap(),
        vec![city, other.clone()]
    );
    // Held rows are still in use, not active.
    assert_eq!(
        ipam.list_in_use("ankang", t0() + Duration::days(1))
            .await
            .unwrap()
            .len(),
        3
    );
    // An owner with nothing active: nothing released.
    assert!(
        ipam.release_by_owner("ankang", "Tenant", "hanbin", released_at, None)
            .await
            .unwrap()
            .is_empty()
    );
    // Without a hold, the same owner may take a prefix again at once.
    ipam.release_by_owner("hanzhong", "Tenant", "core", released_at, None)
        .await
        .unwrap();
    let mut again = allocation("hanzhong", "2001:db8:b00::/48", 0, "core");
    again.allocated_at = released_at;
    assert_eq!(ipam.allocate(&again).await.unwrap().prefix, other.prefix);
}

fn reservation(system: &str, uid: &str, tenant: &str, cpu: i64) -> NewReservation {
    NewReservation {
        system: system.to_owned(),
        system_uid: uid.to_owned(),
        tenant: tenant.to_owned(),
        amounts: ReservedAmounts {
            cpu_milli: cpu,
            memory_milli: 1_000,
            storage_milli: 0,
        },
        reserved_at: t0(),
    }
}

const FOUR_CORES: ReservedAmounts = ReservedAmounts {
    cpu_milli: 4_000,
    memory_milli: 10_000,
    storage_milli: 0,
};

async fn reservations_hold_within_capacity(storage: &Storage) {
    let ledger = storage.reservations();
    let first = ledger
        .reserve(
            &reservation("police/a", "uid-a", "police", 3_000),
            FOUR_CORES,
        )
        .await
        .unwrap();
    assert!(matches!(first, ReserveOutcome::Reserved(ref r) if r.amounts.cpu_milli == 3_000));
    // Reserving again is a no-op, even with the capacity since used up.
    let again = ledger
        .reserve(
            &reservation("police/a", "uid-a", "police", 3_000),
            ReservedAmounts::default(),
        )
        .await
        .unwrap();
    assert_eq!(again, first);
    // Another system of the tenant finds one core left; another tenant is unaffected.
    let refused = ledger
        .reserve(
            &reservation("police/b", "uid-b", "police", 2_000),
            FOUR_CORES,
        )
        .await
        .unwrap();
    let ReserveOutcome::Insufficient { free } = refused else {
        panic!("two cores do not fit in one: {refused:?}");
    };
    assert_eq!(free.cpu_milli, 1_000);
    assert_eq!(free.memory_milli, 9_000);
    assert!(matches!(
        ledger
            .reserve(&reservation("tax/b", "uid-tb", "tax", 4_000), FOUR_CORES)
            .await
            .unwrap(),
        ReserveOutcome::Reserved(_)
    ));
    // A system re-created under the same name does not inherit the old row.
    let recreated = ledger
        .reserve(
            &reservation("police/a", "uid-a2", "police", 1_000),
            FOUR_CORES,
        )
        .await
        .unwrap();
    assert!(matches!(recreated, ReserveOutcome::Reserved(ref r) if r.system_uid == "uid-a2"));
    assert_eq!(ledger.list_by_tenant("police").await.unwrap().len(), 1);
    assert!(ledger.release("police/a").await.unwrap());
    assert!(!ledger.release("police/a").await.unwrap());
    assert_eq!(ledger.find("police/a").await.unwrap(), None);
    let negative = ledger
        .reserve(&reservation("police/n", "uid-n", "police", -1), FOUR_CORES)
        .await
        .unwrap_err();
    assert_eq!(negative.category(), "invalid_input");
}

async fn reservations_race_for_the_last_headroom(storage: &Storage) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let storage = storage.clone();
            tokio::spawn(async move {
                storage
                    .reservations()
                    .reserve(
                        &reservation(
                            &format!("police/s{i}"),
                            &format!("uid-{i}"),
                            "police",
                            3_000,
                        ),
                        FOUR_CORES,
                    )
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        if matches!(task.await.unwrap().unwrap(), ReserveOutcome::Reserved(_)) {
            won += 1;
        }
    }
    assert_eq!(won, 1, "only one system fits in the tenant's four cores");
    assert_eq!(count(storage, "quota_reservations").await, 1);
}

async fn telemetry_window_and_retention(storage: &Storage) {
    let sample = |router: &str, interface: &str, minute: i64| TelemetrySample {
        router: router.to_owned(),
        interface: interface.to_owned(),
        at: t0() + Duration::minutes(minute),
        rx_bytes: minute * 1_000 + 9_000_000_000,
        tx_bytes: minute * 2_000,
        rx_errors: minute % 3,
        tx_errors: 0,
        oper_up: minute != 4,
        speed_mbps: (minute != 4).then_some(1_000),
    };
    let mut batch: Vec<TelemetrySample> = (0..10).map(|m| sample("ankang-r1", "eth0", m)).collect();
    batch.extend((0..3).map(|m| sample("ankang-r1", "eth1", m * 4)));
    batch.extend((0..2).map(|m| sample("hanbin-r1", "eth0", m)));
    storage.telemetry().insert_batch(&batch).await.unwrap();
    storage.telemetry().insert_batch(&[]).await.unwrap();
    assert_eq!(count(storage, "telemetry_samples").await, 15);

    let window = storage
        .telemetry()
        .window(
            "ankang-r1",
            "eth0",
            t0() + Duration::minutes(2),
            t0() + Duration::minutes(5),
        )
        .await
        .unwrap();
    assert_eq!(window, batch[2..5].to_vec());
    assert_eq!(window[2].speed_mbps, None);
    assert!(!window[2].oper_up);
    assert_eq!(window[0].rx_bytes, 9_000_002_000);

    // Retention: samples before minute 5 go (5 of eth0, 2 of eth1 at 0 and 4, 2 of hanbin).
    let deleted = storage
        .telemetry()
        .delete_older_than(t0() + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(deleted, 9);
    assert_eq!(count(storage, "telemetry_samples").await, 6);
    let remaining = storage
        .telemetry()
        .window(
            "ankang-r1",
            "eth0",
            t0() - Duration::days(1),
            t0() + Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(remaining, batch[5..10].to_vec());
    let eth1 = storage
        .telemetry()
        .window(
            "ankang-r1",
            "eth1",
            t0() - Duration::days(1),
            t0() + Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(eth1, vec![batch[12].clone()]);
}

fn router_certificate(serial: &str, router: &str) -> NewRouterCertificate {
    NewRouterCertificate {
        serial: serial.to_owned(),
        router: router.to_owned(),
        fingerprint: "ab".repeat(32),
        key_origin: KeyOrigin::Server,
        issued_by: "network operations (token 1)".to_owned(),
        issued_at: t0(),
        not_after: t0() + Duration::days(365),
    }
}

async fn router_certificates_are_recorded_and_revoked(storage: &Storage) {
    let certificates = storage.router_certificates();
    let first = certificates
        .insert(&router_certificate("7f01", "hanyin-r1"))
        .await
        .unwrap();
    assert_eq!(first.issued_at, t0());
    assert_eq!(
        (first.revoked_at, first.revoked_by.as_deref()),
        (None, None)
    );
    assert!(first.is_active(t0()));
    assert!(!first.is_active(t0() + Duration::days(366)));
    let second = NewRouterCertificate {
        key_origin: KeyOrigin::Csr,
        issued_at: t0() + Duration::minutes(1),
        ..router_certificate("7f02", "hanyin-r1")
    };
    certificates.insert(&second).await.unwrap();
    certificates
        .insert(&router_certificate("6a", "shiquan-r1"))
        .await
        .unwrap();
    let error = certificates
        .insert(&router_certificate("7f01", "other"))
        .await
        .unwrap_err();
    assert_eq!(error.category(), "conflict");
    for bad in ["7F01", "7", "zz", &"a".repeat(42)] {
        let error = certificates
            .insert(&router_certificate(bad, "x"))
            .await
            .unwrap_err();
        assert_eq!(error.category(), "invalid_input", "{bad}");
    }

    let listed = certificates.list_by_router("hanyin-r1").await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.serial.as_str()).collect::<Vec<_>>(),
        ["7f01", "7f02"]
    );
    assert_eq!(listed[1].key_origin, KeyOrigin::Csr);
    assert_eq!(
        certificates.find("7f02").await.unwrap(),
        Some(listed[1].clone())
    );
    assert_eq!(certificates.find("7f03").await.unwrap(), None);

    let at = t0() + Duration::hours(1);
    assert!(
        certificates
            .revoke("hanyin-r1", "7f01", at, "ops (token 2)")
            .await
            .unwrap()
    );
    assert!(
        !certificates
            .revoke("hanyin-r1", "7f01", at + Duration::hours(1), "again")
            .await
            .unwrap()
    );
    let revoked = certificates.find("7f01").await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(at));
    assert_eq!(revoked.revoked_by.as_deref(), Some("ops (token 2)"));
    assert!(!revoked.is_active(t0()));
    // Another router's serial, and an unknown one, are not found.
    for (router, serial) in [("hanyin-r1", "6a"), ("hanyin-r1", "99")] {
        let error = certificates
            .revoke(router, serial, at, "x")
            .await
            .unwrap_err();
        assert_eq!(error.category(), "not_found", "{router} {serial}");
    }
    assert_eq!(
        certificates.find("6a").await.unwrap().unwrap().revoked_at,
        None
    );
}

fn report(router: &str, sequence: u64, minute: i64) -> TelemetryReport {
    let link = |name: &str, index: u32| LinkObservation {
        name: name.to_owned(),
        index,
        oper_state: "up".to_owned(),
        carrier: true,
        mtu: 1500,
        speed_mbps: Some(1000),
        counters: LinkCounters {
            rx_bytes: 1_000 * u64::try_from(minute).unwrap(),
            ..LinkCounters::default()
        },
        ..LinkObservation::default()
    };
    TelemetryReport {
        router: router.to_owned(),
        agent_version: format!("0.1.{sequence}"),
        sequence,
        observed_at: t0() + Duration::minutes(minute),
        interval_seconds: 30,
        links: vec![link("eth0", 2), link("eth1", 3)],
        routes: vec![RouteSummary {
            table: 254,
            family: "inet6".to_owned(),
            routes: 12,
            has_default: true,
            by_protocol: [("kernel".to_owned(), 12)].into(),
        }],
        config: None,
    }
}

fn samples_of(report: &TelemetryReport) -> Vec<TelemetrySample> {
    report
        .links
        .iter()
        .map(|link| TelemetrySample {
            router: report.router.clone(),
            interface: link.name.clone(),
            at: report.observed_at,
            rx_bytes: i64::try_from(link.counters.rx_bytes).unwrap(),
            tx_bytes: 0,
            rx_errors: 0,
            tx_errors: 0,
            oper_up: true,
            speed_mbps: Some(1000),
        })
        .collect()
}

async fn telemetry_reports_are_stored_once_and_the_latest_kept(storage: &Storage) {
    let telemetry = storage.telemetry();
    assert_eq!(telemetry.latest_report("hanyin-r1").await.unwrap(), None);
    let received = t0() + Duration::hours(1);
    let first = report("hanyin-r1", 1, 1);
    assert!(
        telemetry
            .store_report(&first, received, &samples_of(&first))
            .await
            .unwrap()
    );
    // The same report again (a replayed spool) stores nothing.
    assert!(
        !telemetry
            .store_report(&first, received, &samples_of(&first))
            .await
            .unwrap()
    );
    assert_eq!(count(storage, "telemetry_samples").await, 2);
    assert_eq!(count(storage, "telemetry_reports").await, 1);

    let third = report("hanyin-r1", 3, 3);
    assert!(
        telemetry
            .store_report(&third, received, &samples_of(&third))
            .await
            .unwrap()
    );
    // A spooled report observed earlier arrives late: stored, but the latest stays.
    let second = report("hanyin-r1", 2, 2);
    assert!(
        telemetry
            .store_report(&second, received, &samples_of(&second))
            .await
            .unwrap()
    );
    let latest = telemetry.latest_report("hanyin-r1").await.unwrap().unwrap();
    assert_eq!(
        (latest.sequence, latest.observed_at, latest.received_at),
        (3, third.observed_at, received)
    );
    assert_eq!(latest.agent_version, "0.1.3");
    assert_eq!(latest.interval_seconds, 30);
    assert_eq!(
        (latest.links.clone(), latest.routes.clone()),
        (third.links.clone(), third.routes.clone())
    );
    // An agent that lost its state directory starts again at 1, later: stored, and latest.
    let restarted = report("hanyin-r1", 1, 10);
    assert!(
        telemetry
            .store_report(&restarted, received, &samples_of(&restarted))
            .await
            .unwrap()
    );
    let latest = telemetry.latest_report("hanyin-r1").await.unwrap().unwrap();
    assert_eq!(
        (latest.sequence, latest.observed_at),
        (1, restarted.observed_at)
    );
    // In observation order: the late spooled report in its place, the restart last.
    assert_eq!(
        telemetry.report_sequences("hanyin-r1").await.unwrap(),
        [1, 2, 3, 1]
    );

    let other = report("shiquan-r1", 1, 1);
    assert!(telemetry.store_report(&other, received, &[]).await.unwrap());
    let all = telemetry.latest_reports().await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.router.as_str()).collect::<Vec<_>>(),
        ["hanyin-r1", "shiquan-r1"]
    );
    assert_eq!(count(storage, "telemetry_samples").await, 8);

    // A sequence that does not fit the column is refused before anything is written.
    let too_big = TelemetryReport {
        sequence: u64::MAX,
        ..report("hanyin-r1", 1, 11)
    };
    let error = telemetry
        .store_report(&too_big, received, &samples_of(&too_big))
        .await
        .unwrap_err();
    assert_eq!(error.category(), "invalid_input");
    assert_eq!(count(storage, "telemetry_reports").await, 5);

    // Retention prunes samples and report records, never the latest reports.
    telemetry
        .delete_older_than(t0() + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(count(storage, "telemetry_reports").await, 1);
    assert_eq!(count(storage, "telemetry_samples").await, 2);
    assert_eq!(telemetry.latest_reports().await.unwrap().len(), 2);

    // All or nothing: when the last statement fails, neither the record nor the samples stay.
    execute(storage, "DROP TABLE telemetry_latest")
        .await
        .unwrap();
    let late = report("hanyin-r1", 12, 12);
    telemetry
        .store_report(&late, received, &samples_of(&late))
        .await
        .unwrap_err();
    assert_eq!(count(storage, "telemetry_reports").await, 1);
    assert_eq!(count(storage, "telemetry_samples").await, 2);
}

#[test]
fn storage_error_is_a_sendable_error() {
    fn check<T: std::error::Error + Send + Sync + 'static>() {}
    check::<StorageError>();
}

// ---------------------------------------------------------------------------------------------
// Router configurations: a generation per change of the ETag, bumped once under
// concurrency; the latest telemetry report keeps the agent's configuration report.
// ---------------------------------------------------------------------------------------------

fn sha(text: &str) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

async fn router_configs_grow_a_generation_per_change(storage: &Storage) {
    let configs = storage.router_configs();
    assert_eq!(configs.find("hanyin-core").await.unwrap(), None);
    let first = configs
        .record("hanyin-core", &sha("a"), r#"{"a":1}"#, t0())
        .await
        .unwrap();
    assert!(first.changed);
    assert_eq!(first.config.generation, 1);
    assert_eq!(first.config.updated_at, t0());
    // The same ETag again: nothing changes, not even the time.
    let same = configs
        .record(
            "hanyin-core",
            &sha("a"),
            r#"{"a":1}"#,
            t0() + Duration::hours(1),
        )
        .await
        .unwrap();
    assert!(!same.changed);
    assert_eq!(same.config, first.config);
    let second = configs
        .record(
            "hanyin-core",
            &sha("b"),
            r#"{"b":1}"#,
            t0() + Duration::hours(2),
        )
        .await
        .unwrap();
    assert!(second.changed);
    assert_eq!(second.config.generation, 2);
    assert_eq!(second.config.body, r#"{"b":1}"#);
    // Back to the first content: a new generation still (the agent must converge again).
    let third = configs
        .record(
            "hanyin-core",
            &sha("a"),
            r#"{"a":1}"#,
            t0() + Duration::hours(3),
        )
        .await
        .unwrap();
    assert_eq!((third.changed, third.config.generation), (true, 3));
    // Routers are independent.
    let other = configs
        .record("ankang-core", &sha("a"), r#"{"a":1}"#, t0())
        .await
        .unwrap();
    assert_eq!(other.config.generation, 1);
    let listed: Vec<(String, i64)> = configs
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.router, c.generation))
        .collect();
    assert_eq!(
        listed,
        [("ankang-core".to_owned(), 1), ("hanyin-core".to_owned(), 3)]
    );
    // An ETag that is not a SHA-256 is refused, naming it.
    let error = configs
        .record("hanyin-core", "nope", "{}", t0())
        .await
        .unwrap_err();
    assert!(
        matches!(error, StorageError::InvalidInput { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("ETag"), "{error}");
    assert!(configs.delete("ankang-core").await.unwrap());
    assert!(!configs.delete("ankang-core").await.unwrap());
    assert_eq!(count(storage, "router_configs").await, 1);
}

async fn router_configs_recorded_concurrently_bump_once(storage: &Storage) {
    let configs = storage.router_configs();
    configs
        .record("hanyin-core", &sha("old"), "{}", t0())
        .await
        .unwrap();
    // Sixteen requests computing the same change at once: one bump.
    let recorded = futures::future::join_all((0..16).map(|_| {
        let storage = storage.clone();
        async move {
            storage
                .router_configs()
                .record("hanyin-core", &sha("new"), r#"{"new":1}"#, t0())
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(recorded.iter().filter(|r| r.changed).count(), 1);
    assert!(recorded.iter().all(|r| r.config.generation == 2));
    // And sixteen first records of another router: generation 1, created once.
    let recorded = futures::future::join_all((0..16).map(|_| {
        let storage = storage.clone();
        async move {
            storage
                .router_configs()
                .record("ankang-core", &sha("x"), "{}", t0())
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(recorded.iter().filter(|r| r.changed).count(), 1);
    assert!(recorded.iter().all(|r| r.config.generation == 1));
}

async fn telemetry_latest_keeps_the_configuration_report(storage: &Storage) {
    use govcloud_crds::api::{ConfigReport, ProbeResult};
    let telemetry = storage.telemetry();
    let mut first = report("hanyin-r1", 1, 0);
    telemetry
        .store_report(&first, t0(), &samples_of(&first))
        .await
        .unwrap();
    assert_eq!(
        telemetry
            .latest_report("hanyin-r1")
            .await
            .unwrap()
            .unwrap()
            .config,
        None
    );
    let config = ConfigReport {
        applied_generation: Some(3),
        attempted_generation: Some(4),
        errors: vec!["add route 2001:db8:a00::/48: File exists".to_owned()],
        drift: vec!["address 2001:db8:a00:100::1/64 on lan0 missing".to_owned()],
        probes: vec![ProbeResult {
            name: "city-lan".to_owned(),
            target: "2001:db8:a00:1::1".parse().unwrap(),
            reachable: true,
        }],
    };
    first.sequence = 2;
    first.observed_at += Duration::minutes(1);
    first.config = Some(config.clone());
    telemetry
        .store_report(&first, t0(), &samples_of(&first))
        .await
        .unwrap();
    let latest = telemetry.latest_report("hanyin-r1").await.unwrap().unwrap();
    assert_eq!(latest.sequence, 2);
    assert_eq!(latest.config, Some(config.clone()));
    assert_eq!(
        telemetry.latest_reports().await.unwrap()[0].config,
        Some(config)
    );
    // A report without one (an agent that has not fetched yet) clears it.
    first.sequence = 3;
    first.observed_at += Duration::minutes(1);
    first.config = None;
    telemetry
        .store_report(&first, t0(), &samples_of(&first))
        .await
        .unwrap();
    assert_eq!(
        telemetry
            .latest_report("hanyin-r1")
            .await
            .unwrap()
            .unwrap()
            .config,
        None
    );
}
