//! Telemetry reports: each stored once, with its samples, in one transaction; and the latest
//! report of each router kept whole for the `Router` and `ExtranetLink` reconcilers (with what
//! the agent said of its desired configuration: applied generation, errors, drift, probes).
//!
//! A report is identified by `(router, sequence, observed_at)`: an agent replaying its spool
//! sends the same three again, and the second copy stores nothing; an agent whose state
//! directory was lost restarts its sequence at 1 with new observation times, and is stored.

use chrono::{DateTime, Utc};
use govcloud_crds::api::{ConfigReport, LinkObservation, RouteSummary, TelemetryReport};

use super::database::DbPool;
use super::db_time;
use super::error::StorageError;
use super::telemetry::{INSERT, Telemetry, TelemetrySample};

/// The latest report of a router (by observation time), as the agent sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestReport {
    pub router: String,
    pub sequence: i64,
    /// When the agent observed what the report holds.
    pub observed_at: DateTime<Utc>,
    /// When the controller stored it.
    pub received_at: DateTime<Utc>,
    pub agent_version: String,
    /// The agent's reporting interval (telemetry older than three intervals is stale).
    pub interval_seconds: u32,
    pub links: Vec<LinkObservation>,
    pub routes: Vec<RouteSummary>,
    /// Where the agent stood with its desired configuration (absent before it fetched one).
    pub config: Option<ConfigReport>,
}

#[derive(sqlx::FromRow)]
struct LatestRow {
    router: String,
    sequence: i64,
    observed_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    agent_version: String,
    interval_seconds: i32,
    links: String,
    routes: String,
    config: Option<String>,
}

const RECORD: &str = "INSERT INTO telemetry_reports (router, sequence, observed_at, received_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
const UPSERT_LATEST: &str = "INSERT INTO telemetry_latest (router, sequence, observed_at, \
     received_at, agent_version, interval_seconds, links, routes, config) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (router) DO UPDATE SET sequence = excluded.sequence, \
     observed_at = excluded.observed_at, received_at = excluded.received_at, \
     agent_version = excluded.agent_version, interval_seconds = excluded.interval_seconds, \
     links = excluded.links, routes = excluded.routes, config = excluded.config \
     WHERE telemetry_latest.observed_at <= excluded.observed_at";
/// The query of the latest reports, as a literal for `concat!`.
macro_rules! select_latest {
    () => {
        "SELECT router, sequence, observed_at, received_at, agent_version, interval_seconds, \
         links, routes, config FROM telemetry_latest"
    };
}

/// A router's newest report, as far as telling it from the one before goes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReportMark {
    /// The router that reported.
    pub router: String,
    /// The report's sequence number.
    pub sequence: i64,
    /// When the agent observed what it reported.
    pub observed_at: DateTime<Utc>,
}

/// The columns of one report, converted and checked before the transaction starts.
struct ReportRow<'a> {
    router: &'a str,
    sequence: i64,
    observed_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    agent_version: &'a str,
    interval_seconds: i32,
    links: String,
    routes: String,
    config: Option<String>,
}

