//! The controllers' one clock: every reconciler reads the time from the [`Clock`] in the shared
//! context — the system clock in production, a [`ManualClock`] (fixed, or stepped by the test)
//! in tests. [`Clock::now`] is to the second, as Kubernetes keeps times, in the views the
//! reconcilers need (chrono for arithmetic and storage, jiff and `metav1.Time` for statuses);
//! [`Clock::precise`] keeps the sub-second part, for records that had it (audit records,
//! ledger rows).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// A source of the current time, cheap to clone.
#[derive(Clone)]
pub struct Clock {
    source: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("now", &self.precise())
            .finish()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::from_fn(Utc::now)
    }

    /// A clock that always reads `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self::from_fn(move || at)
    }

    /// A clock reading `source`.
    pub fn from_fn(source: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Self {
            source: Arc::new(source),
        }
    }

    /// Now, with the sub-second part.
    pub fn precise(&self) -> DateTime<Utc> {
        (self.source)()
    }

    /// Now, to the second: what the API stores for condition and status times.
    pub fn now(&self) -> Now {
        Now::from_utc(self.precise())
    }
}

/// One reading of a [`Clock`], to the second, in each view the reconcilers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    utc: DateTime<Utc>,
    stamp: Timestamp,
}

impl Now {
    /// `at`, to the second.
    pub fn from_utc(at: DateTime<Utc>) -> Self {
        let second = at.timestamp();
        let utc = DateTime::from_timestamp(second, 0).unwrap_or(at);
        let stamp = Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH);
        Self { utc, stamp }
    }

    /// As chrono's time, for arithmetic and storage.
    pub fn utc(self) -> DateTime<Utc> {
        self.utc
    }

    /// As jiff's timestamp, for conditions.
    pub fn stamp(self) -> Timestamp {
        self.stamp
    }

    /// As `metav1.Time`, for status fields.
    pub fn time(self) -> Time {
        Time(self.stamp)
    }
}

/// A clock that a test sets and steps; [`ManualClock::clock`] gives the [`Clock`] to hand the
/// controllers.
#[derive(Clone, Debug)]
pub struct ManualClock {
    at: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock reading `start` until stepped.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            at: Arc::new(Mutex::new(start)),
        }
    }

    /// The clock to hand the controllers.
    pub fn clock(&self) -> Clock {
        let at = Arc::clone(&self.at);
        Clock::from_fn(move || *at.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Sets the time to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.at.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: TimeDelta) {
        let mut at = self.at.lock().unwrap_or_else(PoisonError::into_inner);
        *at = at.checked_add_signed(by).unwrap_or(*at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn now_is_to_the_second_in_every_view() {
        let clock = Clock::fixed(at("2025-03-01T08:30:15.750Z"));
        let now = clock.now();
        assert_eq!(now.utc(), at("2025-03-01T08:30:15Z"));
        assert_eq!(now.stamp().as_second(), now.utc().timestamp());
        assert_eq!(now.stamp().subsec_nanosecond(), 0);
        assert_eq!(now.time(), Time(now.stamp()));
        assert_eq!(clock.precise(), at("2025-03-01T08:30:15.750Z"));
    }

    #[test]
    fn a_manual_clock_is_set_and_stepped() {
        let manual = ManualClock::new(at("2025-03-01T08:00:00Z"));
        let clock = manual.clock();
        manual.advance(TimeDelta::minutes(90));
        assert_eq!(clock.now().utc(), at("2025-03-01T09:30:00Z"));
        manual.set(at("2026-01-01T00:00:00Z"));
        assert_eq!(clock.now().utc(), at("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn the_system_clock_moves() {
        let clock = Clock::system();
        let before = clock.precise();
        assert!(clock.precise() >= before);
        assert!((clock.now().utc() - before).num_seconds().abs() <= 1);
    }
}
