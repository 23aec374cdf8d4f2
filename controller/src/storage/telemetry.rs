//! Link telemetry samples from the router agents: batch insert, windows per interface, retention.
//! The reports they come from (stored once each, the latest kept whole) are in
//! `telemetry_reports.rs`.

use chrono::{DateTime, Utc};

use super::database::{DbPool, Storage};
use super::db_time;
use super::error::StorageError;
use govcloud_core::network::counters::Sample;

/// One interface reading. Counters are the kernel's 64-bit counters, stored signed (they stay
/// below 2^63 for centuries of traffic).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TelemetrySample {
    pub router: String,
    pub interface: String,
    pub at: DateTime<Utc>,
    pub rx_bytes: i64,
    pub tx_bytes: i64,
    pub rx_errors: i64,
    pub tx_errors: i64,
    pub oper_up: bool,
    pub speed_mbps: Option<i64>,
}

impl From<&TelemetrySample> for Sample {
    /// Counters are stored as signed 64-bit integers: the bits are read back as the unsigned
    /// counter they were (a value past 2^63 stored by wrapping comes back as itself); a speed
    /// outside `u32` is no known speed.
    fn from(sample: &TelemetrySample) -> Self {
        Self {
            at: sample.at,
            rx_bytes: sample.rx_bytes.cast_unsigned(),
            tx_bytes: sample.tx_bytes.cast_unsigned(),
            errors: sample
                .rx_errors
                .cast_unsigned()
                .saturating_add(sample.tx_errors.cast_unsigned()),
            oper_up: sample.oper_up,
            speed_mbps: sample.speed_mbps.and_then(|s| u32::try_from(s).ok()),
        }
    }
}

pub(super) const INSERT: &str = "INSERT INTO telemetry_samples \
    (router, interface, at, rx_bytes, tx_bytes, rx_errors, tx_errors, oper_up, speed_mbps) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const WINDOW: &str = "SELECT router, interface, at, rx_bytes, tx_bytes, rx_errors, tx_errors, \
    oper_up, speed_mbps FROM telemetry_samples \
    WHERE router = $1 AND interface = $2 AND at >= $3 AND at < $4 ORDER BY at, id";
const PRUNE: &str = "DELETE FROM telemetry_samples WHERE at < $1";
const PRUNE_REPORTS: &str = "DELETE FROM telemetry_reports WHERE observed_at < $1";

/// Inserts every sample of `$samples` in one transaction begun by `$begin`.
macro_rules! insert_all {
    ($begin:expr, $samples:expr) => {
        async {
            let mut tx = $begin.await?;
            for sample in $samples {
                sqlx::query(INSERT)
                    .bind(&sample.router)
                    .bind(&sample.interface)
                    .bind(db_time(sample.at))
                    .bind(sample.rx_bytes)
                    .bind(sample.tx_bytes)
                    .bind(sample.rx_errors)
                    .bind(sample.tx_errors)
                    .bind(sample.oper_up)
                    .bind(sample.speed_mbps)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await
    };
}

/// The `telemetry_samples` repository.
#[derive(Debug, Clone, Copy)]
pub struct Telemetry<'a> {
    pub(super) storage: &'a Storage,
}

impl Storage {
    /// The telemetry repository.
    pub fn telemetry(&self) -> Telemetry<'_> {
        Telemetry { storage: self }
    }
}

impl Telemetry<'_> {
    /// Stores a batch of samples atomically (all or none).
    pub async fn insert_batch(&self, samples: &[TelemetrySample]) -> Result<(), StorageError> {
        if samples.is_empty() {
            return Ok(());
        }
        match self.storage.pool() {
            DbPool::Sqlite(pool) => insert_all!(pool.begin_with("BEGIN IMMEDIATE"), samples),
            DbPool::Postgres(pool) => insert_all!(pool.begin(), samples),
        }
        .map_err(|e| self.storage.error("insert telemetry samples", e))
    }

    /// The samples of one interface with `from <= at < to`, oldest first.
    pub async fn window(
        &self,
        router: &str,
        interface: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TelemetrySample>, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, TelemetrySample>(WINDOW)
                .bind(router)
                .bind(interface)
                .bind(db_time(from))
                .bind(db_time(to))
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error("query telemetry window", e))
    }

    /// Deletes every sample older than `cutoff` (retention), and the records of the reports
    /// observed before it (the latest report of each router stays); returns how many samples
    /// were deleted.
    pub async fn delete_older_than(&self, cutoff: DateTime<Utc>) -> Result<u64, StorageError> {
        let deleted = on_pool!(self.storage, |pool| {
            sqlx::query(PRUNE)
                .bind(db_time(cutoff))
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|e| self.storage.error("delete old telemetry samples", e))?;
        on_pool!(self.storage, |pool| {
            sqlx::query(PRUNE_REPORTS)
                .bind(db_time(cutoff))
                .execute(pool)
                .await
                .map(drop)
        })
        .map_err(|e| self.storage.error("delete old telemetry reports", e))?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod sample_tests {
    use chrono::TimeDelta;
    use govcloud_core::network::counters::Sample;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).expect("time")
    }

    #[test]
    fn samples_convert_from_storage_bit_for_bit() {
        let stored = TelemetrySample {
            router: "r".into(),
            interface: "eth0".into(),
            at: at(0) + TimeDelta::milliseconds(1),
            rx_bytes: -1,
            tx_bytes: 7,
            rx_errors: 1,
            tx_errors: 2,
            oper_up: false,
            speed_mbps: Some(-5),
        };
        let sample = Sample::from(&stored);
        assert_eq!(sample.rx_bytes, u64::MAX);
        assert_eq!((sample.tx_bytes, sample.errors), (7, 3));
        assert_eq!(sample.speed_mbps, None);
    }
}
