//! The planner's inputs: the plan's spec parsed and checked once ([`CampaignSpec`]), and each
//! selected system reduced to what planning needs ([`SystemInput`]).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use govcloud_crds::common::{Classification, IsoDate};
use govcloud_crds::migration::plan::{BlockerReason, MigrationPlanSpec};
use govcloud_crds::migration::system::{MigrationPhase, SystemMigrationSpec};

use super::error::{PlanError, SystemError};

/// The longest window accepted (a year).
const MAX_WINDOW: TimeDelta = TimeDelta::hours(8760);

/// One selected system, as the planner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemInput {
    /// `namespace/name`.
    pub key: String,
    /// The tenant owning the namespace (the namespace itself when no tenant claims it).
    pub tenant: String,
    /// Classified systems are never scheduled; depending on one blocks a system.
    pub classification: Classification,
    /// Where the system stands; `Completed` systems are done and take no window.
    pub phase: MigrationPhase,
    /// Dependencies as `namespace/name` keys.
    pub depends_on: Vec<String>,
    /// The earliest day the system may be migrated.
    pub not_before: Option<NaiveDate>,
    /// What the system waits for, if anything (see [`Hold`]).
    pub hold: Option<Hold>,
    /// For a system migrating now: when its dependents may start (the close of its window, or
    /// now if that has passed). It takes no window of its own.
    pub busy_until: Option<DateTime<Utc>>,
}

/// What a selected system waits for before it can migrate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Waits for something that comes in the normal course of the campaign (operations'
    /// approval, quota): the system is still placed in a window, so the projection counts it,
    /// and it is listed under `reason` among the blockers.
    Soft(BlockerReason),
    /// Cannot proceed until operations act (its migration failed or was refused): it takes no
    /// window, its dependents are blocked, and the campaign is off track.
    Hard(BlockerReason),
}

impl SystemInput {
    /// Resolves a `SystemMigration` in `namespace` called `name`: dependencies without a
    /// namespace are in `namespace`; a self-dependency and a malformed `notBefore` are refused.
    pub fn from_spec(
        namespace: &str,
        name: &str,
        tenant: &str,
        spec: &SystemMigrationSpec,
        phase: MigrationPhase,
    ) -> Result<Self, SystemError> {
        let key = format!("{namespace}/{name}");
        let mut depends_on = Vec::with_capacity(spec.depends_on.len());
        for (index, reference) in spec.depends_on.iter().enumerate() {
            let dependency = format!(
                "{}/{}",
                reference.namespace.as_deref().unwrap_or(namespace),
                reference.name
            );
            if dependency == key {
                return Err(SystemError::SelfDependency { system: key, index });
            }
            depends_on.push(dependency);
        }
        let not_before = match &spec.not_before {
            None => None,
            Some(date) => Some(
                parse_date(date).ok_or_else(|| SystemError::InvalidNotBefore {
                    system: key.clone(),
                    value: date.to_string(),
                })?,
            ),
        };
        Ok(Self {
            key,
            tenant: tenant.to_owned(),
            classification: spec.classification,
            phase,
            depends_on,
            not_before,
            hold: None,
            busy_until: None,
        })
    }

    /// Whether the system is already migrated.
    pub fn is_completed(&self) -> bool {
        self.phase == MigrationPhase::Completed
    }

    /// Whether the system is classified and so never migrates.
    pub fn is_classified(&self) -> bool {
        self.classification == Classification::Classified
    }
}

/// One maintenance window, parsed.
#[derive(Clone, Debug)]
pub struct WindowSpec {
    /// Its name.
    pub name: String,
    /// When it opens (five-field POSIX cron: day of week 0–7 with Sunday 0 or 7).
    pub schedule: Cron,
    /// How long it stays open.
    pub duration: TimeDelta,
    /// How many systems one occurrence holds.
    pub concurrency: u32,
}

/// The plan's spec, parsed and checked.
#[derive(Clone, Debug)]
pub struct CampaignSpec {
    /// Date by which every system must be migrated.
    pub deadline: NaiveDate,
    /// First day systems may be migrated; today when absent.
    pub start: Option<NaiveDate>,
    /// Time zone of the windows and dates.
    pub time_zone: Tz,
    /// The windows.
    pub windows: Vec<WindowSpec>,
    /// Freezes, first and last day (inclusive).
    pub freezes: Vec<(NaiveDate, NaiveDate)>,
}

