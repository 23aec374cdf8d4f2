//! One retry policy for what the controllers retry: a [`RetryPolicy`] (exponential: a first
//! delay doubled at each failure, up to a maximum) and [`Backoff`], the per-object failure
//! counts of the reconcilers, which forgets an object when its reconcile succeeds and, for an
//! object no longer retried (deleted, or fixed by a change), once it has been idle for
//! [`RetryPolicy::forget_after`]. Webhook steps use the same policy with their own parameters,
//! counting attempts in the step's status rather than here.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Exponential backoff: `first` after one failure, doubled after each further failure, at most
/// `max`. Deterministic, so a delay can be recomputed from a count alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay after the first failure.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl RetryPolicy {
    /// Reconciles that failed for a transient reason: 1 s, 2 s, 4 s, … up to 5 minutes.
    pub const RECONCILE: Self = Self {
        first: Duration::from_secs(1),
        max: Duration::from_secs(300),
    };

    /// Webhook calls of migration steps: 2 s, 4 s, 8 s, … up to 5 minutes.
    pub const WEBHOOK: Self = Self {
        first: Duration::from_secs(2),
        max: Duration::from_secs(300),
    };

    /// The delay after `failures` failures (0 counts as 1).
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(64);
        let nanos = self
            .first
            .as_nanos()
            .saturating_mul(1_u128 << doublings)
            .min(self.max.as_nanos());
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// How long an object's failures are kept without a new one: twice the longest delay, so
    /// an object still being retried never loses its count.
    pub fn forget_after(&self) -> Duration {
        self.max.saturating_mul(2)
    }
}

/// Failures of one object.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Per-object backoff of transient failures under one [`RetryPolicy`]. An object's count is
/// removed by [`Backoff::reset`] (its reconcile succeeded) or, once idle for
/// [`RetryPolicy::forget_after`], by the next failure of any object: the map holds only the
/// objects failing now.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    failures: Mutex<HashMap<String, Failures>>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(RetryPolicy::RECONCILE)
    }
}

impl Backoff {
    /// Longest wait between retries of a reconcile.
    pub const MAX: Duration = RetryPolicy::RECONCILE.max;

    /// An empty backoff under `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The policy.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// Counts a failure of `key` and returns how long to wait before the next attempt.
    pub fn next(&self, key: &str) -> Duration {
        self.next_at(key, Instant::now())
    }

    /// [`Backoff::next`] at `now`; also forgets the objects idle since before
    /// `now - forget_after`.
    fn next_at(&self, key: &str, now: Instant) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let forget_after = self.policy.forget_after();
        failures.retain(|_, f| now.saturating_duration_since(f.last) < forget_after);
        let entry = failures.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
        });
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        self.policy.delay(entry.count)
    }

    /// Forgets the failures of `key` (its reconcile succeeded).
    pub fn reset(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// How many objects have failures counted.
    pub fn len(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no object has failures counted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes_and_resets() {
        let backoff = Backoff::default();
        let waits: Vec<u64> = (0..12).map(|_| backoff.next("t/a").as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(backoff.next("t/b").as_secs(), 1, "per object");
        backoff.reset("t/a");
        assert_eq!(backoff.next("t/a").as_secs(), 1);
    }

    #[test]
    fn the_map_shrinks_on_success_and_forgets_idle_objects() {
        let backoff = Backoff::default();
        let start = Instant::now();
        for key in ["t/a", "t/b", "t/c"] {
            backoff.next_at(key, start);
        }
        assert_eq!(backoff.len(), 3);
        // A success removes its object.
        backoff.reset("t/a");
        assert_eq!(backoff.len(), 2);
        // An object retried within the longest delay keeps its count.
        let retried = start + Backoff::MAX;
        assert_eq!(backoff.next_at("t/b", retried), Duration::from_secs(2));
        assert_eq!(backoff.len(), 2);
        // One never retried again (deleted) is forgotten once idle long enough.
        let later = start + RetryPolicy::RECONCILE.forget_after() + Duration::from_secs(1);
        backoff.next_at("t/d", later);
        assert_eq!(backoff.len(), 2, "t/c forgotten, t/b and t/d kept");
        backoff.reset("t/b");
        backoff.reset("t/d");
        assert!(backoff.is_empty());
    }

    #[test]
    fn the_webhook_policy_starts_at_two_seconds() {
        let waits: Vec<u64> = (0..11)
            .map(|n| RetryPolicy::WEBHOOK.delay(n).as_secs())
            .collect();
        assert_eq!(waits, [2, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(
            RetryPolicy::WEBHOOK.delay(u32::MAX),
            RetryPolicy::WEBHOOK.max
        );
    }
}
