//! The migration campaign (`MigrationPlan`) as the API shows it: deadline and projection, waves
//! and their windows, blockers, counts per tenant, and — for the caller's own systems only —
//! each system's wave and window. Other tenants' systems appear only as counts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::migration::ConditionView;
#[cfg(feature = "openapi")]
use super::schemas::{BlockerReasonSchema, MigrationPhaseSchema};
use crate::migration::plan::BlockerReason;
use crate::migration::system::MigrationPhase;

/// One wave of the campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WaveView {
    /// Wave number, from 1.
    pub number: u32,
    /// Systems in the wave (all tenants).
    pub systems: u32,
    /// Of which migrated.
    pub completed: u32,
    /// Opening of the first window the wave uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_window: Option<DateTime<Utc>>,
    /// Closing of the last window the wave uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_window_end: Option<DateTime<Utc>>,
}

/// Systems blocked for one reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BlockerView {
    /// The reason.
    #[cfg_attr(feature = "openapi", schema(value_type = BlockerReasonSchema))]
    pub reason: BlockerReason,
    /// How many systems it blocks (all tenants).
    pub count: u32,
    /// Some of them, as `namespace/name`: only systems the caller may see.
    #[serde(default)]
    pub examples: Vec<String>,
}

/// Counts of one tenant's systems in the campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TenantCounts {
    /// The tenant.
    pub tenant: String,
    /// Its systems in the campaign.
    pub total: u32,
    /// Of which migrated.
    pub completed: u32,
    /// Of which blocked.
    pub blocked: u32,
}

/// A recurring maintenance window of the campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WindowView {
    /// Window name.
    pub name: String,
    /// When it opens (cron, in the campaign's time zone).
    pub schedule: String,
    /// How long it stays open (Go duration).
    pub duration: String,
    /// Systems per occurrence.
    pub concurrency: u32,
}

/// One of the caller's systems in the campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlannedSystem {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The tenant owning the namespace, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Name shown to people.
    pub display_name: String,
    /// Where its migration stands.
    #[cfg_attr(feature = "openapi", schema(value_type = MigrationPhaseSchema))]
    pub phase: MigrationPhase,
    /// Its wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<u32>,
    /// Start of its window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start: Option<DateTime<Utc>>,
    /// End of its window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end: Option<DateTime<Utc>>,
}

/// A migration campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MigrationPlanView {
    /// Name.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// Date by which every system must be migrated.
    pub deadline: String,
    /// First day systems may migrate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// IANA time zone of the windows and dates.
    pub time_zone: String,
    /// The recurring maintenance windows.
    #[serde(default)]
    pub windows: Vec<WindowView>,
    /// Projected date on which the last system completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projected_completion: Option<String>,
    /// Days between the projection and the deadline; negative when early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projected_days_late: Option<i64>,
    /// Whether the campaign is on track (its `OnTrack` condition), once the controller has said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_track: Option<bool>,
    /// Systems selected (all tenants).
    pub total_systems: u32,
    /// Systems migrated (all tenants).
    pub completed_systems: u32,
    /// Systems by phase (all tenants).
    #[serde(default)]
    pub systems_by_phase: BTreeMap<String, u32>,
    /// The waves, in order.
    #[serde(default)]
    pub waves: Vec<WaveView>,
    /// Blocked systems by reason.
    #[serde(default)]
    pub blockers: Vec<BlockerView>,
    /// Counts per tenant (never names of other tenants' systems).
    #[serde(default)]
    pub tenants: Vec<TenantCounts>,
    /// The conditions (`OnTrack`, `Blocked`).
    #[serde(default)]
    pub conditions: Vec<ConditionView>,
    /// The caller's own systems in the campaign, with wave and window (only when one campaign
    /// is asked for by name).
    #[serde(default)]
    pub systems: Vec<PlannedSystem>,
}