/// A `YYYY-MM-DD` date.
pub fn parse_date(date: &IsoDate) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(date.as_str(), "%Y-%m-%d").ok()
}

fn date_field(field: String, date: &IsoDate) -> Result<NaiveDate, PlanError> {
    parse_date(date).ok_or_else(|| PlanError::InvalidDate {
        field,
        value: date.to_string(),
    })
}

/// Parses a five-field cron expression (or an `@daily`-style shorthand), as the schema admits.
pub fn parse_schedule(expression: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expression.trim())
        .map_err(|error| error.to_string())
}

impl CampaignSpec {
    /// Parses and checks the plan's spec; the first error names its field.
    pub fn from_spec(spec: &MigrationPlanSpec) -> Result<Self, PlanError> {
        let time_zone: Tz = spec
            .time_zone
            .parse()
            .map_err(|_| PlanError::InvalidTimeZone {
                value: spec.time_zone.clone(),
            })?;
        let deadline = date_field("spec.deadline".to_owned(), &spec.deadline)?;
        let start = spec
            .start
            .as_ref()
            .map(|date| date_field("spec.start".to_owned(), date))
            .transpose()?;
        let mut windows = Vec::with_capacity(spec.maintenance_windows.len());
        for (index, window) in spec.maintenance_windows.iter().enumerate() {
            let schedule = parse_schedule(window.schedule.as_str()).map_err(|message| {
                PlanError::InvalidSchedule {
                    index,
                    schedule: window.schedule.to_string(),
                    message,
                }
            })?;
            let duration = window
                .duration
                .to_std()
                .map_err(|source| PlanError::InvalidDuration { index, source })?;
            let duration = TimeDelta::from_std(duration)
                .ok()
                .filter(|d| *d > TimeDelta::zero() && *d <= MAX_WINDOW)
                .ok_or_else(|| PlanError::DurationOutOfRange {
                    index,
                    duration: window.duration.to_string(),
                })?;
            if window.concurrency == 0 {
                return Err(PlanError::ZeroConcurrency { index });
            }
            windows.push(WindowSpec {
                name: window.name.clone(),
                schedule,
                duration,
                concurrency: window.concurrency,
            });
        }
        let mut freezes = Vec::with_capacity(spec.freezes.len());
        for (index, freeze) in spec.freezes.iter().enumerate() {
            let from = date_field(format!("spec.freezes[{index}].from"), &freeze.from)?;
            let to = date_field(format!("spec.freezes[{index}].to"), &freeze.to)?;
            if to < from {
                return Err(PlanError::FreezeEndsBeforeStart {
                    index,
                    from: freeze.from.to_string(),
                    to: freeze.to.to_string(),
                });
            }
            freezes.push((from, to));
        }
        Ok(Self {
            deadline,
            start,
            time_zone,
            windows,
            freezes,
        })
    }
}

#[cfg(test)]
mod tests {
    use govcloud_crds::migration::system::SystemReference;

    use super::*;
    use crate::migration::testing::{date, freeze, plan_spec, window};

    fn spec_error(spec: &MigrationPlanSpec) -> String {
        CampaignSpec::from_spec(spec)
            .expect_err("the spec is invalid")
            .to_string()
    }

    #[test]
    fn parses_a_valid_spec() {
        let mut spec = plan_spec("2026-12-31", vec![window("fri", "0 22 * * 5", "8h", 3)]);
        spec.freezes.push(freeze("2026-02-10", "2026-02-20"));
        let parsed = CampaignSpec::from_spec(&spec).expect("valid");
        assert_eq!(parsed.deadline, date(2026, 12, 31));
        assert_eq!(parsed.start, Some(date(2026, 1, 1)));
        assert_eq!(parsed.time_zone, chrono_tz::Asia::Shanghai);
        assert_eq!(parsed.windows[0].duration, TimeDelta::hours(8));
        assert_eq!(parsed.freezes, vec![(date(2026, 2, 10), date(2026, 2, 20))]);
    }

    #[test]
    fn names_the_window_of_an_unparseable_cron() {
        let spec = plan_spec(
            "2026-12-31",
            vec![
                window("ok", "0 22 * * 5", "8h", 3),
                window("bad", "0 25 * * 5", "8h", 3),
            ],
        );
        let message = spec_error(&spec);
        assert!(
            message.starts_with("spec.maintenanceWindows[1].schedule: cannot parse \"0 25 * * 5\""),
            "{message}"
        );
        let six_fields = plan_spec("2026-12-31", vec![window("s", "0 0 22 * * 5", "8h", 3)]);
        assert!(spec_error(&six_fields).contains("maintenanceWindows[0].schedule"));
    }

