//! The projection: when the last scheduled system's window closes, how that compares with the
//! deadline, and whether the campaign is on track.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// The campaign's projected completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Projection {
    /// The close of the last occurrence used; `None` when nothing is left to schedule.
    pub completion: Option<DateTime<Utc>>,
    /// Its date in the plan's time zone.
    pub completion_date: Option<NaiveDate>,
    /// Days from the deadline to the completion date; negative when early.
    pub days_late: Option<i64>,
    /// No system is blocked and the projection is not after the deadline.
    pub on_track: bool,
}

/// Projects from the closes of the occurrences used, the deadline and the number of blocked
/// systems.
pub fn project(
    closes: impl IntoIterator<Item = DateTime<Utc>>,
    deadline: NaiveDate,
    zone: Tz,
    blocked: usize,
) -> Projection {
    let completion = closes.into_iter().max();
    let completion_date = completion.map(|t| t.with_timezone(&zone).date_naive());
    let days_late = completion_date.map(|date| (date - deadline).num_days());
    Projection {
        completion,
        completion_date,
        days_late,
        on_track: blocked == 0 && days_late.is_none_or(|late| late <= 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::testing::date;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("an RFC 3339 instant")
    }

    #[test]
    fn early_is_negative_and_on_track() {
        let p = project(
            [at("2026-06-05T22:00:00Z"), at("2026-05-01T00:00:00Z")],
            date(2026, 6, 30),
            chrono_tz::Asia::Shanghai,
            0,
        );
        // 22:00 UTC on 5 June is 06:00 on 6 June in Shanghai.
        assert_eq!(p.completion_date, Some(date(2026, 6, 6)));
        assert_eq!(p.days_late, Some(-24));
        assert!(p.on_track);
    }

    #[test]
    fn late_or_blocked_is_off_track() {
        let late = project(
            [at("2026-07-02T00:00:00Z")],
            date(2026, 6, 30),
            chrono_tz::UTC,
            0,
        );
        assert_eq!(late.days_late, Some(2));
        assert!(!late.on_track);
        let blocked = project(std::iter::empty(), date(2026, 6, 30), chrono_tz::UTC, 1);
        assert_eq!(blocked.completion, None);
        assert!(!blocked.on_track);
        let done = project(std::iter::empty(), date(2026, 6, 30), chrono_tz::UTC, 0);
        assert!(done.on_track);
    }
}
