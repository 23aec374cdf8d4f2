//! The IPAM ledger: which prefix of which address pool belongs to which owner, at which level.
//!
//! An allocation is active until released; a released prefix may be held (not reallocated)
//! until `hold_until`. Among active rows a prefix has one owner, and an owner one prefix per
//! level of a pool.

use chrono::{DateTime, Utc};
use govcloud_core::ipam::{LedgerEntry, LedgerError, Owner, canonical_prefix};

use super::database::{DbPool, Storage};
use super::db_time;
use super::error::StorageError;

/// An allocation to record; `prefix` is canonicalised (see [`canonical_prefix`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIpamAllocation {
    pub pool: String,
    pub prefix: String,
    /// Depth in the pool's hierarchy (e.g. 0 city, 1 county, 2 township, 3 segment).
    pub level: i32,
    pub owner_kind: String,
    pub owner_name: String,
    pub allocated_at: DateTime<Utc>,
}

/// A ledger row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IpamAllocation {
    pub id: i64,
    pub pool: String,
    pub prefix: String,
    pub level: i32,
    pub owner_kind: String,
    pub owner_name: String,
    pub allocated_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    pub hold_until: Option<DateTime<Utc>>,
}

impl TryFrom<&IpamAllocation> for LedgerEntry {
    type Error = LedgerError;

    /// The allocator's view of a row, checked (see [`LedgerEntry::read`]).
    fn try_from(row: &IpamAllocation) -> Result<Self, LedgerError> {
        LedgerEntry::read(
            &row.prefix,
            row.level,
            Owner::new(row.owner_kind.clone(), row.owner_name.clone()),
            row.released_at,
            row.hold_until,
        )
    }
}

macro_rules! columns {
    () => {
        "id, pool, prefix, level, owner_kind, owner_name, allocated_at, released_at, hold_until"
    };
}

const ACTIVE_PREFIX: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM ipam_allocations WHERE pool = $1 AND prefix = $2 AND released_at IS NULL"
);
const ACTIVE_OWNER_LEVEL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM ipam_allocations WHERE pool = $1 AND owner_kind = $2 AND owner_name = $3 ",
    "AND level = $4 AND released_at IS NULL"
);
const HELD_PREFIX: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM ipam_allocations WHERE pool = $1 AND prefix = $2 AND released_at IS NOT NULL ",
    "AND hold_until > $3 ORDER BY hold_until DESC LIMIT 1"
);
const INSERT: &str = concat!(
    "INSERT INTO ipam_allocations ",
    "(pool, prefix, level, owner_kind, owner_name, allocated_at) ",
    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
    columns!()
);
const BY_OWNER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM ipam_allocations WHERE pool = $1 AND owner_kind = $2 AND owner_name = $3 ",
    "AND released_at IS NULL ORDER BY level, id"
);
const RELEASE: &str = concat!(
    "UPDATE ipam_allocations SET released_at = $3, hold_until = $4 ",
    "WHERE pool = $1 AND prefix = $2 AND released_at IS NULL RETURNING ",
    columns!()
);
const IN_USE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM ipam_allocations WHERE pool = $1 AND (released_at IS NULL OR hold_until > $2) ",
    "ORDER BY id"
);
const ACTIVE_OF_POOL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM ipam_allocations WHERE pool = $1 AND released_at IS NULL ORDER BY id"
);
const ACTIVE_ALL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM ipam_allocations WHERE released_at IS NULL ORDER BY pool, id"
);
const RELEASE_OWNER: &str = concat!(
    "UPDATE ipam_allocations SET released_at = $4, hold_until = $5 ",
    "WHERE pool = $1 AND owner_kind = $2 AND owner_name = $3 AND released_at IS NULL RETURNING ",
    columns!()
);

/// Why an allocation was refused before the insert.
enum Refusal {
    Allocated(IpamAllocation),
    OwnerHasLevel(IpamAllocation),
    Held(IpamAllocation),
}

/// Checks the ledger and inserts every allocation of `$all` in one transaction begun by
/// `$begin`: all of them, or (on the first refusal) none.
macro_rules! allocate_in_tx {
    ($begin:expr, $all:expr) => {
        async {
            let all = $all;
            let mut tx = $begin.await?;
            let mut rows = Vec::with_capacity(all.len());
            for new in all {
                let found = sqlx::query_as::<_, IpamAllocation>(ACTIVE_PREFIX)
                    .bind(&new.pool)
                    .bind(&new.prefix)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(existing) = found {
                    return Ok(Err(Refusal::Allocated(existing)));
                }
                let found = sqlx::query_as::<_, IpamAllocation>(ACTIVE_OWNER_LEVEL)
                    .bind(&new.pool)
                    .bind(&new.owner_kind)
                    .bind(&new.owner_name)
                    .bind(new.level)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(existing) = found {
                    return Ok(Err(Refusal::OwnerHasLevel(existing)));
                }
                let found = sqlx::query_as::<_, IpamAllocation>(HELD_PREFIX)
                    .bind(&new.pool)
                    .bind(&new.prefix)
                    .bind(new.allocated_at)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(existing) = found {
                    return Ok(Err(Refusal::Held(existing)));
                }
                let row = sqlx::query_as::<_, IpamAllocation>(INSERT)
                    .bind(&new.pool)
                    .bind(&new.prefix)
                    .bind(new.level)
                    .bind(&new.owner_kind)
                    .bind(&new.owner_name)
                    .bind(new.allocated_at)
                    .fetch_one(&mut *tx)
                    .await?;
                rows.push(row);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Ok(rows))
        }
        .await
    };
}

