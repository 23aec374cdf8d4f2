//! Durable state on SQLite: objects by resource, namespace and name, and the event log that
//! gives every write its `resourceVersion` and lets watches resume from one.
//!
//! Every write is one transaction (`BEGIN IMMEDIATE`) that takes the next resource version from
//! a counter, writes the object and appends the event, so a crash at any point leaves either the
//! whole write or none of it. Writes are serialised by one lock, which also orders the
//! notifications that wake watchers.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use tokio::sync::{Mutex, broadcast};

/// How many events the log keeps; a watch from an older resource version gets `410 Gone`.
pub const EVENT_HISTORY: i64 = 100_000;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or migrated.
    #[error("failed to open the state database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    /// A statement failed.
    #[error("failed to {operation} in the state database: {source}")]
    Query {
        operation: &'static str,
        source: sqlx::Error,
    },
    /// A stored body is not JSON (the database was edited by hand).
    #[error("failed to read a stored object: {0}")]
    Corrupt(String),
}

fn query(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { operation, source }
}

/// Kind of change, as watch events name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "ADDED" => Self::Added,
            "DELETED" => Self::Deleted,
            _ => Self::Modified,
        }
    }
}

/// Where an object lives: its resource (`group/plural`), namespace (empty when cluster-scoped)
/// and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// `group/plural`, e.g. `govcloud.io/tenants` or `/namespaces`.
    pub resource: String,
    /// Namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// One committed change.
#[derive(Clone, Debug)]
pub struct Event {
    /// The resource version the change was given.
    pub resource_version: i64,
    /// The object changed.
    pub key: ObjectKey,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (before it, for deletions).
    pub object: Arc<Value>,
    /// For a modification, the object before it (which watches with selectors need to tell
    /// an object leaving the selection); `None` for creations and deletions, and when the
    /// previous version has been compacted out of the log.
    pub previous: Option<Arc<Value>>,
}

/// A stored object with its resource version.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    /// The object, `metadata.resourceVersion` included.
    pub object: Value,
    /// Its resource version.
    pub resource_version: i64,
}

/// The state database and the notifier of committed events.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    write_lock: Arc<Mutex<()>>,
    events: broadcast::Sender<Arc<Event>>,
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS objects (
        resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
        uid TEXT NOT NULL, rv INTEGER NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (resource, namespace, name))",
    "CREATE INDEX IF NOT EXISTS objects_by_uid ON objects (uid)",
    "CREATE INDEX IF NOT EXISTS objects_by_namespace ON objects (namespace)",
    "CREATE TABLE IF NOT EXISTS events (
        rv INTEGER PRIMARY KEY, resource TEXT NOT NULL, namespace TEXT NOT NULL,
        name TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_by_key ON events (resource, namespace, name, rv)",
    "CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 1), rv INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO counter (id, rv) VALUES (1, 0)",
];

fn parse_body(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn set_resource_version(object: &mut Value, resource_version: i64) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert(
            "resourceVersion".into(),
            Value::String(resource_version.to_string()),
        );
    }
}

