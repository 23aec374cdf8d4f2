//! Evidence kept from disaster-recovery drills (restore results, timings, checks).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use super::database::Storage;
use super::db_time;
use super::error::StorageError;

/// Evidence to record for the drill `namespace/drill`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDrillEvidence {
    pub namespace: String,
    pub drill: String,
    pub recorded_at: DateTime<Utc>,
    /// What the payload shows (e.g. `restore`, `verification`, `rto`).
    pub kind: String,
    pub payload: Value,
}

/// Stored evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillEvidence {
    pub id: i64,
    pub namespace: String,
    pub drill: String,
    pub recorded_at: DateTime<Utc>,
    pub kind: String,
    pub payload: Value,
}

#[derive(sqlx::FromRow)]
struct EvidenceRow {
    id: i64,
    namespace: String,
    drill: String,
    recorded_at: DateTime<Utc>,
    kind: String,
    payload: Json<Value>,
}

impl From<EvidenceRow> for DrillEvidence {
    fn from(row: EvidenceRow) -> Self {
        Self {
            id: row.id,
            namespace: row.namespace,
            drill: row.drill,
            recorded_at: row.recorded_at,
            kind: row.kind,
            payload: row.payload.0,
        }
    }
}

const INSERT: &str = "INSERT INTO drill_evidence (namespace, drill, recorded_at, kind, payload) \
    VALUES ($1, $2, $3, $4, $5) RETURNING id, namespace, drill, recorded_at, kind, payload";
const LIST: &str = "SELECT id, namespace, drill, recorded_at, kind, payload FROM drill_evidence \
    WHERE namespace = $1 AND drill = $2 ORDER BY id";

/// The `drill_evidence` repository.
#[derive(Debug, Clone, Copy)]
pub struct Drills<'a> {
    storage: &'a Storage,
}

impl Storage {
    /// The drill evidence repository.
    pub fn drills(&self) -> Drills<'_> {
        Drills { storage: self }
    }
}

impl Drills<'_> {
    /// Records a piece of evidence.
    pub async fn insert(&self, new: &NewDrillEvidence) -> Result<DrillEvidence, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, EvidenceRow>(INSERT)
                .bind(&new.namespace)
                .bind(&new.drill)
                .bind(db_time(new.recorded_at))
                .bind(&new.kind)
                .bind(Json(&new.payload))
                .fetch_one(pool)
                .await
        })
        .map(DrillEvidence::from)
        .map_err(|e| self.storage.error("insert drill evidence", e))
    }

    /// The evidence of drill `namespace/drill`, in the order it was recorded.
    pub async fn list(
        &self,
        namespace: &str,
        drill: &str,
    ) -> Result<Vec<DrillEvidence>, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, EvidenceRow>(LIST)
                .bind(namespace)
                .bind(drill)
                .fetch_all(pool)
                .await
        })
        .map(|rows| rows.into_iter().map(DrillEvidence::from).collect())
        .map_err(|e| self.storage.error("list drill evidence", e))
    }
}
