//! Storage: what does not belong in etcd, in SQLite (default) or PostgreSQL (HA), behind one handle.
//!
//! [`Storage::open`] picks the backend from the URL and applies that backend's versioned
//! migrations. Every repository method is written once with runtime-checked queries and run on
//! the concrete pool of either backend (see `docs/adr/0003-storage-two-backends.md`). Timestamps
//! are kept at microsecond precision (PostgreSQL's), so both backends return what was stored.

/// Runs `$body` with `$pool` bound to the concrete pool of either backend; the body is
/// type-checked once per backend, so both arms must produce the same type.
macro_rules! on_pool {
    ($storage:expr, |$pool:ident| $body:expr) => {
        match $storage.pool() {
            $crate::storage::DbPool::Sqlite($pool) => $body,
            $crate::storage::DbPool::Postgres($pool) => $body,
        }
    };
}

mod audit;
pub mod audit_chain;
mod database;
mod error;
mod ipam;
mod migrate;
mod reservations;
mod router_certificates;
mod router_configs;
mod segments;
mod telemetry;
mod telemetry_reports;
mod tokens;
mod url;

pub use audit::{AuditLog, NewAuditRecord};
pub use audit_chain::{AuditRecord, ChainBreak, ChainStatus, ChainVerifier, GENESIS_HASH};
pub use database::{DbPool, Storage};
pub use error::StorageError;
pub use ipam::{Ipam, IpamAllocation, NewIpamAllocation};
pub use reservations::{
    NewReservation, Reservation, Reservations, ReserveOutcome, ReservedAmounts,
};
pub use router_certificates::{
    KeyOrigin, NewRouterCertificate, RouterCertificate, RouterCertificates, is_serial,
};
pub use router_configs::{Recorded, RouterConfigs, StoredRouterConfig};
pub use segments::Segments;
pub use telemetry::{Telemetry, TelemetrySample};
pub use telemetry_reports::{LatestReport, ReportMark};
pub use tokens::{ApiToken, NewApiToken, Role, Tokens, hash_token_secret};
pub use url::{Backend, redacted_url};

use chrono::{DateTime, SubsecRound, Utc};

/// The precision both backends store (PostgreSQL's `timestamptz` keeps microseconds).
pub(crate) fn db_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}
