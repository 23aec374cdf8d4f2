//! Maintenance windows: the cron schedules expanded, in the plan's time zone, into occurrences
//! from the first planning day on (freezes skipped), and the systems fitted into them wave by
//! wave.
//!
//! Rules of the fit, in wave order (then input order within a wave):
//! - an occurrence holds at most its window's `concurrency` systems;
//! - a system's occurrence opens no earlier than the close of each dependency's occurrence, so
//!   it is strictly later than all of them;
//! - it opens no earlier than the system's `notBefore` (midnight in the plan's time zone);
//! - each system takes the occurrence that satisfies these and closes first.
//!
//! Occurrences after the deadline are used too, so that the projection says how late the
//! campaign is. The expansion is bounded: it stops [`HORIZON_YEARS`] years after the later of
//! the deadline and the first planning day, or after [`MAX_OCCURRENCES`] occurrences (shared
//! equally among the windows), whichever comes first; a system that fits in no occurrence by
//! then is blocked with `NoWindowBeforeDeadline`, and so are its dependents. (The CRD's reason
//! is named for the deadline; here it means "none within the horizon": systems placed after
//! the deadline are not blocked, they make the campaign late.)
//!
//! An occurrence is skipped when any day it spans (in the plan's time zone) is in a freeze.
//! Schedules are POSIX cron read by `croner` (day of week 0–7, Sunday 0 or 7; five fields or
//! an `@daily`-style shorthand), in the IANA zone of `spec.timeZone` through `chrono-tz`, so
//! daylight-saving changes are honoured where a zone has them.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use croner::CronIterator;
use croner::Direction;

use super::input::CampaignSpec;

/// How far past the deadline the windows are expanded.
pub const HORIZON_YEARS: u32 = 5;
/// The most occurrences expanded (bounds memory for minutely schedules).
pub const MAX_OCCURRENCES: usize = 1_000_000;

/// One opening of a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// Index of the window in `spec.maintenanceWindows`.
    pub window: usize,
    /// When it opens.
    pub start: DateTime<Utc>,
    /// When it closes.
    pub end: DateTime<Utc>,
    /// How many systems it may hold.
    pub capacity: u32,
    /// How many it holds.
    pub used: u32,
}

/// Midnight at the start of `date` in `zone` (the first instant of the day, across a DST gap).
pub fn start_of_day(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    match zone.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.with_timezone(&Utc)
        }
        // A DST gap at midnight: the day starts at the gap's end, within an hour or two.
        chrono::LocalResult::None => zone
            .from_local_datetime(&(midnight + TimeDelta::hours(2)))
            .earliest()
            .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc)),
    }
}

/// Whether any day that `[start, end)` spans, in the plan's time zone, is in a freeze.
fn frozen(spec: &CampaignSpec, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    if spec.freezes.is_empty() {
        return false;
    }
    let zone = spec.time_zone;
    let first = start.with_timezone(&zone).date_naive();
    // The last day touched: the day of the last instant before the close.
    let last = (end - TimeDelta::seconds(1))
        .with_timezone(&zone)
        .date_naive()
        .max(first);
    spec.freezes
        .iter()
        .any(|&(from, to)| first <= to && last >= from)
}

/// The occurrences of one window, expanded lazily in order, with the free ones found in
/// near-constant time (a union-find that skips full occurrences). Within one window, later
/// openings also close later, so the first free occurrence is the earliest to close.
#[derive(Debug)]
struct Lane {
    window: usize,
    schedule: CronIterator<Tz>,
    duration: TimeDelta,
    capacity: u32,
    occurrences: Vec<Occurrence>,
    /// For each occurrence, a later (or the same) occurrence that may be free.
    next_free: Vec<usize>,
    exhausted: bool,
    /// Occurrences closing at or before this instant are over.
    closes_after: DateTime<Utc>,
}

impl Lane {
    /// Expands the next occurrence; `false` once the horizon or the bound is reached.
    fn expand_one(&mut self, spec: &CampaignSpec, horizon: DateTime<Utc>, bound: usize) -> bool {
        while !self.exhausted {
            if self.occurrences.len() >= bound {
                self.exhausted = true;
                break;
            }
            let Some(start) = self
                .schedule
                .next()
                .map(|t| t.with_timezone(&Utc))
                .filter(|start| *start < horizon)
            else {
                self.exhausted = true;
                break;
            };
            let end = start + self.duration;
            if end <= self.closes_after || frozen(spec, start, end) {
                continue;
            }
            self.next_free.push(self.occurrences.len());
            self.occurrences.push(Occurrence {
                window: self.window,
                start,
                end,
                capacity: self.capacity,
                used: 0,
            });
            return true;
        }
        false
    }

