//! The segment ledger: the VLAN id and VRF routing table of each site of a dedicated network
//! migrating onto the extranet, unique per router (`segment_allocations`).
//!
//! Allocation is one transaction: read what the network's routers hold, let a pure planner
//! choose (`govcloud_core::consolidation::allocation`), write its choice. The table's uniqueness rules
//! (`UNIQUE (router, vlan_id)`, `UNIQUE (router, vrf_table)`) refuse a choice that a concurrent
//! transaction took meanwhile; [`Segments::allocate`] then reads again and plans again. On
//! PostgreSQL the transaction also locks the table against other writers (as SQLite's
//! `BEGIN IMMEDIATE` does), so that concurrent allocations queue rather than retry.

use chrono::{DateTime, Utc};

use super::database::{DbPool, Storage};
use super::db_time;
use super::error::StorageError;
use govcloud_core::consolidation::allocation::{NewSegment, SegmentAllocation};

/// How many times an allocation is planned again after losing a race.
const ATTEMPTS: usize = 8;

#[derive(sqlx::FromRow)]
struct Row {
    network: String,
    router: String,
    vlan_id: i32,
    vrf_table: i64,
    allocated_at: DateTime<Utc>,
}

impl Row {
    fn into_allocation(self) -> Result<SegmentAllocation, String> {
        let vlan_id = u16::try_from(self.vlan_id)
            .map_err(|_| format!("VLAN id {} out of range", self.vlan_id))?;
        let vrf_table = u32::try_from(self.vrf_table)
            .map_err(|_| format!("VRF table {} out of range", self.vrf_table))?;
        Ok(SegmentAllocation {
            network: self.network,
            router: self.router,
            vlan_id,
            vrf_table,
            allocated_at: self.allocated_at,
        })
    }
}

const ON_ROUTER: &str = "SELECT network, router, vlan_id, vrf_table, allocated_at \
     FROM segment_allocations WHERE router = $1 ORDER BY vlan_id";
const OF_NETWORK: &str = "SELECT network, router, vlan_id, vrf_table, allocated_at \
     FROM segment_allocations WHERE network = $1 ORDER BY router";
const DELETE_SITE: &str = "DELETE FROM segment_allocations WHERE network = $1 AND router = $2";
const INSERT: &str = "INSERT INTO segment_allocations \
     (network, router, vlan_id, vrf_table, allocated_at) VALUES ($1, $2, $3, $4, $5)";
const DELETE_NETWORK: &str = "DELETE FROM segment_allocations WHERE network = $1";
const NETWORKS: &str = "SELECT DISTINCT network FROM segment_allocations ORDER BY network";
const SITE_PREFIXES: &str = "SELECT owner_name, prefix FROM ipam_allocations \
     WHERE owner_kind = 'NetworkSite' AND released_at IS NULL \
     AND substr(owner_name, 1, length($1)) = $1 ORDER BY owner_name, level DESC, id";

/// PostgreSQL: allocations queue behind one another (reads go on), as SQLite's `BEGIN
/// IMMEDIATE` makes them; the uniqueness rules and the retry stay as the guarantee.
const PG_LOCK: &str = "LOCK TABLE segment_allocations IN EXCLUSIVE MODE";

/// Reads the rows on `$routers`, plans with `$plan`, writes the plan, in one transaction begun
/// by `$begin`. Evaluates to `Result<Result<(), E>, sqlx::Error>`.
macro_rules! allocate_in_tx {
    ($begin:expr, $lock:expr, $network:expr, $routers:expr, $plan:expr, $at:expr) => {
        async {
            let mut tx = $begin.await?;
            if let Some(lock) = $lock {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            let mut rows = Vec::new();
            for router in $routers {
                let found = sqlx::query_as::<_, Row>(ON_ROUTER)
                    .bind(router)
                    .fetch_all(&mut *tx)
                    .await?;
                rows.extend(found);
            }
            let held = rows
                .into_iter()
                .map(Row::into_allocation)
                .collect::<Result<Vec<_>, String>>()
                .map_err(|detail| sqlx::Error::Decode(detail.into()))?;
            let new = match $plan(&held) {
                Ok(new) => new,
                Err(refusal) => return Ok(Err(refusal)),
            };
            for segment in &new {
                let segment: &NewSegment = segment;
                sqlx::query(DELETE_SITE)
                    .bind($network)
                    .bind(&segment.router)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(INSERT)
                    .bind($network)
                    .bind(&segment.router)
                    .bind(i32::from(segment.vlan_id))
                    .bind(i64::from(segment.vrf_table))
                    .bind($at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Ok(()))
        }
        .await
    };
}

/// The `segment_allocations` repository.
#[derive(Debug, Clone, Copy)]
pub struct Segments<'a> {
    storage: &'a Storage,
}

impl Storage {
    /// The segment (VLAN/VRF) ledger repository.
    pub fn segments(&self) -> Segments<'_> {
        Segments { storage: self }
    }
}

