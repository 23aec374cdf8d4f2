//! Builders shared by the planner's tests.

use chrono::{DateTime, NaiveDate, Utc};
use govcloud_crds::common::{Classification, CronSchedule, Duration, IsoDate};
use govcloud_crds::migration::plan::{Freeze, MaintenanceWindow, MigrationPlanSpec};
use govcloud_crds::migration::system::MigrationPhase;

use super::input::{CampaignSpec, SystemInput};

/// A date from literal parts.
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid test date")
}

/// Midnight of a date in Asia/Shanghai, the test plans' zone: "now" at the start of that day.
pub fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    super::windows::start_of_day(chrono_tz::Asia::Shanghai, date(y, m, d))
}

/// A pending unclassified system `ns/name` of tenant `ns` depending on `deps`.
pub fn system(key: &str, deps: &[&str]) -> SystemInput {
    let tenant = key.split('/').next().unwrap_or(key).to_owned();
    SystemInput {
        key: key.to_owned(),
        tenant,
        classification: Classification::Unclassified,
        phase: MigrationPhase::Pending,
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        not_before: None,
        hold: None,
        busy_until: None,
    }
}

/// A window.
pub fn window(name: &str, schedule: &str, duration: &str, concurrency: u32) -> MaintenanceWindow {
    MaintenanceWindow {
        name: name.to_owned(),
        schedule: CronSchedule::from(schedule),
        duration: Duration::from(duration),
        concurrency,
    }
}

/// A plan spec in Asia/Shanghai from 2026-01-01 (a Thursday) to `deadline`.
pub fn plan_spec(deadline: &str, windows: Vec<MaintenanceWindow>) -> MigrationPlanSpec {
    MigrationPlanSpec {
        display_name: "迁移上云".to_owned(),
        system_selector: None,
        deadline: IsoDate::from(deadline),
        start: Some(IsoDate::from("2026-01-01")),
        time_zone: "Asia/Shanghai".to_owned(),
        maintenance_windows: windows,
        freezes: Vec::new(),
    }
}

/// A freeze.
pub fn freeze(from: &str, to: &str) -> Freeze {
    Freeze {
        from: IsoDate::from(from),
        to: IsoDate::from(to),
        reason: None,
    }
}

/// The parsed spec of `plan_spec`.
pub fn campaign(deadline: &str, windows: Vec<MaintenanceWindow>) -> CampaignSpec {
    CampaignSpec::from_spec(&plan_spec(deadline, windows)).expect("a valid test spec")
}
