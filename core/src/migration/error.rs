//! Why a campaign or one of its systems cannot be planned. Every message names the field (and
//! the system) to fix; [`PlanError::category`] is the bounded reason for conditions, events and
//! metric labels.

/// Why the plan's spec cannot be planned. Permanent: only a change of the spec fixes it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A window's cron expression does not parse.
    #[error("spec.maintenanceWindows[{index}].schedule: cannot parse \"{schedule}\": {message}")]
    InvalidSchedule {
        index: usize,
        schedule: String,
        message: String,
    },
    /// A window's duration is not Go notation.
    #[error("spec.maintenanceWindows[{index}].duration: {source}")]
    InvalidDuration {
        index: usize,
        #[source]
        source: govcloud_crds::common::InvalidDuration,
    },
    /// A window that lasts no time at all, or longer than a year.
    #[error(
        "spec.maintenanceWindows[{index}].duration: \"{duration}\" must be more than zero and at most 8760h"
    )]
    DurationOutOfRange { index: usize, duration: String },
    /// A window that admits no system.
    #[error("spec.maintenanceWindows[{index}].concurrency: must be at least 1")]
    ZeroConcurrency { index: usize },
    /// The time zone is not an IANA name.
    #[error("spec.timeZone: \"{value}\" is not an IANA time zone (e.g. Asia/Shanghai)")]
    InvalidTimeZone { value: String },
    /// A date that is not `YYYY-MM-DD`.
    #[error("{field}: \"{value}\" is not a date (YYYY-MM-DD)")]
    InvalidDate { field: String, value: String },
    /// A freeze whose end precedes its start.
    #[error("spec.freezes[{index}]: the freeze ends ({to}) before it starts ({from})")]
    FreezeEndsBeforeStart {
        index: usize,
        from: String,
        to: String,
    },
    /// Two systems with the same `namespace/name`.
    #[error("system {system} is listed twice")]
    DuplicateSystem { system: String },
}

impl PlanError {
    /// Static category: condition reason, event reason and metric label.
    pub fn category(&self) -> &'static str {
        match self {
            Self::InvalidSchedule { .. } => "InvalidSchedule",
            Self::InvalidDuration { .. } | Self::DurationOutOfRange { .. } => "InvalidDuration",
            Self::ZeroConcurrency { .. } => "InvalidConcurrency",
            Self::InvalidTimeZone { .. } => "InvalidTimeZone",
            Self::InvalidDate { .. } => "InvalidDate",
            Self::FreezeEndsBeforeStart { .. } => "InvalidFreeze",
            Self::DuplicateSystem { .. } => "DuplicateSystem",
        }
    }
}

/// Why one `SystemMigration` cannot enter the campaign. The reconciler reports it on that
/// system; the rest of the campaign is planned without it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SystemError {
    /// The system names itself as a dependency.
    #[error("system {system}: spec.dependsOn[{index}] names the system itself")]
    SelfDependency { system: String, index: usize },
    /// `notBefore` is not a date.
    #[error("system {system}: spec.notBefore: \"{value}\" is not a date (YYYY-MM-DD)")]
    InvalidNotBefore { system: String, value: String },
}

impl SystemError {
    /// Static category: condition reason, event reason and metric label.
    pub fn category(&self) -> &'static str {
        match self {
            Self::SelfDependency { .. } => "SelfDependency",
            Self::InvalidNotBefore { .. } => "InvalidDate",
        }
    }
}