    #[test]
    fn names_the_window_of_an_unparseable_duration() {
        let spec = plan_spec("2026-12-31", vec![window("w", "0 22 * * 5", "8 hours", 3)]);
        let message = spec_error(&spec);
        assert!(
            message.starts_with("spec.maintenanceWindows[0].duration: failed to parse duration"),
            "{message}"
        );
        let zero = plan_spec("2026-12-31", vec![window("w", "0 22 * * 5", "0s", 3)]);
        assert!(spec_error(&zero).contains("must be more than zero"));
    }

    #[test]
    fn refuses_a_freeze_ending_before_it_starts() {
        let mut spec = plan_spec("2026-12-31", vec![window("w", "0 22 * * 5", "8h", 3)]);
        spec.freezes.push(freeze("2026-03-01", "2026-02-01"));
        assert_eq!(
            spec_error(&spec),
            "spec.freezes[0]: the freeze ends (2026-02-01) before it starts (2026-03-01)"
        );
    }

    #[test]
    fn refuses_bad_time_zone_dates_and_concurrency() {
        let mut spec = plan_spec("2026-12-31", vec![window("w", "0 22 * * 5", "8h", 3)]);
        spec.time_zone = "Mars/Olympus".to_owned();
        assert!(spec_error(&spec).starts_with("spec.timeZone:"));
        let mut spec = plan_spec("2026-02-30", vec![window("w", "0 22 * * 5", "8h", 3)]);
        assert!(spec_error(&spec).starts_with("spec.deadline: \"2026-02-30\""));
        spec.deadline = IsoDate::from("2026-12-31");
        spec.maintenance_windows[0].concurrency = 0;
        assert!(spec_error(&spec).starts_with("spec.maintenanceWindows[0].concurrency"));
    }

    fn system_spec(deps: &[SystemReference]) -> SystemMigrationSpec {
        serde_json::from_value(serde_json::json!({
            "displayName": "公共资源交易平台",
            "classification": "Unclassified",
            "source": {"site": "机房", "platform": "VirtualMachine", "hosts": 2},
            "resources": {"cpu": "2", "memory": "4Gi"},
            "dependsOn": deps,
            "steps": [{"name": "copy", "run": {"type": "Manual", "manual": {"instructions": "copy"}}}],
            "notBefore": "2026-03-01"
        }))
        .expect("a valid system spec")
    }

    #[test]
    fn resolves_dependencies_in_the_default_namespace() {
        let spec = system_spec(&[
            SystemReference {
                name: "db".to_owned(),
                namespace: None,
            },
            SystemReference {
                name: "auth".to_owned(),
                namespace: Some("shared".to_owned()),
            },
        ]);
        let system = SystemInput::from_spec(
            "finance",
            "portal",
            "finance-bureau",
            &spec,
            MigrationPhase::Approved,
        )
        .expect("valid");
        assert_eq!(system.key, "finance/portal");
        assert_eq!(system.tenant, "finance-bureau");
        assert_eq!(system.depends_on, vec!["finance/db", "shared/auth"]);
        assert_eq!(system.not_before, Some(date(2026, 3, 1)));
    }

    #[test]
    fn refuses_a_self_dependency_naming_the_system() {
        let spec = system_spec(&[
            SystemReference {
                name: "db".to_owned(),
                namespace: None,
            },
            SystemReference {
                name: "portal".to_owned(),
                namespace: Some("finance".to_owned()),
            },
        ]);
        let error = SystemInput::from_spec(
            "finance",
            "portal",
            "finance",
            &spec,
            MigrationPhase::Pending,
        )
        .expect_err("self-dependency");
        assert_eq!(
            error.to_string(),
            "system finance/portal: spec.dependsOn[1] names the system itself"
        );
        assert_eq!(error.category(), "SelfDependency");
    }

    #[test]
    fn refuses_a_malformed_not_before() {
        let mut spec = system_spec(&[]);
        spec.not_before = Some(IsoDate::from("2026-13-01"));
        let error = SystemInput::from_spec("a", "b", "a", &spec, MigrationPhase::Pending)
            .expect_err("bad date");
        assert!(error.to_string().contains("spec.notBefore"), "{error}");
    }
}
