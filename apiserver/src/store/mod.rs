//! Durable state on SQLite: objects by resource, namespace and name, their labels, and the
//! event log that gives every write its `resourceVersion` and lets watches resume from one.
//!
//! Every write is one transaction (`BEGIN IMMEDIATE`) that takes the next resource version from
//! a counter, writes the object and its labels and appends the event, so a crash at any point
//! leaves either the whole write or none of it. Writes are serialised by one lock, which also
//! orders the notifications that wake watchers. The schema is created and changed by the
//! migrations in `apiserver/migrations`.

mod compaction;
mod selection;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use tokio::sync::{Mutex, broadcast};

pub use compaction::{COMPACTION_INTERVAL, Compactor, HISTORY_WINDOW, MAX_EVENTS};
pub use selection::Selection;

use crate::selector::labels_of;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Largest the write-ahead log is left after a checkpoint, in bytes.
const WAL_SIZE_LIMIT: &str = "16777216";

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
    /// The events after a resource version were compacted away (`410 Gone` for a watch).
    #[error("too old resource version: {requested} ({oldest})")]
    Compacted {
        /// The version asked for.
        requested: i64,
        /// The oldest version the log can still resume from.
        oldest: i64,
    },
    /// The schema could not be brought up to date.
    #[error("failed to migrate the state database {path}: {source}")]
    Migrate {
        path: String,
        source: sqlx::migrate::MigrateError,
    },
}

fn query_error(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
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

/// How much of the database is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageUsage {
    /// `page_count * page_size`: the size of the database file (without the WAL).
    pub file_bytes: i64,
    /// The same without the pages on the free list.
    pub used_bytes: i64,
    /// Objects stored.
    pub objects: i64,
    /// Events in the log.
    pub events: i64,
}

/// A stored object as its JSON text, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredText {
    /// Namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The object, `metadata.resourceVersion` included, as stored.
    pub body: String,
    /// Its resource version.
    pub resource_version: i64,
}

/// What a list reads: a resource, optionally one namespace, a page after a cursor, and a
/// selection.
#[derive(Clone, Copy, Debug)]
pub struct ListQuery<'a> {
    /// `group/plural`.
    pub resource: &'a str,
    /// Only this namespace, when given.
    pub namespace: Option<&'a str>,
    /// Start after this namespace and name (exclusive).
    pub after: Option<(&'a str, &'a str)>,
    /// At most this many rows.
    pub limit: Option<i64>,
    /// Selectors answered by the query.
    pub selection: Selection<'a>,
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