    /// The first occurrence opening at or after `at` with room, if any within the horizon.
    fn first_free(
        &mut self,
        spec: &CampaignSpec,
        horizon: DateTime<Utc>,
        bound: usize,
        at: DateTime<Utc>,
    ) -> Option<usize> {
        while self.occurrences.last().is_none_or(|o| o.start < at) {
            if !self.expand_one(spec, horizon, bound) {
                break;
            }
        }
        let from = self.occurrences.partition_point(|o| o.start < at);
        let mut root = from;
        loop {
            while self.occurrences.len() <= root {
                if !self.expand_one(spec, horizon, bound) {
                    return None;
                }
            }
            let next = self.next_free[root];
            if next == root {
                break;
            }
            root = next;
        }
        let mut current = from;
        while current != root {
            let next = self.next_free[current];
            self.next_free[current] = root;
            current = next;
        }
        Some(root)
    }
}

/// The occurrences of the campaign's windows from the first planning day on.
#[derive(Debug)]
pub struct Calendar<'a> {
    spec: &'a CampaignSpec,
    lanes: Vec<Lane>,
    horizon: DateTime<Utc>,
    bound: usize,
}

impl<'a> Calendar<'a> {
    /// The windows of `spec` from `first_day` (inclusive) on, leaving out occurrences that
    /// closed by `now` (an occurrence open at `now` is kept).
    pub fn new(spec: &'a CampaignSpec, first_day: NaiveDate, now: DateTime<Utc>) -> Self {
        let zone = spec.time_zone;
        let from = start_of_day(zone, first_day).with_timezone(&zone);
        let lanes = spec
            .windows
            .iter()
            .enumerate()
            .map(|(window, w)| Lane {
                window,
                schedule: w.schedule.iter_from(from, Direction::Forward),
                duration: w.duration,
                capacity: w.concurrency,
                occurrences: Vec::new(),
                next_free: Vec::new(),
                exhausted: false,
                closes_after: now,
            })
            .collect();
        let last_day = spec.deadline.max(first_day);
        let horizon_day = last_day
            .checked_add_months(chrono::Months::new(12 * HORIZON_YEARS))
            .unwrap_or(last_day);
        Self {
            spec,
            lanes,
            horizon: start_of_day(zone, horizon_day),
            bound: MAX_OCCURRENCES / spec.windows.len().max(1),
        }
    }

    /// The occurrences expanded so far, window by window, each in order of opening.
    pub fn occurrences(&self) -> impl Iterator<Item = &Occurrence> {
        self.lanes.iter().flat_map(|lane| lane.occurrences.iter())
    }