/// The `metadata.uid` of an object, empty when absent.
pub fn uid_of(object: &Value) -> &str {
    object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl Store {
    /// Opens (creating if needed) the state database at `path`.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let display = path.display().to_string();
        let open = |source| StoreError::Open {
            path: display.clone(),
            source,
        };
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{display}"))
            .map_err(open)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(open)?;
        for statement in SCHEMA {
            sqlx::query(*statement).execute(&pool).await.map_err(open)?;
        }
        let (events, _) = broadcast::channel(4096);
        Ok(Self {
            pool,
            write_lock: Arc::new(Mutex::new(())),
            events,
        })
    }

    /// Closes the database.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Subscribes to events committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    /// The latest resource version given to any write.
    pub async fn current_resource_version(&self) -> Result<i64, StoreError> {
        sqlx::query("SELECT rv FROM counter WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map(|row| row.get::<i64, _>(0))
            .map_err(query("read the resource version"))
    }

    /// The oldest resource version a watch can still start from: just before the first event
    /// kept, or the current version when compaction emptied the log (every write appends an
    /// event, so an empty log means nothing was ever written or everything was dropped).
    pub async fn oldest_resource_version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT MIN(rv) FROM events), (SELECT rv FROM counter WHERE id = 1)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(query("read the event log"))?;
        let oldest: Option<i64> = row.get(0);
        Ok(oldest.map_or_else(|| row.get(1), |rv| rv - 1))
    }

    /// One object.
    pub async fn get(&self, key: &ObjectKey) -> Result<Option<Stored>, StoreError> {
        let row = sqlx::query(
            "SELECT body, rv FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
        )
        .bind(&key.resource)
        .bind(&key.namespace)
        .bind(&key.name)
        .fetch_optional(&self.pool)
        .await
        .map_err(query("read an object"))?;
        row.map(|row| {
            Ok(Stored {
                object: parse_body(row.get::<&str, _>(0))?,
                resource_version: row.get(1),
            })
        })
        .transpose()
    }

    /// Objects of `resource` (in `namespace` when given), ordered by namespace and name,
    /// starting after `after` (exclusive), at most `limit`. Also returns the resource version
    /// the list reflects.
    pub async fn list(
        &self,
        resource: &str,
        namespace: Option<&str>,
        after: Option<(&str, &str)>,
        limit: Option<i64>,
    ) -> Result<(Vec<Stored>, i64), StoreError> {
        let mut transaction = self.pool.begin().await.map_err(query("begin a list"))?;
        let rv: i64 = sqlx::query("SELECT rv FROM counter WHERE id = 1")
            .fetch_one(&mut *transaction)
            .await
            .map(|row| row.get(0))
            .map_err(query("read the resource version"))?;
        let (after_ns, after_name) = after.unwrap_or(("", ""));
        let rows = sqlx::query(
            "SELECT body, rv FROM objects WHERE resource = ?1 AND (?2 IS NULL OR namespace = ?2)
             AND (namespace > ?3 OR (namespace = ?3 AND name > ?4) OR ?5 = 0)
             ORDER BY namespace, name LIMIT ?6",
        )
        .bind(resource)
        .bind(namespace)
        .bind(after_ns)
        .bind(after_name)
        .bind(i64::from(after.is_some()))
        .bind(limit.unwrap_or(-1))
        .fetch_all(&mut *transaction)
        .await
        .map_err(query("list objects"))?;
        transaction.commit().await.map_err(query("end a list"))?;
        let objects = rows
            .iter()
            .map(|row| {
                Ok(Stored {
                    object: parse_body(row.get::<&str, _>(0))?,
                    resource_version: row.get(1),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((objects, rv))
    }

    /// Every object in a namespace, of any resource.
    pub async fn in_namespace(
        &self,
        namespace: &str,
    ) -> Result<Vec<(ObjectKey, Value)>, StoreError> {
        let rows = sqlx::query(
            "SELECT resource, name, body FROM objects WHERE namespace = ? ORDER BY resource, name",
        )
        .bind(namespace)
        .fetch_all(&self.pool)
        .await
        .map_err(query("list a namespace's objects"))?;
        rows.iter()
            .map(|row| {
                let key = ObjectKey {
                    resource: row.get(0),
                    namespace: namespace.to_owned(),
                    name: row.get(1),
                };
                Ok((key, parse_body(row.get::<&str, _>(2))?))
            })
            .collect()
    }

    /// Every object whose `ownerReferences` name `owner_uid`.
    pub async fn dependents(&self, owner_uid: &str) -> Result<Vec<(ObjectKey, Value)>, StoreError> {
        let pattern = format!("%\"uid\":\"{}\"%", owner_uid.replace(['%', '_'], ""));
        let rows = sqlx::query(
            "SELECT resource, namespace, name, body FROM objects WHERE body LIKE ? AND uid != ?",
        )
        .bind(pattern)
        .bind(owner_uid)
        .fetch_all(&self.pool)
        .await
        .map_err(query("find dependents"))?;
        let mut dependents = Vec::new();
        for row in rows {
            let body = parse_body(row.get::<&str, _>(3))?;
            let owned = body
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| {
                    refs.iter()
                        .any(|r| r.get("uid").and_then(Value::as_str) == Some(owner_uid))
                });
            if owned {
                dependents.push((
                    ObjectKey {
                        resource: row.get(0),
                        namespace: row.get(1),
                        name: row.get(2),
                    },
                    body,
                ));
            }
        }
        Ok(dependents)
    }

    /// Writes `object` under `key` if its current resource version is `expected` (`None`: the
    /// object must not exist). Returns the stored object with its new resource version, or
    /// `Ok(Err(current))` when the precondition failed (`current` is `None` when absent).
    pub async fn put(
        &self,
        key: &ObjectKey,
        mut object: Value,
        expected: Option<i64>,
    ) -> Result<Result<Stored, Option<i64>>, StoreError> {
        let _write = self.write_lock.lock().await;
        let mut transaction = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(query("begin a write"))?;
        let current = sqlx::query(
            "SELECT rv, body FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
        )
        .bind(&key.resource)
        .bind(&key.namespace)
        .bind(&key.name)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(query("read an object"))?;
        let current_rv: Option<i64> = current.as_ref().map(|row| row.get(0));
        if current_rv != expected {
            return Ok(Err(current_rv));
        }
        // Lenient: a body that does not parse only costs watchers the previous version.
        let previous = current
            .as_ref()
            .and_then(|row| serde_json::from_str::<Value>(row.get::<&str, _>(1)).ok());
        let rv = next_resource_version(&mut transaction).await?;
        set_resource_version(&mut object, rv);
        let body = object.to_string();
        sqlx::query(
            "INSERT INTO objects (resource, namespace, name, uid, rv, body) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (resource, namespace, name) DO UPDATE SET uid = excluded.uid, rv = excluded.rv, body = excluded.body",
        )
        .bind(&key.resource)
        .bind(&key.namespace)
        .bind(&key.name)
        .bind(uid_of(&object))
        .bind(rv)
        .bind(&body)
        .execute(&mut *transaction)
        .await
        .map_err(query("write an object"))?;
        let kind = if current_rv.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        append_event(&mut transaction, rv, key, kind, &body).await?;
        transaction
            .commit()
            .await
            .map_err(query("commit a write"))?;
        let stored = Stored {
            object,
            resource_version: rv,
        };
        self.notify(rv, key, kind, &stored.object, previous);
        Ok(Ok(stored))
    }

    /// Deletes the object under `key` if its resource version is `expected`. Returns the deleted
    /// object with the resource version of the deletion, `Ok(Err(current))` on a failed
    /// precondition.
    pub async fn delete(
        &self,
        key: &ObjectKey,
        expected: i64,
    ) -> Result<Result<Stored, Option<i64>>, StoreError> {
        let _write = self.write_lock.lock().await;
        let mut transaction = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(query("begin a delete"))?;
        let current = sqlx::query(
            "SELECT rv, body FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
        )
        .bind(&key.resource)
        .bind(&key.namespace)
        .bind(&key.name)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(query("read an object"))?;
        let Some(row) = current else {
            return Ok(Err(None));
        };
        let current_rv: i64 = row.get(0);
        if current_rv != expected {
            return Ok(Err(Some(current_rv)));
        }
        let mut object = parse_body(row.get::<&str, _>(1))?;
        sqlx::query("DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?")
            .bind(&key.resource)
            .bind(&key.namespace)
            .bind(&key.name)
            .execute(&mut *transaction)
            .await
            .map_err(query("delete an object"))?;
        let rv = next_resource_version(&mut transaction).await?;
        set_resource_version(&mut object, rv);
        append_event(
            &mut transaction,
            rv,
            key,
            EventType::Deleted,
            &object.to_string(),
        )
        .await?;
        transaction
            .commit()
            .await
            .map_err(query("commit a delete"))?;
        self.notify(rv, key, EventType::Deleted, &object, None);
        Ok(Ok(Stored {
            object,
            resource_version: rv,
        }))
    }

    /// Events of `resource` after `resource_version`, oldest first, at most `limit`.
    pub async fn events_since(
        &self,
        resource: &str,
        resource_version: i64,
        limit: i64,
    ) -> Result<Vec<Event>, StoreError> {
        // A modification comes with the previous version of its object, from the log.
        let rows = sqlx::query(
            "SELECT e.rv, e.namespace, e.name, e.type, e.body,
                CASE WHEN e.type = 'MODIFIED' THEN (
                    SELECT p.body FROM events p
                    WHERE p.resource = e.resource AND p.namespace = e.namespace
                        AND p.name = e.name AND p.rv < e.rv
                    ORDER BY p.rv DESC LIMIT 1)
                END
             FROM events e WHERE e.resource = ? AND e.rv > ? ORDER BY e.rv LIMIT ?",
        )
        .bind(resource)
        .bind(resource_version)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(query("read the event log"))?;
        rows.iter()
            .map(|row| {
                Ok(Event {
                    resource_version: row.get(0),
                    key: ObjectKey {
                        resource: resource.to_owned(),
                        namespace: row.get(1),
                        name: row.get(2),
                    },
                    kind: EventType::parse(row.get::<&str, _>(3)),
                    object: Arc::new(parse_body(row.get::<&str, _>(4))?),
                    previous: row
                        .get::<Option<&str>, _>(5)
                        .map(parse_body)
                        .transpose()?
                        .map(Arc::new),
                })
            })
            .collect()
    }

    /// Every stored object of `resource` across namespaces (used at start to reload CRDs).
    pub async fn all_of(&self, resource: &str) -> Result<Vec<Value>, StoreError> {
        Ok(self
            .list(resource, None, None, None)
            .await?
            .0
            .into_iter()
            .map(|s| s.object)
            .collect())
    }

    /// Drops events beyond the history kept ([`EVENT_HISTORY`]).
    pub async fn compact(&self) -> Result<u64, StoreError> {
        self.compact_keeping(EVENT_HISTORY).await
    }

    /// Drops every event but those of the last `keep` resource versions (`0` empties the log);
    /// returns how many were dropped. Watches from a dropped version then get `410 Gone`.
    pub async fn compact_keeping(&self, keep: i64) -> Result<u64, StoreError> {
        let _write = self.write_lock.lock().await;
        sqlx::query("DELETE FROM events WHERE rv <= (SELECT rv FROM counter WHERE id = 1) - ?")
            .bind(keep.max(0))
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(query("compact the event log"))
    }

    fn notify(
        &self,
        rv: i64,
        key: &ObjectKey,
        kind: EventType,
        object: &Value,
        previous: Option<Value>,
    ) {
        // No receiver is not an error: nobody is watching.
        let _ = self.events.send(Arc::new(Event {
            resource_version: rv,
            key: key.clone(),
            kind,
            object: Arc::new(object.clone()),
            previous: previous.map(Arc::new),
        }));
    }
}

async fn next_resource_version(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
) -> Result<i64, StoreError> {
    sqlx::query("UPDATE counter SET rv = rv + 1 WHERE id = 1 RETURNING rv")
        .fetch_one(&mut **transaction)
        .await
        .map(|row| row.get(0))
        .map_err(query("advance the resource version"))
}

async fn append_event(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    rv: i64,
    key: &ObjectKey,
    kind: EventType,
    body: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (rv, resource, namespace, name, type, body) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(rv)
    .bind(&key.resource)
    .bind(&key.namespace)
    .bind(&key.name)
    .bind(kind.as_str())
    .bind(body)
    .execute(&mut **transaction)
    .await
    .map(|_| ())
    .map_err(query("append to the event log"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            resource: "govcloud.io/tenants".into(),
            namespace: String::new(),
            name: name.into(),
        }
    }

    #[tokio::test]
    async fn writes_get_increasing_resource_versions_and_events() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("state.db"))
            .await
            .expect("open");
        let mut events = store.subscribe();
        let object = json!({"metadata": {"name": "a", "uid": "u1"}});
        let created = store
            .put(&key("a"), object.clone(), None)
            .await
            .expect("put")
            .expect("created");
        assert_eq!(created.resource_version, 1);
        assert_eq!(created.object["metadata"]["resourceVersion"], "1");
        assert_eq!(
            store
                .put(&key("a"), object.clone(), None)
                .await
                .expect("put"),
            Err(Some(1))
        );
        let updated = store
            .put(&key("a"), object, Some(1))
            .await
            .expect("put")
            .expect("updated");
        assert_eq!(updated.resource_version, 2);
        let added = events.recv().await.expect("event");
        assert_eq!(added.kind, EventType::Added);
        assert!(added.previous.is_none());
        let modified = events.recv().await.expect("event");
        assert_eq!(modified.kind, EventType::Modified);
        assert_eq!(
            modified.previous.as_deref(),
            Some(&created.object),
            "a modification carries the version it replaced"
        );
        let deleted = store
            .delete(&key("a"), 2)
            .await
            .expect("delete")
            .expect("deleted");
        assert_eq!(deleted.resource_version, 3);
        assert!(store.get(&key("a")).await.expect("get").is_none());
        let log = store
            .events_since("govcloud.io/tenants", 1, 10)
            .await
            .expect("events");
        assert_eq!(
            log.iter().map(|e| e.kind).collect::<Vec<_>>(),
            vec![EventType::Modified, EventType::Deleted]
        );
        assert_eq!(log[0].previous.as_deref(), Some(&created.object));
        assert!(log[1].previous.is_none());
        // Once the version before a modification is compacted away, it is unknown.
        let b = json!({"metadata": {"name": "b", "uid": "u2"}});
        store
            .put(&key("b"), b.clone(), None)
            .await
            .expect("put")
            .expect("created");
        store
            .put(&key("b"), b, Some(4))
            .await
            .expect("put")
            .expect("updated");
        store.compact_keeping(1).await.expect("compact");
        let log = store
            .events_since("govcloud.io/tenants", 0, 10)
            .await
            .expect("events");
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].kind, EventType::Modified);
        assert!(log[0].previous.is_none());
    }

    #[tokio::test]
    async fn compaction_moves_the_oldest_watchable_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("state.db"))
            .await
            .expect("open");
        assert_eq!(store.oldest_resource_version().await.expect("oldest"), 0);
        for name in ["a", "b", "c"] {
            store
                .put(&key(name), json!({"metadata": {"name": name}}), None)
                .await
                .expect("put")
                .expect("created");
        }
        assert_eq!(store.oldest_resource_version().await.expect("oldest"), 0);
        assert_eq!(store.compact_keeping(1).await.expect("compact"), 2);
        assert_eq!(store.oldest_resource_version().await.expect("oldest"), 2);
        assert_eq!(store.compact_keeping(0).await.expect("compact"), 1);
        // An empty log still knows which versions it lost.
        assert_eq!(store.oldest_resource_version().await.expect("oldest"), 3);
        assert_eq!(store.compact().await.expect("compact"), 0);
    }

    #[tokio::test]
    async fn state_survives_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let store = Store::open(&path).await.expect("open");
        store
            .put(
                &key("a"),
                json!({"metadata": {"name": "a", "uid": "u1"}}),
                None,
            )
            .await
            .expect("put")
            .expect("ok");
        store.close().await;
        let store = Store::open(&path).await.expect("reopen");
        assert_eq!(store.current_resource_version().await.expect("rv"), 1);
        assert_eq!(
            store
                .get(&key("a"))
                .await
                .expect("get")
                .expect("present")
                .resource_version,
            1
        );
    }

    #[tokio::test]
    async fn lists_page_in_name_order_and_find_dependents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("state.db"))
            .await
            .expect("open");
        for name in ["c", "a", "b"] {
            let object = json!({"metadata": {"name": name, "uid": format!("u-{name}"),
                "ownerReferences": [{"uid": "owner-1", "name": "o", "kind": "Tenant", "apiVersion": "govcloud.io/v1alpha1"}]}});
            store
                .put(&key(name), object, None)
                .await
                .expect("put")
                .expect("ok");
        }
        let (page, rv) = store
            .list("govcloud.io/tenants", None, None, Some(2))
            .await
            .expect("list");
        assert_eq!(rv, 3);
        let names: Vec<_> = page
            .iter()
            .map(|s| s.object["metadata"]["name"].clone())
            .collect();
        assert_eq!(names, vec![json!("a"), json!("b")]);
        let (rest, _) = store
            .list("govcloud.io/tenants", None, Some(("", "b")), Some(2))
            .await
            .expect("list");
        assert_eq!(rest.len(), 1);
        assert_eq!(
            store.dependents("owner-1").await.expect("dependents").len(),
            3
        );
        assert!(
            store
                .dependents("owner-2")
                .await
                .expect("dependents")
                .is_empty()
        );
    }
}
