//! Quota review runs and the decision taken on each finding (accept, decline or defer).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use super::database::Storage;
use super::db_time;
use super::error::StorageError;

/// One run of a `QuotaReview`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRun {
    pub id: i64,
    /// The `QuotaReview` object's name.
    pub review: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The run's findings and totals, once finished.
    pub summary: Option<Value>,
}

/// What was decided about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Accept,
    Decline,
    Defer,
}

impl Decision {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Decline => "decline",
            Self::Defer => "defer",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Decision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Accept, Self::Decline, Self::Defer]
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown decision {s:?}"))
    }
}

/// A decision to record on a finding of run `run_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReviewDecision {
    pub run_id: i64,
    pub tenant: String,
    /// The resource the finding is about (e.g. `cpu`, `memory`, `storage`).
    pub resource: String,
    /// The finding's class (Idle, Underused, RightSized, Hot).
    pub classification: String,
    pub decision: Decision,
    pub reason: String,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

/// A stored decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDecision {
    pub id: i64,
    pub run_id: i64,
    pub tenant: String,
    pub resource: String,
    pub classification: String,
    pub decision: Decision,
    pub reason: String,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    review: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    summary: Option<Json<Value>>,
}

impl From<RunRow> for ReviewRun {
    fn from(row: RunRow) -> Self {
        Self {
            id: row.id,
            review: row.review,
            started_at: row.started_at,
            finished_at: row.finished_at,
            summary: row.summary.map(|Json(summary)| summary),
        }
    }
}

#[derive(sqlx::FromRow)]
struct DecisionRow {
    id: i64,
    run_id: i64,
    tenant: String,
    resource: String,
    classification: String,
    decision: String,
    reason: String,
    decided_by: String,
    decided_at: DateTime<Utc>,
}

macro_rules! run_columns {
    () => {
        "id, review, started_at, finished_at, summary"
    };
}

macro_rules! decision_columns {
    () => {
        "id, run_id, tenant, resource, classification, decision, reason, decided_by, decided_at"
    };
}

const INSERT_RUN: &str = concat!(
    "INSERT INTO review_runs (review, started_at) VALUES ($1, $2) RETURNING ",
    run_columns!()
);
const FINISH_RUN: &str = concat!(
    "UPDATE review_runs SET finished_at = $2, summary = $3 WHERE id = $1 RETURNING ",
    run_columns!()
);
const LIST_RUNS: &str = concat!(
    "SELECT ",
    run_columns!(),
    " FROM review_runs WHERE review = $1 ORDER BY id DESC LIMIT $2"
);
const INSERT_DECISION: &str = concat!(
    "INSERT INTO review_decisions (run_id, tenant, resource, classification, decision, reason, ",
    "decided_by, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
    decision_columns!()
);
const LIST_DECISIONS: &str = concat!(
    "SELECT ",
    decision_columns!(),
    " FROM review_decisions WHERE run_id = $1 ORDER BY id"
);

/// The `review_runs` and `review_decisions` repository.
#[derive(Debug, Clone, Copy)]
pub struct Reviews<'a> {
    storage: &'a Storage,
}

impl Storage {
    /// The quota review repository.
    pub fn reviews(&self) -> Reviews<'_> {
        Reviews { storage: self }
    }
}

impl Reviews<'_> {
    /// Records that a run of `review` started.
    pub async fn start_run(
        &self,
        review: &str,
        started_at: DateTime<Utc>,
    ) -> Result<ReviewRun, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, RunRow>(INSERT_RUN)
                .bind(review)
                .bind(db_time(started_at))
                .fetch_one(pool)
                .await
        })
        .map(ReviewRun::from)
        .map_err(|e| self.storage.error("insert review run", e))
    }

    /// Records that run `id` finished, with its summary; `not_found` for an unknown run.
    pub async fn finish_run(
        &self,
        id: i64,
        finished_at: DateTime<Utc>,
        summary: &Value,
    ) -> Result<ReviewRun, StorageError> {
        const OP: &str = "finish review run";
        let row = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, RunRow>(FINISH_RUN)
                .bind(id)
                .bind(db_time(finished_at))
                .bind(Json(summary))
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        row.map(ReviewRun::from)
            .ok_or_else(|| StorageError::NotFound {
                operation: OP,
                url: self.storage.redacted_url().to_owned(),
                what: format!("review run {id}"),
            })
    }

    /// The latest `limit` runs of `review`, newest first.
    pub async fn list_runs(
        &self,
        review: &str,
        limit: i64,
    ) -> Result<Vec<ReviewRun>, StorageError> {
        on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, RunRow>(LIST_RUNS)
                .bind(review)
                .bind(limit)
                .fetch_all(pool)
                .await
        })
        .map(|rows| rows.into_iter().map(ReviewRun::from).collect())
        .map_err(|e| self.storage.error("list review runs", e))
    }

    /// Records a decision; `not_found` if the run does not exist.
    pub async fn insert_decision(
        &self,
        new: &NewReviewDecision,
    ) -> Result<ReviewDecision, StorageError> {
        const OP: &str = "insert review decision";
        let row = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, DecisionRow>(INSERT_DECISION)
                .bind(new.run_id)
                .bind(&new.tenant)
                .bind(&new.resource)
                .bind(&new.classification)
                .bind(new.decision.as_str())
                .bind(&new.reason)
                .bind(&new.decided_by)
                .bind(db_time(new.decided_at))
                .fetch_one(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        self.decode(row, OP)
    }

    /// The decisions of run `run_id`, in the order they were taken.
    pub async fn list_decisions(&self, run_id: i64) -> Result<Vec<ReviewDecision>, StorageError> {
        const OP: &str = "list review decisions";
        let rows = on_pool!(self.storage, |pool| {
            sqlx::query_as::<_, DecisionRow>(LIST_DECISIONS)
                .bind(run_id)
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.storage.error(OP, e))?;
        rows.into_iter().map(|row| self.decode(row, OP)).collect()
    }

    fn decode(
        self,
        row: DecisionRow,
        operation: &'static str,
    ) -> Result<ReviewDecision, StorageError> {
        let decision = row
            .decision
            .parse()
            .map_err(|detail| StorageError::Corrupt {
                operation,
                url: self.storage.redacted_url().to_owned(),
                detail,
            })?;
        Ok(ReviewDecision {
            id: row.id,
            run_id: row.run_id,
            tenant: row.tenant,
            resource: row.resource,
            classification: row.classification,
            decision,
            reason: row.reason,
            decided_by: row.decided_by,
            decided_at: row.decided_at,
        })
    }
}