    /// Places one system in the occurrence with room that opens at or after `at` and closes
    /// first (the first window listed on a tie); `None` when there is none within the
    /// horizon. Choosing by close rather than by opening keeps the projection monotone: a
    /// long window opening earlier never delays a system past a short one opening later.
    pub fn place(&mut self, at: DateTime<Utc>) -> Option<Occurrence> {
        let mut best: Option<(usize, usize, DateTime<Utc>)> = None;
        for (l, lane) in self.lanes.iter_mut().enumerate() {
            if let Some(i) = lane.first_free(self.spec, self.horizon, self.bound, at) {
                let end = lane.occurrences[i].end;
                if best.is_none_or(|(_, _, e)| end < e) {
                    best = Some((l, i, end));
                }
            }
        }
        let (l, i, _) = best?;
        let lane = &mut self.lanes[l];
        let occurrence = &mut lane.occurrences[i];
        occurrence.used += 1;
        if occurrence.used >= occurrence.capacity {
            lane.next_free[i] = i + 1;
        }
        Some(*occurrence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::input::CampaignSpec;
    use crate::migration::testing::{date, day, freeze, plan_spec, window};

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("an RFC 3339 instant")
    }

    fn weekly(concurrency: u32) -> CampaignSpec {
        CampaignSpec::from_spec(&plan_spec(
            "2026-12-31",
            vec![window("fri", "0 22 * * 5", "8h", concurrency)],
        ))
        .expect("valid")
    }

    #[test]
    fn expands_in_the_plan_time_zone_with_posix_weekdays() {
        let spec = weekly(2);
        let mut calendar = Calendar::new(&spec, date(2026, 1, 1), day(2026, 1, 1));
        // Friday 2 January 22:00 in Shanghai is 14:00 UTC.
        let first = calendar.place(utc("2026-01-01T00:00:00Z")).expect("a slot");
        assert_eq!(first.start, utc("2026-01-02T14:00:00Z"));
        assert_eq!(first.end, utc("2026-01-02T22:00:00Z"));
        let second = calendar.place(utc("2026-01-01T00:00:00Z")).expect("a slot");
        assert_eq!((second.start, second.used), (first.start, 2));
        // Full: the next one goes a week later.
        let third = calendar.place(utc("2026-01-01T00:00:00Z")).expect("a slot");
        assert_eq!(third.start, utc("2026-01-09T14:00:00Z"));
    }

    #[test]
    fn never_places_before_the_instant_asked() {
        let spec = weekly(5);
        let mut calendar = Calendar::new(&spec, date(2026, 1, 1), day(2026, 1, 1));
        let slot = calendar.place(utc("2026-01-02T22:00:00Z")).expect("a slot");
        assert_eq!(slot.start, utc("2026-01-09T14:00:00Z"));
    }

    #[test]
    fn skips_occurrences_on_freeze_dates() {
        let mut spec = plan_spec("2026-12-31", vec![window("fri", "0 22 * * 5", "8h", 1)]);
        // The window of Friday 9 January runs into Saturday 10 January, which is frozen.
        spec.freezes.push(freeze("2026-01-10", "2026-01-20"));
        let spec = CampaignSpec::from_spec(&spec).expect("valid");
        let mut calendar = Calendar::new(&spec, date(2026, 1, 1), day(2026, 1, 1));
        let starts: Vec<_> = (0..3)
            .map(|_| {
                calendar
                    .place(utc("2026-01-01T00:00:00Z"))
                    .expect("a slot")
                    .start
            })
            .collect();
        assert_eq!(
            starts,
            vec![
                utc("2026-01-02T14:00:00Z"),
                utc("2026-01-23T14:00:00Z"),
                utc("2026-01-30T14:00:00Z")
            ]
        );
    }

    #[test]
    fn merges_several_windows_in_order() {
        let spec = CampaignSpec::from_spec(&plan_spec(
            "2026-12-31",
            vec![
                window("fri", "0 22 * * 5", "8h", 1),
                window("tue", "0 1 * * 2", "2h", 1),
            ],
        ))
        .expect("valid");
        let mut calendar = Calendar::new(&spec, date(2026, 1, 1), day(2026, 1, 1));
        let windows: Vec<_> = (0..4)
            .filter_map(|_| calendar.place(utc("2026-01-01T00:00:00Z")))
            .map(|o| o.window)
            .collect();
        assert_eq!(windows, vec![0, 1, 0, 1]);
        assert!(calendar.occurrences().filter(|o| o.used == 1).count() == 4);
    }

    #[test]
    fn prefers_the_occurrence_that_closes_first() {
        let spec = CampaignSpec::from_spec(&plan_spec(
            "2026-12-31",
            vec![
                // Saturday 16:00 for ten hours opens first but closes at 02:00 on Sunday.
                window("long", "0 16 * * 6", "10h", 1),
                window("short", "0 0 * * 0", "1h", 1),
            ],
        ))
        .expect("valid");
        let mut calendar = Calendar::new(&spec, date(2026, 1, 1), day(2026, 1, 1));
        let first = calendar.place(utc("2026-01-01T00:00:00Z")).expect("a slot");
        assert_eq!((first.window, first.end), (1, utc("2026-01-03T17:00:00Z")));
    }

    #[test]
    fn stops_at_the_horizon() {
        let spec = weekly(1);
        let mut calendar = Calendar::new(&spec, date(2026, 1, 1), day(2026, 1, 1));
        let placed = (0..400)
            .filter(|_| calendar.place(utc("2026-01-01T00:00:00Z")).is_some())
            .count();
        // About six years of Fridays: 2026 and the five years after the deadline.
        assert!((300..320).contains(&placed), "{placed}");
        assert!(calendar.place(utc("2026-01-01T00:00:00Z")).is_none());
    }

    #[test]
    fn start_of_day_is_local_midnight() {
        assert_eq!(
            start_of_day(chrono_tz::Asia::Shanghai, date(2026, 3, 1)),
            utc("2026-02-28T16:00:00Z")
        );
    }
}