/// The `ipam_allocations` repository.
#[derive(Debug, Clone, Copy)]
pub struct Ipam<'a> {
    storage: &'a Storage,
}

impl Storage {
    /// The IPAM ledger repository.
    pub fn ipam(&self) -> Ipam<'_> {
        Ipam { storage: self }
    }
}

impl Ipam<'_> {
    /// Records an allocation. `conflict` if the prefix is allocated or held, or the owner
    /// already has a prefix at that level in the pool; `invalid_input` for a malformed prefix.
    pub async fn allocate(&self, new: &NewIpamAllocation) -> Result<IpamAllocation, StorageError> {
        let mut rows = self.allocate_all(std::slice::from_ref(new)).await?;
        rows.pop().ok_or_else(|| StorageError::InvalidInput {
            operation: "allocate prefix",
            detail: "nothing was recorded".to_owned(),
        })
    }

    /// Records allocations in one transaction: all of them, or none when one is refused
    /// (`conflict`, naming it, as [`Ipam::allocate`] would) — a planning pass is recorded whole.
    pub async fn allocate_all(
        &self,
        all: &[NewIpamAllocation],
    ) -> Result<Vec<IpamAllocation>, StorageError> {
        const OP: &str = "allocate prefix";
        let mut checked = Vec::with_capacity(all.len());
        for new in all {
            let prefix =
                canonical_prefix(&new.prefix).map_err(|detail| StorageError::InvalidInput {
                    operation: OP,
                    detail,
                })?;
            checked.push(NewIpamAllocation {
                prefix,
                allocated_at: db_time(new.allocated_at),
                ..new.clone()
            });
        }
        let outcome = match self.storage.pool() {
            DbPool::Sqlite(pool) => allocate_in_tx!(pool.begin_with("BEGIN IMMEDIATE"), &checked),
            DbPool::Postgres(pool) => allocate_in_tx!(pool.begin(), &checked),
        }
        .map_err(|e| self.storage.error(OP, e))?;
        outcome.map_err(|refusal| {
            let detail = match refusal {
                Refusal::Allocated(a) => format!(
                    "prefix {} of pool {} is allocated to {}/{}",
                    a.prefix, a.pool, a.owner_kind, a.owner_name
                ),
                Refusal::OwnerHasLevel(a) => format!(
                    "{}/{} already holds {} at level {} of pool {}",
                    a.owner_kind, a.owner_name, a.prefix, a.level, a.pool
                ),
                Refusal::Held(a) => format!(
                    "prefix {} of pool {} is held after release until {}",
                    a.prefix,
                    a.pool,
                    a.hold_until.map_or_else(String::new, |t| t.to_rfc3339())
                ),
            };
            StorageError::Conflict {
                operation: OP,
                url: self.storage.redacted_url().to_owned(),
                detail,
            }
        })
    }

    /// The owner's active allocations in `pool`, by level.
    pub async fn find_by_owner(
        &self,
        pool_name: &str,
        owner_kind: &str,
        owner_name: &str,
    ) -> Result<Vec<IpamAllocation>, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, IpamAllocation>(BY_OWNER)
                .bind(pool_name)
                .bind(owner_kind)
                .bind(owner_name)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error("find prefixes by owner", e))
    }

    /// Releases the active allocation of `prefix`, holding it until `hold_until` (if given);
    /// `not_found` if the prefix is not allocated.
    pub async fn release(
        &self,
        pool_name: &str,
        prefix: &str,
        released_at: DateTime<Utc>,
        hold_until: Option<DateTime<Utc>>,
    ) -> Result<IpamAllocation, StorageError> {
        const OP: &str = "release prefix";
        let prefix = canonical_prefix(prefix).map_err(|detail| StorageError::InvalidInput {
            operation: OP,
            detail,
        })?;
        let row = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, IpamAllocation>(RELEASE)
                .bind(pool_name)
                .bind(&prefix)
                .bind(db_time(released_at))
                .bind(hold_until.map(db_time))
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        row.ok_or_else(|| StorageError::NotFound {
            operation: OP,
            url: self.storage.redacted_url().to_owned(),
            what: format!("active allocation of {prefix} in pool {pool_name}"),
        })
    }

    /// Every prefix of `pool` that a planner must not hand out at `now`: active allocations
    /// and released ones still held.
    pub async fn list_in_use(
        &self,
        pool_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<IpamAllocation>, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, IpamAllocation>(IN_USE)
                .bind(pool_name)
                .bind(db_time(now))
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error("list prefixes in use", e))
    }
}