/// Records `$row`, and unless it was recorded before, inserts `$samples` and updates the
/// router's latest report, in one transaction begun by `$begin`; evaluates to whether it stored.
macro_rules! store_in_tx {
    ($begin:expr, $row:expr, $samples:expr) => {
        async {
            let row: &ReportRow<'_> = $row;
            let mut tx = $begin.await?;
            let recorded = sqlx::query(RECORD)
                .bind(row.router)
                .bind(row.sequence)
                .bind(row.observed_at)
                .bind(row.received_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if recorded == 0 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
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
            sqlx::query(UPSERT_LATEST)
                .bind(row.router)
                .bind(row.sequence)
                .bind(row.observed_at)
                .bind(row.received_at)
                .bind(row.agent_version)
                .bind(row.interval_seconds)
                .bind(&row.links)
                .bind(&row.routes)
                .bind(&row.config)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }
        .await
    };
}

impl Telemetry<'_> {
    /// Stores `report`, received at `received_at`, with `samples` (its links as samples), all
    /// or nothing: returns `false` and stores nothing when the same report (router, sequence,
    /// observation time) was stored before. The router's latest report is replaced unless the
    /// one stored was observed later (a spooled report arriving after a fresh one).
    pub async fn store_report(
        &self,
        report: &TelemetryReport,
        received_at: DateTime<Utc>,
        samples: &[TelemetrySample],
    ) -> Result<bool, StorageError> {
        const OP: &str = "store a telemetry report";
        let invalid = |detail: String| StorageError::InvalidInput {
            operation: OP,
            detail,
        };
        let json = |value: serde_json::Result<String>| {
            value.map_err(|e| invalid(format!("not serializable: {e}")))
        };
        let row = ReportRow {
            router: &report.router,
            sequence: i64::try_from(report.sequence)
                .map_err(|_| invalid("sequence is above 2^63 - 1".to_owned()))?,
            observed_at: db_time(report.observed_at),
            received_at: db_time(received_at),
            agent_version: &report.agent_version,
            interval_seconds: i32::try_from(report.interval_seconds)
                .map_err(|_| invalid("intervalSeconds is above 2^31 - 1".to_owned()))?,
            links: json(serde_json::to_string(&report.links))?,
            routes: json(serde_json::to_string(&report.routes))?,
            config: report
                .config
                .as_ref()
                .map(|config| json(serde_json::to_string(config)))
                .transpose()?,
        };
        match self.storage.pool() {
            DbPool::Sqlite(pool) => store_in_tx!(pool.begin_with("BEGIN IMMEDIATE"), &row, samples),
            DbPool::Postgres(pool) => store_in_tx!(pool.begin(), &row, samples),
        }
        .map_err(|e| self.storage.error(OP, e))
    }

    /// The latest report of `router` by observation time, `None` if it never reported. What
    /// the reconcilers read for a router's status (agent version, last seen, interfaces) and
    /// for staleness (`observed_at` older than three `interval_seconds`).
    pub async fn latest_report(&self, router: &str) -> Result<Option<LatestReport>, StorageError> {
        const OP: &str = "read the latest telemetry report";
        const SQL: &str = concat!(select_latest!(), " WHERE router = $1");
        let row = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, LatestRow>(SQL)
                .bind(router)
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        row.map(|row| self.decode(row, OP)).transpose()
    }

    /// The latest report of every router that ever reported, by router name.
    pub async fn latest_reports(&self) -> Result<Vec<LatestReport>, StorageError> {
        const OP: &str = "read the latest telemetry reports";
        const SQL: &str = concat!(select_latest!(), " ORDER BY router");
        let rows = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, LatestRow>(SQL).fetch_all(pool).await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        rows.into_iter().map(|row| self.decode(row, OP)).collect()
    }

    /// Each router's newest report as a mark (sequence, observation time) that changes with
    /// every report stored: what the activity feed compares to tell which routers have news.
    pub async fn latest_marks(&self) -> Result<Vec<ReportMark>, StorageError> {
        const SQL: &str = "SELECT router, sequence, observed_at FROM telemetry_latest";
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, ReportMark>(SQL).fetch_all(pool).await
        })
        .map_err(|e| {
            self.storage
                .error("read the marks of the latest reports", e)
        })
    }

    /// The sequence numbers of `router`'s stored reports, in order: a gap is a report lost
    /// (or still spooled); an agent that lost its state directory starts again at 1.
    pub async fn report_sequences(&self, router: &str) -> Result<Vec<u64>, StorageError> {
        const SQL: &str = "SELECT sequence FROM telemetry_reports WHERE router = $1 ORDER BY observed_at, sequence";
        let rows: Vec<(i64,)> = on_pool!(self.storage, |pool| {
            sqlx::query_as(SQL).bind(router).fetch_all(pool).await
        })
        .map_err(|e| {
            self.storage
                .error("list the sequences of telemetry reports", e)
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(sequence,)| u64::try_from(sequence).ok())
            .collect())
    }

    fn decode(self, row: LatestRow, operation: &'static str) -> Result<LatestReport, StorageError> {
        let corrupt = |detail: String| StorageError::Corrupt {
            operation,
            url: self.storage.redacted_url().to_owned(),
            detail,
        };
        Ok(LatestReport {
            links: serde_json::from_str(&row.links)
                .map_err(|e| corrupt(format!("links of router {}: {e}", row.router)))?,
            routes: serde_json::from_str(&row.routes)
                .map_err(|e| corrupt(format!("routes of router {}: {e}", row.router)))?,
            config: row
                .config
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| {
                    corrupt(format!(
                        "configuration report of router {}: {e}",
                        row.router
                    ))
                })?,
            interval_seconds: u32::try_from(row.interval_seconds)
                .map_err(|_| corrupt(format!("interval of router {}", row.router)))?,
            router: row.router,
            sequence: row.sequence,
            observed_at: row.observed_at,
            received_at: row.received_at,
            agent_version: row.agent_version,
        })
    }
}