/// Parses a stored body.
pub fn parse_body(text: &str) -> Result<Value, StoreError> {
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
            // Takes effect in a new database only (an existing one keeps its mode): compaction
            // then gives freed pages back to the file system.
            .auto_vacuum(SqliteAutoVacuum::Incremental)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses at most the last commits on power loss, never consistency.
            .synchronous(SqliteSynchronous::Normal)
            .pragma("journal_size_limit", WAL_SIZE_LIMIT)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(open)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: display.clone(),
                source,
            })?;
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
            .map_err(query_error("read the resource version"))
    }

    /// The oldest resource version a watch can still start from: just before the first event
    /// kept, or the current version when compaction emptied the log (every write appends an
    /// event, so an empty log means nothing was ever written or everything was dropped).
    pub async fn oldest_resource_version(&self) -> Result<i64, StoreError> {
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(query_error("read the event log"))?;
        oldest_resource_version(&mut connection).await
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
        .map_err(query_error("read an object"))?;
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
        self.list_selected(&ListQuery {
            resource,
            namespace,
            after,
            limit,
            selection: Selection::default(),
        })
        .await
    }

    /// The objects a list query selects, ordered by namespace and name, and the resource
    /// version the list reflects. See [`Store::list_text`].
    pub async fn list_selected(
        &self,
        list: &ListQuery<'_>,
    ) -> Result<(Vec<Stored>, i64), StoreError> {
        let (rows, rv) = self.list_text(list).await?;
        let objects = rows
            .iter()
            .map(|row| {
                Ok(Stored {
                    object: parse_body(&row.body)?,
                    resource_version: row.resource_version,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((objects, rv))
    }

    /// The objects a list query selects as stored (JSON text, not parsed), ordered by
    /// namespace and name, and the resource version the list reflects. Only the rows selected
    /// are read (see [`Selection::is_exact`] for the one exception); each page is one range of
    /// the key index from where the previous one ended.
    pub async fn list_text(
        &self,
        list: &ListQuery<'_>,
    ) -> Result<(Vec<StoredText>, i64), StoreError> {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT namespace, name, body, rv FROM objects WHERE resource = ",
        );
        query.push_bind(list.resource.to_owned());
        match (list.namespace, list.after) {
            (Some(namespace), after) => {
                query
                    .push(" AND namespace = ")
                    .push_bind(namespace.to_owned());
                // A cursor in another namespace is before or after all of this one.
                match after {
                    Some((after_ns, after_name)) if after_ns == namespace => {
                        query.push(" AND name > ").push_bind(after_name.to_owned());
                    }
                    Some((after_ns, _)) if after_ns > namespace => {
                        query.push(" AND 0");
                    }
                    _ => {}
                }
            }
            (None, Some((after_ns, after_name))) => {
                query
                    .push(" AND (namespace, name) > (")
                    .push_bind(after_ns.to_owned())
                    .push(", ")
                    .push_bind(after_name.to_owned())
                    .push(")");
            }
            (None, None) => {}
        }
        list.selection.push_conditions(&mut query);
        query.push(" ORDER BY namespace, name");
        if let Some(limit) = list.limit {
            query.push(" LIMIT ").push_bind(limit);
        }
        let mut transaction = self
            .pool
            .begin()
            .await
            .map_err(query_error("begin a list"))?;
        let rv: i64 = sqlx::query("SELECT rv FROM counter WHERE id = 1")
            .fetch_one(&mut *transaction)
            .await
            .map(|row| row.get(0))
            .map_err(query_error("read the resource version"))?;
        let rows = query
            .build()
            .fetch_all(&mut *transaction)
            .await
            .map_err(query_error("list objects"))?;
        transaction
            .commit()
            .await
            .map_err(query_error("end a list"))?;
        let objects = rows
            .into_iter()
            .map(|row| StoredText {
                namespace: row.get(0),
                name: row.get(1),
                body: row.get(2),
                resource_version: row.get(3),
            })
            .collect();
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
        .map_err(query_error("list a namespace's objects"))?;
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
        .map_err(query_error("find dependents"))?;
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
            .map_err(query_error("begin a write"))?;
        let current = sqlx::query(
            "SELECT rv, body FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
        )
        .bind(&key.resource)
        .bind(&key.namespace)
        .bind(&key.name)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(query_error("read an object"))?;
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
        let id: i64 = sqlx::query(
            "INSERT INTO objects (resource, namespace, name, uid, rv, body) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (resource, namespace, name) DO UPDATE SET uid = excluded.uid, rv = excluded.rv, body = excluded.body
             RETURNING id",
        )
        .bind(&key.resource)
        .bind(&key.namespace)
        .bind(&key.name)
        .bind(uid_of(&object))
        .bind(rv)
        .bind(&body)
        .fetch_one(&mut *transaction)
        .await
        .map(|row| row.get(0))
        .map_err(query_error("write an object"))?;
        let labels = labels_of(&object);
        // An object whose previous body did not parse has its labels rewritten.
        if current_rv.is_none() || previous.as_ref().map(labels_of).as_ref() != Some(&labels) {
            write_labels(&mut transaction, id, current_rv.is_some(), &labels).await?;
        }
        let kind = if current_rv.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        append_event(&mut transaction, rv, key, kind, &body).await?;
        transaction
            .commit()
            .await
            .map_err(query_error("commit a write"))?;
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
            .map_err(query_error("begin a delete"))?;
        let current = sqlx::query(
            "SELECT rv, body FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
        )
        .bind(&key.resource)
        .bind(&key.namespace)
        .bind(&key.name)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(query_error("read an object"))?;
        let Some(row) = current else {
            return Ok(Err(None));
        };
        let current_rv: i64 = row.get(0);
        if current_rv != expected {
            return Ok(Err(Some(current_rv)));
        }
        let mut object = parse_body(row.get::<&str, _>(1))?;
        sqlx::query(
            "DELETE FROM labels WHERE object = (
                SELECT id FROM objects WHERE resource = ? AND namespace = ? AND name = ?)",
        )
        .bind(&key.resource)
        .bind(&key.namespace)
        .bind(&key.name)
        .execute(&mut *transaction)
        .await
        .map_err(query_error("delete an object's labels"))?;
        sqlx::query("DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?")
            .bind(&key.resource)
            .bind(&key.namespace)
            .bind(&key.name)
            .execute(&mut *transaction)
            .await
            .map_err(query_error("delete an object"))?;
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
            .map_err(query_error("commit a delete"))?;
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
        let mut transaction = self
            .pool
            .begin()
            .await
            .map_err(query_error("begin reading the event log"))?;
        let oldest = oldest_resource_version(&mut transaction).await?;
        if resource_version < oldest {
            return Err(StoreError::Compacted {
                requested: resource_version,
                oldest,
            });
        }
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
        .fetch_all(&mut *transaction)
        .await
        .map_err(query_error("read the event log"))?;
        transaction
            .commit()
            .await
            .map_err(query_error("end reading the event log"))?;
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

    /// Drops every event but those of the last `keep` resource versions (`0` empties the log);
    /// returns how many were dropped. Watches from a dropped version then get `410 Gone`.
    pub async fn compact_keeping(&self, keep: i64) -> Result<u64, StoreError> {
        let current = self.current_resource_version().await?;
        self.compact_through(current - keep.max(0)).await
    }

    /// Drops the events of resource versions up to `revision`; returns how many were dropped.
    pub async fn compact_through(&self, revision: i64) -> Result<u64, StoreError> {
        let _write = self.write_lock.lock().await;
        sqlx::query("DELETE FROM events WHERE rv <= ?")
            .bind(revision)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(query_error("compact the event log"))
    }

    /// Gives pages freed by compaction back to the file system (in a database created with
    /// incremental auto-vacuum) and truncates the write-ahead log.
    pub async fn reclaim_space(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA incremental_vacuum")
            .execute(&self.pool)
            .await
            .map_err(query_error("free unused pages"))?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(query_error("checkpoint the write-ahead log"))
    }

    /// Bytes of the database in use (pages not on the free list) and the number of objects.
    pub async fn usage(&self) -> Result<StorageUsage, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT page_count FROM pragma_page_count()),
                (SELECT freelist_count FROM pragma_freelist_count()),
                (SELECT page_size FROM pragma_page_size()),
                (SELECT COUNT(*) FROM objects), (SELECT COUNT(*) FROM events)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(query_error("measure the database"))?;
        let (pages, free, page_size): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        Ok(StorageUsage {
            file_bytes: pages * page_size,
            used_bytes: (pages - free) * page_size,
            objects: row.get(3),
            events: row.get(4),
        })
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

/// Just before the first event kept, or the current version when the log is empty.
async fn oldest_resource_version(
    connection: &mut sqlx::SqliteConnection,
) -> Result<i64, StoreError> {
    let row =
        sqlx::query("SELECT (SELECT MIN(rv) FROM events), (SELECT rv FROM counter WHERE id = 1)")
            .fetch_one(&mut *connection)
            .await
            .map_err(query_error("read the event log"))?;
    let oldest: Option<i64> = row.get(0);
    Ok(oldest.map_or_else(|| row.get(1), |rv| rv - 1))
}

/// Takes the next resource version. Every [`compaction::CAP_STRIDE`] versions the same
/// transaction also drops the events beyond [`MAX_EVENTS`], so that the log stays bounded
/// however fast it is written.
async fn next_resource_version(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
) -> Result<i64, StoreError> {
    let rv: i64 = sqlx::query("UPDATE counter SET rv = rv + 1 WHERE id = 1 RETURNING rv")
        .fetch_one(&mut **transaction)
        .await
        .map(|row| row.get(0))
        .map_err(query_error("advance the resource version"))?;
    if rv % compaction::CAP_STRIDE == 0 {
        sqlx::query("DELETE FROM events WHERE rv <= ?")
            .bind(rv - MAX_EVENTS)
            .execute(&mut **transaction)
            .await
            .map_err(query_error("compact the event log"))?;
    }
    Ok(rv)
}

/// Replaces the label rows of object `id` (`existed`: it may have some).
async fn write_labels(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
    existed: bool,
    labels: &std::collections::BTreeMap<String, String>,
) -> Result<(), StoreError> {
    if existed {
        sqlx::query("DELETE FROM labels WHERE object = ?")
            .bind(id)
            .execute(&mut **transaction)
            .await
            .map_err(query_error("replace an object's labels"))?;
    }
    if labels.is_empty() {
        return Ok(());
    }
    let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO labels (object, key, value) ");
    insert.push_values(labels, |mut row, (key, value)| {
        row.push_bind(id).push_bind(key).push_bind(value);
    });
    insert
        .build()
        .execute(&mut **transaction)
        .await
        .map(|_| ())
        .map_err(query_error("write an object's labels"))
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
    .map_err(query_error("append to the event log"))
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
        assert!(matches!(
            store.events_since("govcloud.io/tenants", 0, 10).await,
            Err(StoreError::Compacted {
                requested: 0,
                oldest: 4
            })
        ));
        let log = store
            .events_since("govcloud.io/tenants", 4, 10)
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
        assert_eq!(store.compact_keeping(10).await.expect("compact"), 0);
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

    /// A custom object of about 1.5 KB of JSON, as a migration runbook is.
    fn runbook(i: usize) -> Value {
        let name = format!("system-{i:05}");
        json!({
            "apiVersion": "govcloud.io/v1alpha1",
            "kind": "SystemMigration",
            "metadata": {
                "name": name, "namespace": "city", "uid": format!("uid-{i:05}"),
                "creationTimestamp": "2026-01-01T00:00:00Z", "generation": 1,
                "labels": {"govcloud.io/campaign": "city", "govcloud.io/wave": (i % 10).to_string()},
            },
            "spec": {
                "displayName": format!("System {i} of the city's registry of services"),
                "classification": "Unclassified", "sensitivity": "Internal",
                "resources": {"cpu": "8", "memory": "32Gi", "storage": "1Ti"},
                "source": {"site": "City hall, third floor", "platform": "VirtualMachine", "hosts": 1 + i % 12,
                    "maintainer": "Example Software Ltd., maintenance contract 2024-17, on call weekdays 8:00 to 18:00"},
                "notes": "Downtime agreed with the department; the citizens' portal shows the notice from three working days ahead.",
                "steps": [
                    {"name": "announce", "run": {"type": "Manual", "manual": {"instructions": "Announce the downtime on the portal three working days ahead and tell the departments using the system."}}},
                    {"name": "sync-database", "pointOfNoReturn": true, "run": {"type": "Job", "job": {
                        "image": "registry.example.org/migration/db-sync:2.4",
                        "args": ["--source-engine=oracle", "--target-engine=postgres", "--verify=rowcount,checksum"],
                        "env": [{"name": "SYSTEM", "value": name}, {"name": "PARALLELISM", "value": "4"}],
                        "activeDeadlineSeconds": 14_400, "backoffLimit": 1}}},
                    {"name": "deploy", "run": {"type": "Webhook", "webhook": {
                        "url": format!("https://deploy.example.org/api/v1/releases/{name}"),
                        "statusUrl": format!("https://deploy.example.org/api/v1/releases/{name}/status"),
                        "timeoutSeconds": 60, "retries": 3}}},
                ],
            },
        })
    }

    /// Bytes per object the database may use once the history is compacted: the body (about
    /// 1.5 KB), its key, uid and namespace index entries and two label rows in two indexes
    /// (about 350 B), b-tree pages filled to about two thirds after random inserts and
    /// updates, and some slack; a design that stored a second copy of every body, or kept
    /// history after compaction, would exceed it.
    const BYTES_PER_OBJECT_BOUND: i64 = 3_072;

    #[tokio::test]
    async fn bytes_stored_per_object_stay_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("state.db"))
            .await
            .expect("open");
        let objects = 500;
        let size = runbook(0).to_string().len();
        assert!((1_300..1_800).contains(&size), "a runbook is {size} B");
        let key = |i: usize| ObjectKey {
            resource: "govcloud.io/systemmigrations".into(),
            namespace: "city".into(),
            name: format!("system-{i:05}"),
        };
        for i in 0..objects {
            store
                .put(&key(i), runbook(i), None)
                .await
                .expect("put")
                .expect("created");
        }
        for round in 0..3 {
            for i in 0..objects {
                let current = store.get(&key(i)).await.expect("get").expect("present");
                let mut object = current.object;
                object["status"] = json!({"phase": "Assessed", "reason": format!("round {round}")});
                store
                    .put(&key(i), object, Some(current.resource_version))
                    .await
                    .expect("put")
                    .expect("updated");
            }
        }
        let with_history = store.usage().await.expect("usage");
        assert_eq!(with_history.events, 2_000);
        store.compact_keeping(0).await.expect("compact");
        store.reclaim_space().await.expect("reclaim");
        let compacted = store.usage().await.expect("usage");
        assert_eq!(compacted.objects, 500);
        assert_eq!(compacted.events, 0);
        assert_eq!(
            compacted.file_bytes, compacted.used_bytes,
            "freed pages go back to the file system"
        );
        let per_object = compacted.file_bytes / compacted.objects;
        eprintln!(
            "{size} B objects: {} B per object with 4 events each, {per_object} B after compaction",
            with_history.file_bytes / with_history.objects
        );
        assert!(
            per_object <= BYTES_PER_OBJECT_BOUND,
            "{per_object} B per object of {size} B"
        );
    }

    #[tokio::test]
    async fn a_database_of_the_first_schema_is_migrated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .expect("options")
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let old = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .expect("create an old database");
        let first_schema = include_str!("../../migrations/0001_objects_and_events.sql");
        sqlx::raw_sql(first_schema)
            .execute(&old)
            .await
            .expect("the first schema");
        for (rv, name, labels) in [
            (1, "a", json!({"app": "web"})),
            (2, "b", json!({"app": "db"})),
        ] {
            let body = json!({"metadata": {"name": name, "uid": name, "resourceVersion": rv.to_string(), "labels": labels}});
            sqlx::query("INSERT INTO objects VALUES ('govcloud.io/tenants', '', ?, ?, ?, ?)")
                .bind(name)
                .bind(name)
                .bind(rv)
                .bind(body.to_string())
                .execute(&old)
                .await
                .expect("insert");
        }
        sqlx::query("UPDATE counter SET rv = 2")
            .execute(&old)
            .await
            .expect("counter");
        old.close().await;

        let store = Store::open(&path).await.expect("open and migrate");
        let selector = crate::selector::LabelSelector::parse("app=web").expect("parse");
        let (selected, rv) = store
            .list_selected(&ListQuery {
                resource: "govcloud.io/tenants",
                namespace: None,
                after: None,
                limit: None,
                selection: Selection {
                    labels: Some(&selector),
                    fields: None,
                },
            })
            .await
            .expect("list");
        assert_eq!(rv, 2);
        assert_eq!(selected.len(), 1);
        assert_eq!(selected[0].object["metadata"]["name"], "a");
        let created = store
            .put(
                &key("c"),
                json!({"metadata": {"name": "c", "labels": {"app": "web"}}}),
                None,
            )
            .await
            .expect("put")
            .expect("created");
        assert_eq!(created.resource_version, 3);
    }

    /// Where the child of [`a_killed_writer_leaves_a_consistent_database`] writes.
    const CRASH_DATABASE: &str = "GOVCLOUD_APISERVER_CRASH_DATABASE";

    /// Writes until killed, when run as the child of
    /// [`a_killed_writer_leaves_a_consistent_database`]; passes at once otherwise.
    #[tokio::test]
    async fn write_until_killed() {
        let Some(path) = std::env::var_os(CRASH_DATABASE) else {
            return;
        };
        let store = Store::open(Path::new(&path)).await.expect("open");
        for i in 0.. {
            let name = format!("t{i}");
            let object =
                json!({"metadata": {"name": name, "labels": {"round": (i % 7).to_string()}}});
            let created = store
                .put(&key(&name), object.clone(), None)
                .await
                .expect("put")
                .expect("created");
            let mut relabelled = object;
            relabelled["metadata"]["labels"] = json!({"round": "done"});
            store
                .put(&key(&name), relabelled, Some(created.resource_version))
                .await
                .expect("put")
                .expect("updated");
        }
    }

    #[tokio::test]
    async fn a_killed_writer_leaves_a_consistent_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "store::tests::write_until_killed",
                "--exact",
                "--test-threads=1",
            ])
            .env(CRASH_DATABASE, &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the writer");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            // Read-only, so as not to race the writer's creation of the schema.
            let reader = SqliteConnectOptions::new().filename(&path).read_only(true);
            let written: i64 = match SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(reader)
                .await
            {
                Ok(pool) => {
                    let rv = sqlx::query_scalar("SELECT rv FROM counter")
                        .fetch_one(&pool)
                        .await
                        .unwrap_or_default();
                    pool.close().await;
                    rv
                }
                Err(_) => 0,
            };
            if written >= 200 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the writer wrote {written} versions in 60 s"
            );
        }
        child.kill().expect("SIGKILL the writer");
        child.wait().expect("reap the writer");

        let store = Store::open(&path).await.expect("reopen after the crash");
        let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&store.pool)
            .await
            .expect("integrity check");
        assert_eq!(integrity, "ok");
        // Every write is whole: each object's version has its event, its labels are those of
        // its body, and the counter is the last version given.
        let row = sqlx::query(
            "SELECT (SELECT rv FROM counter),
                (SELECT MAX(rv) FROM events),
                (SELECT COUNT(*) FROM objects o WHERE NOT EXISTS (
                    SELECT 1 FROM events e WHERE e.rv = o.rv AND e.body = o.body)),
                (SELECT COUNT(*) FROM objects o WHERE json_extract(o.body, '$.metadata.labels.round')
                    IS NOT (SELECT value FROM labels l WHERE l.object = o.id AND l.key = 'round'))",
        )
        .fetch_one(&store.pool)
        .await
        .expect("consistency");
        let (counter, last_event, without_event, wrong_labels): (i64, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        assert!(counter >= 200);
        assert_eq!(counter, last_event);
        assert_eq!(without_event, 0);
        assert_eq!(wrong_labels, 0);
    }
}