impl Ipam<'_> {
    /// The active allocations of `pool` (not the released ones), in the order recorded.
    pub async fn list_active(&self, pool_name: &str) -> Result<Vec<IpamAllocation>, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, IpamAllocation>(ACTIVE_OF_POOL)
                .bind(pool_name)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error("list active prefixes", e))
    }

    /// The newest allocation's id (0 for none): it moves with every allocation, which is what
    /// the activity feed needs to know to wake whoever waits for one.
    pub async fn newest_id(&self) -> Result<i64, StorageError> {
        const SQL: &str = "SELECT COALESCE(MAX(id), 0) FROM ipam_allocations";
        on_pool!(self.storage, |pool| {
            sqlx::query_scalar::<_, i64>(SQL).fetch_one(pool).await
        })
        .map_err(|e| self.storage.error("read the newest allocation", e))
    }

    /// The active allocations of every pool, by pool then in the order recorded: what other
    /// parts of the controller (desired router configuration, reports) read prefixes from.
    pub async fn list_all_active(&self) -> Result<Vec<IpamAllocation>, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, IpamAllocation>(ACTIVE_ALL)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error("list active prefixes of every pool", e))
    }

    /// Releases every active allocation of the owner in `pool` (all levels), each held until
    /// `hold_until` (if given); returns the released rows, none when it held nothing.
    pub async fn release_by_owner(
        &self,
        pool_name: &str,
        owner_kind: &str,
        owner_name: &str,
        released_at: DateTime<Utc>,
        hold_until: Option<DateTime<Utc>>,
    ) -> Result<Vec<IpamAllocation>, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, IpamAllocation>(RELEASE_OWNER)
                .bind(pool_name)
                .bind(owner_kind)
                .bind(owner_name)
                .bind(db_time(released_at))
                .bind(hold_until.map(db_time))
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error("release prefixes by owner", e))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::canonical_prefix;

    #[test]
    fn prefixes_are_canonicalised() {
        assert_eq!(
            canonical_prefix("2001:DB8:0001:0000::/48").unwrap(),
            "2001:db8:1::/48"
        );
        assert_eq!(
            canonical_prefix("2001:db8:0:0:0:0:0:0/32").unwrap(),
            "2001:db8::/32"
        );
        assert_eq!(
            canonical_prefix("2001:db8:1:ff00::/56").unwrap(),
            "2001:db8:1:ff00::/56"
        );
        assert_eq!(canonical_prefix("::/0").unwrap(), "::/0");
        assert_eq!(canonical_prefix("192.0.2.0/24").unwrap(), "192.0.2.0/24");
        assert_eq!(
            canonical_prefix("2001:db8::1/128").unwrap(),
            "2001:db8::1/128"
        );
    }

    #[test]
    fn malformed_prefixes_are_refused() {
        for bad in [
            "2001:db8::1/64",
            "2001:db8::/129",
            "192.0.2.1/24",
            "2001:db8::",
            "2001:db8::/x",
            "nope/64",
        ] {
            assert!(canonical_prefix(bad).is_err(), "{bad} accepted");
        }
    }
}

#[cfg(test)]
mod ledger_tests {
    use chrono::{TimeDelta, TimeZone, Utc};

    use govcloud_core::ipam::{EntryState, Level};

    use super::*;

    fn row(prefix: &str, level: i32, released: bool) -> IpamAllocation {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        IpamAllocation {
            id: 1,
            pool: "ankang".to_owned(),
            prefix: prefix.to_owned(),
            level,
            owner_kind: "Router".to_owned(),
            owner_name: "hanbin".to_owned(),
            allocated_at: at,
            released_at: released.then_some(at),
            hold_until: released.then(|| at + TimeDelta::hours(168)),
        }
    }

    #[test]
    fn rows_become_entries() {
        let entry = LedgerEntry::try_from(&row("2001:db8:a00:1000::/52", 1, false));
        let entry = entry.expect("a valid row");
        assert_eq!(entry.level, Level::County);
        assert_eq!(entry.owner.to_string(), "Router/hanbin");
        assert_eq!(entry.state, EntryState::Active);
        let held = LedgerEntry::try_from(&row("2001:db8:a00:1000::/52", 1, true)).expect("held");
        let until = Utc
            .with_ymd_and_hms(2026, 11, 8, 0, 0, 0)
            .single()
            .unwrap_or_default();
        assert!(held.state.in_use(until - TimeDelta::seconds(1)));
        assert!(!held.state.in_use(until));
    }

    #[test]
    fn bad_rows_are_errors() {
        assert!(matches!(
            LedgerEntry::try_from(&row("2001:db8:a00:1000::/52", 7, false)),
            Err(LedgerError::UnknownLevel { level: 7, .. })
        ));
        assert!(matches!(
            LedgerEntry::try_from(&row("2001:db8:a00:1000::1/52", 1, false)),
            Err(LedgerError::InvalidPrefix { .. })
        ));
    }
}
