//! The quota reservation ledger: what each scheduled system holds of its tenant's free quota.
//!
//! [`Reservations::reserve`] checks the tenant's other reservations against the capacity the
//! caller computed and inserts the row in one transaction — `BEGIN IMMEDIATE` on SQLite, a
//! per-tenant advisory lock on PostgreSQL — so two systems reconciled at the same moment can
//! never both claim the last of a tenant's headroom. Reserving again for the same system is a
//! no-op that returns the existing row.

use chrono::{DateTime, Utc};

use super::database::{DbPool, Storage};
use super::db_time;
use super::error::StorageError;

/// Amounts in thousandths of their unit (millicores; millibytes for memory and storage).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReservedAmounts {
    pub cpu_milli: i64,
    pub memory_milli: i64,
    pub storage_milli: i64,
}

impl ReservedAmounts {
    fn plus(self, other: Self) -> Self {
        Self {
            cpu_milli: self.cpu_milli.saturating_add(other.cpu_milli),
            memory_milli: self.memory_milli.saturating_add(other.memory_milli),
            storage_milli: self.storage_milli.saturating_add(other.storage_milli),
        }
    }

    /// `self − other`, per resource (may be negative when over-committed).
    #[must_use]
    pub fn minus(self, other: Self) -> Self {
        Self {
            cpu_milli: self.cpu_milli.saturating_sub(other.cpu_milli),
            memory_milli: self.memory_milli.saturating_sub(other.memory_milli),
            storage_milli: self.storage_milli.saturating_sub(other.storage_milli),
        }
    }

    /// Whether every resource of `self` is at most that of `capacity`.
    pub fn fits_in(self, capacity: Self) -> bool {
        self.cpu_milli <= capacity.cpu_milli
            && self.memory_milli <= capacity.memory_milli
            && self.storage_milli <= capacity.storage_milli
    }
}

/// A reservation to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReservation {
    /// The system, as `namespace/name`.
    pub system: String,
    /// Its UID: a system re-created under the same name does not inherit the old reservation.
    pub system_uid: String,
    /// The tenant whose quota it draws on.
    pub tenant: String,
    pub amounts: ReservedAmounts,
    pub reserved_at: DateTime<Utc>,
}

/// A ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub system: String,
    pub system_uid: String,
    pub tenant: String,
    pub amounts: ReservedAmounts,
    pub reserved_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    system: String,
    system_uid: String,
    tenant: String,
    cpu_milli: i64,
    memory_milli: i64,
    storage_milli: i64,
    reserved_at: DateTime<Utc>,
}

impl From<Row> for Reservation {
    fn from(row: Row) -> Self {
        Self {
            system: row.system,
            system_uid: row.system_uid,
            tenant: row.tenant,
            amounts: ReservedAmounts {
                cpu_milli: row.cpu_milli,
                memory_milli: row.memory_milli,
                storage_milli: row.storage_milli,
            },
            reserved_at: row.reserved_at,
        }
    }
}

/// What [`Reservations::reserve`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// The system holds this reservation (new, or already held).
    Reserved(Reservation),
    /// The tenant's capacity minus its other reservations cannot hold the request; `free` is
    /// what is left (per resource, possibly negative).
    Insufficient { free: ReservedAmounts },
}

const BY_SYSTEM: &str = "SELECT system, system_uid, tenant, cpu_milli, memory_milli, \
     storage_milli, reserved_at FROM quota_reservations WHERE system = $1";
// PostgreSQL sums BIGINTs as NUMERIC: cast back (an overflow is an error, never a wrap).
const OTHERS_OF_TENANT: &str = "SELECT CAST(COALESCE(SUM(cpu_milli), 0) AS BIGINT), \
     CAST(COALESCE(SUM(memory_milli), 0) AS BIGINT), \
     CAST(COALESCE(SUM(storage_milli), 0) AS BIGINT) \
     FROM quota_reservations WHERE tenant = $1 AND system <> $2";
const DELETE: &str = "DELETE FROM quota_reservations WHERE system = $1";
const INSERT: &str = "INSERT INTO quota_reservations (system, system_uid, tenant, cpu_milli, \
     memory_milli, storage_milli, reserved_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const BY_TENANT: &str = "SELECT system, system_uid, tenant, cpu_milli, memory_milli, \
     storage_milli, reserved_at FROM quota_reservations WHERE tenant = $1 ORDER BY system";
const PG_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('quota_reservations/' || $1))";