impl Segments<'_> {
    /// Allocates for `network` at `routers`: in one transaction, reads every row on those
    /// routers (of every network), asks `plan` which rows of `network` to write (each replaces
    /// the network's row at its router), and writes them. A refusal of `plan` is returned as
    /// `Ok(Err(refusal))` with nothing written. When a concurrent allocation took a chosen VLAN
    /// or table first, reads and plans again (up to eight times, then `conflict`). Returns the
    /// network's rows afterwards.
    pub async fn allocate<E>(
        &self,
        network: &str,
        routers: &[String],
        plan: impl Fn(&[SegmentAllocation]) -> Result<Vec<NewSegment>, E>,
        at: DateTime<Utc>,
    ) -> Result<Result<Vec<SegmentAllocation>, E>, StorageError> {
        const OP: &str = "allocate VLANs and VRFs";
        let at = db_time(at);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = match self.storage.pool() {
                DbPool::Sqlite(pool) => {
                    allocate_in_tx!(
                        pool.begin_with("BEGIN IMMEDIATE"),
                        None::<&'static str>,
                        network,
                        routers,
                        plan,
                        at
                    )
                }
                DbPool::Postgres(pool) => {
                    allocate_in_tx!(pool.begin(), Some(PG_LOCK), network, routers, plan, at)
                }
            }
            .map_err(|e| self.storage.error(OP, e));
            match outcome {
                Ok(Ok(())) => return self.of_network(network).await.map(Ok),
                Ok(Err(refusal)) => return Ok(Err(refusal)),
                Err(StorageError::Conflict { .. }) if attempt < ATTEMPTS => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// The rows of `network`, by router.
    pub async fn of_network(&self, network: &str) -> Result<Vec<SegmentAllocation>, StorageError> {
        const OP: &str = "read the VLANs and VRFs of a network";
        let rows = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, Row>(OF_NETWORK)
                .bind(network)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        self.decode(OP, rows)
    }

    /// The rows on `router`, of every network, by VLAN id.
    pub async fn on_router(&self, router: &str) -> Result<Vec<SegmentAllocation>, StorageError> {
        const OP: &str = "read the VLANs and VRFs of a router";
        let rows = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, Row>(ON_ROUTER)
                .bind(router)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        self.decode(OP, rows)
    }

    fn decode(
        self,
        operation: &'static str,
        rows: Vec<Row>,
    ) -> Result<Vec<SegmentAllocation>, StorageError> {
        rows.into_iter()
            .map(Row::into_allocation)
            .collect::<Result<_, _>>()
            .map_err(|detail| StorageError::Corrupt {
                operation,
                url: self.storage.redacted_url().to_owned(),
                detail,
            })
    }

    /// Deletes the rows of `network` at routers other than `keep`; returns how many.
    pub async fn release_except(
        &self,
        network: &str,
        keep: &[String],
    ) -> Result<u64, StorageError> {
        let mut released = 0;
        for row in self.of_network(network).await? {
            if !keep.contains(&row.router) {
                released += self.release_site(network, &row.router).await?;
            }
        }
        Ok(released)
    }

    async fn release_site(&self, network: &str, router: &str) -> Result<u64, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query(DELETE_SITE)
                .bind(network)
                .bind(router)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(|e| self.storage.error("release a VLAN and VRF", e))
    }

    /// Deletes every row of `network`; returns how many.
    pub async fn release_network(&self, network: &str) -> Result<u64, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query(DELETE_NETWORK)
                .bind(network)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(|e| {
            self.storage
                .error("release the VLANs and VRFs of a network", e)
        })
    }

    /// The networks that hold rows, by name.
    pub async fn networks(&self) -> Result<Vec<String>, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_scalar::<_, String>(NETWORKS)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error("list the networks holding VLANs", e))
    }

    /// The active `/64` of each site of `network` in the IPAM ledger (owner kind `NetworkSite`,
    /// name `<network>/<router>`), as `(router, prefix)` by router.
    pub async fn site_prefixes(
        &self,
        network: &str,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let start = format!("{network}/");
        let rows = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, (String, String)>(SITE_PREFIXES)
                .bind(&start)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| {
            self.storage
                .error("read the prefixes of a network's sites", e)
        })?;
        let mut prefixes: Vec<(String, String)> = Vec::new();
        for (owner, prefix) in rows {
            let Some(router) = owner.strip_prefix(&start) else {
                continue;
            };
            if prefixes.last().is_none_or(|(last, _)| last != router) {
                prefixes.push((router.to_owned(), prefix));
            }
        }
        Ok(prefixes)
    }
}