/// Checks the tenant's other reservations and records `$new` in one transaction begun by
/// `$begin`, after `$lock` (a statement that serialises reservations of one tenant, or none).
macro_rules! reserve_in_tx {
    ($begin:expr, $lock:expr, $new:expr, $capacity:expr) => {
        async {
            let new: &NewReservation = $new;
            let mut tx = $begin.await?;
            if let Some(lock) = $lock {
                sqlx::query(lock)
                    .bind(&new.tenant)
                    .execute(&mut *tx)
                    .await?;
            }
            let existing = sqlx::query_as::<_, Row>(BY_SYSTEM)
                .bind(&new.system)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = existing {
                if row.system_uid == new.system_uid && row.tenant == new.tenant {
                    return Ok(ReserveOutcome::Reserved(row.into()));
                }
                // A stale row of an earlier system of the same name.
                sqlx::query(DELETE)
                    .bind(&new.system)
                    .execute(&mut *tx)
                    .await?;
            }
            let (cpu, memory, storage): (i64, i64, i64) = sqlx::query_as(OTHERS_OF_TENANT)
                .bind(&new.tenant)
                .bind(&new.system)
                .fetch_one(&mut *tx)
                .await?;
            let others = ReservedAmounts {
                cpu_milli: cpu,
                memory_milli: memory,
                storage_milli: storage,
            };
            if !others.plus(new.amounts).fits_in($capacity) {
                return Ok(ReserveOutcome::Insufficient {
                    free: $capacity.minus(others),
                });
            }
            sqlx::query(INSERT)
                .bind(&new.system)
                .bind(&new.system_uid)
                .bind(&new.tenant)
                .bind(new.amounts.cpu_milli)
                .bind(new.amounts.memory_milli)
                .bind(new.amounts.storage_milli)
                .bind(new.reserved_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(ReserveOutcome::Reserved(Reservation {
                system: new.system.clone(),
                system_uid: new.system_uid.clone(),
                tenant: new.tenant.clone(),
                amounts: new.amounts,
                reserved_at: new.reserved_at,
            }))
        }
        .await
    };
}

/// The `quota_reservations` repository.
#[derive(Debug, Clone, Copy)]
pub struct Reservations<'a> {
    storage: &'a Storage,
}

impl Storage {
    /// The quota reservation ledger.
    pub fn reservations(&self) -> Reservations<'_> {
        Reservations { storage: self }
    }
}

impl Reservations<'_> {
    /// Reserves `new.amounts` for `new.system` if the tenant's `capacity` (its quota minus what
    /// is delegated and used) minus every other reservation of the tenant holds it.
    pub async fn reserve(
        &self,
        new: &NewReservation,
        capacity: ReservedAmounts,
    ) -> Result<ReserveOutcome, StorageError> {
        const OP: &str = "reserve quota";
        if new.amounts.cpu_milli < 0
            || new.amounts.memory_milli < 0
            || new.amounts.storage_milli < 0
        {
            return Err(StorageError::InvalidInput {
                operation: OP,
                detail: format!("a negative reservation for {}", new.system),
            });
        }
        let new = NewReservation {
            reserved_at: db_time(new.reserved_at),
            ..new.clone()
        };
        match self.storage.pool() {
            DbPool::Sqlite(pool) => reserve_in_tx!(
                pool.begin_with("BEGIN IMMEDIATE"),
                None::<&str>,
                &new,
                capacity
            ),
            DbPool::Postgres(pool) => reserve_in_tx!(pool.begin(), Some(PG_LOCK), &new, capacity),
        }
        .map_err(|e| self.storage.error(OP, e))
    }

    /// Releases the reservation of `system`; whether there was one.
    pub async fn release(&self, system: &str) -> Result<bool, StorageError> {
        let deleted = on_pool!(self.storage, |pool| {
            sqlx::query(DELETE)
                .bind(system)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|e| self.storage.error("release quota", e))?;
        Ok(deleted > 0)
    }

    /// The reservation of `system`, if any.
    pub async fn find(&self, system: &str) -> Result<Option<Reservation>, StorageError> {
        let row = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, Row>(BY_SYSTEM)
                .bind(system)
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.storage.error("find a quota reservation", e))?;
        Ok(row.map(Into::into))
    }

    /// Every reservation of `tenant`, by system.
    pub async fn list_by_tenant(&self, tenant: &str) -> Result<Vec<Reservation>, StorageError> {
        let rows = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, Row>(BY_TENANT)
                .bind(tenant)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error("list quota reservations", e))?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_fit_per_resource() {
        let capacity = ReservedAmounts {
            cpu_milli: 4000,
            memory_milli: 8,
            storage_milli: 0,
        };
        let small = ReservedAmounts {
            cpu_milli: 4000,
            memory_milli: 8,
            storage_milli: 0,
        };
        assert!(small.fits_in(capacity));
        let more_cpu = ReservedAmounts {
            cpu_milli: 4001,
            ..small
        };
        assert!(!more_cpu.fits_in(capacity));
        assert_eq!(capacity.minus(more_cpu).cpu_milli, -1);
    }
}
