//! The leader-election decision on a `Lease`'s record, pure: whether this replica may take or
//! keep the lease, and the record it then writes (client-go's `tryAcquireOrRenew` without I/O).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;

/// What a `Lease` says about leadership.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The holder's identity; `None` (or empty) when nobody holds it.
    pub holder: Option<String>,
    /// How long the holder's claim lasts after its last renewal, in seconds.
    pub duration_seconds: i32,
    /// When the current holder took it.
    pub acquire_time: Option<Timestamp>,
    /// When the holder last renewed it.
    pub renew_time: Option<Timestamp>,
    /// How many times the lease changed hands.
    pub transitions: i32,
}

impl LeaseRecord {
    /// The record a `Lease`'s spec holds.
    pub fn from_spec(spec: &LeaseSpec) -> Self {
        Self {
            holder: spec.holder_identity.clone().filter(|h| !h.is_empty()),
            duration_seconds: spec.lease_duration_seconds.unwrap_or_default(),
            acquire_time: spec.acquire_time.as_ref().map(|t| t.0),
            renew_time: spec.renew_time.as_ref().map(|t| t.0),
            transitions: spec.lease_transitions.unwrap_or_default(),
        }
    }

    /// Writes the record into `spec`, leaving the fields leader election does not own
    /// (`preferredHolder`, `strategy`) as they are.
    pub fn write_into(&self, spec: &mut LeaseSpec) {
        spec.holder_identity = Some(self.holder.clone().unwrap_or_default());
        spec.lease_duration_seconds = Some(self.duration_seconds);
        spec.acquire_time = self.acquire_time.map(MicroTime);
        spec.renew_time = self.renew_time.map(MicroTime);
        spec.lease_transitions = Some(self.transitions);
    }

    /// How long the holder's claim lasts after its last renewal.
    pub fn duration(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.duration_seconds).unwrap_or(0))
    }
}

/// What a replica may do with the lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Write `record`: a new claim (`acquired`) or a renewal of ours.
    Claim {
        /// The record to write.
        record: LeaseRecord,
        /// Whether this starts a new term (the lease was free, expired or someone else's).
        acquired: bool,
    },
    /// Someone else holds it; their claim lapses after `remaining` more unchanged time.
    HeldBy {
        /// The holder's identity.
        holder: String,
        /// How much longer the record must stay unchanged before it can be taken.
        remaining: Duration,
    },
}

/// Decides on `current` (the lease's record, `None` when no `Lease` exists), which this replica
/// has seen unchanged for `unchanged_for` by its own monotonic clock — never by comparing the
/// holder's timestamps with ours, which would trust two clocks to agree.
///
/// A holder's claim lasts its record's duration after the record last changed; a free lease (no
/// holder, as a released one) can be taken at once; our own claim is renewed, keeping its
/// acquisition time and transition count.
pub fn decide(
    current: Option<&LeaseRecord>,
    unchanged_for: Duration,
    identity: &str,
    lease_duration: Duration,
    now: Timestamp,
) -> Verdict {
    let duration_seconds = i32::try_from(lease_duration.as_secs()).unwrap_or(i32::MAX);
    let Some(current) = current else {
        return Verdict::Claim {
            record: LeaseRecord {
                holder: Some(identity.to_owned()),
                duration_seconds,
                acquire_time: Some(now),
                renew_time: Some(now),
                transitions: 0,
            },
            acquired: true,
        };
    };
    match current.holder.as_deref() {
        Some(holder) if holder == identity => Verdict::Claim {
            record: LeaseRecord {
                holder: Some(identity.to_owned()),
                duration_seconds,
                acquire_time: current.acquire_time.or(Some(now)),
                renew_time: Some(now),
                transitions: current.transitions,
            },
            acquired: false,
        },
        Some(holder) if unchanged_for < current.duration() => Verdict::HeldBy {
            holder: holder.to_owned(),
            remaining: current.duration().saturating_sub(unchanged_for),
        },
        previous => Verdict::Claim {
            record: LeaseRecord {
                holder: Some(identity.to_owned()),
                duration_seconds,
                acquire_time: Some(now),
                renew_time: Some(now),
                transitions: if previous.is_some() {
                    current.transitions.saturating_add(1)
                } else {
                    current.transitions
                },
            },
            acquired: true,
        },
    }
}

/// The record that gives the lease up: no holder, so the next candidate takes it at once
/// (client-go's `ReleaseOnCancel`).
pub fn released(current: &LeaseRecord, now: Timestamp) -> LeaseRecord {
    LeaseRecord {
        holder: None,
        duration_seconds: 1,
        acquire_time: current.acquire_time,
        renew_time: Some(now),
        transitions: current.transitions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(15);

    fn now() -> Timestamp {
        "2026-12-07T10:00:00Z".parse().expect("a timestamp")
    }

    fn held_by(holder: &str) -> LeaseRecord {
        LeaseRecord {
            holder: Some(holder.to_owned()),
            duration_seconds: 15,
            acquire_time: Some("2026-12-07T09:00:00Z".parse().expect("a timestamp")),
            renew_time: Some("2026-12-07T09:59:58Z".parse().expect("a timestamp")),
            transitions: 3,
        }
    }

    #[test]
    fn a_missing_lease_is_created_as_ours() {
        let verdict = decide(None, Duration::ZERO, "a", LEASE, now());
        let Verdict::Claim { record, acquired } = verdict else {
            panic!("expected a claim, got {verdict:?}")
        };
        assert!(acquired);
        assert_eq!(record.holder.as_deref(), Some("a"));
        assert_eq!(record.duration_seconds, 15);
        assert_eq!(record.transitions, 0);
        assert_eq!(record.acquire_time, Some(now()));
    }

    #[test]
    fn our_own_lease_is_renewed_keeping_its_term() {
        let current = held_by("a");
        let verdict = decide(Some(&current), Duration::from_secs(60), "a", LEASE, now());
        assert_eq!(
            verdict,
            Verdict::Claim {
                record: LeaseRecord {
                    renew_time: Some(now()),
                    ..current
                },
                acquired: false,
            }
        );
    }

    #[test]
    fn another_holder_keeps_it_until_its_record_went_unchanged_for_its_duration() {
        let current = held_by("b");
        assert_eq!(
            decide(Some(&current), Duration::from_secs(10), "a", LEASE, now()),
            Verdict::HeldBy {
                holder: "b".to_owned(),
                remaining: Duration::from_secs(5)
            }
        );
        let verdict = decide(Some(&current), Duration::from_secs(15), "a", LEASE, now());
        let Verdict::Claim { record, acquired } = verdict else {
            panic!("an expired lease is taken, got {verdict:?}")
        };
        assert!(acquired);
        assert_eq!(record.holder.as_deref(), Some("a"));
        assert_eq!(record.transitions, 4, "a change of hands is counted");
        assert_eq!(record.acquire_time, Some(now()));
    }

    #[test]
    fn the_holders_own_duration_counts_not_ours() {
        let mut current = held_by("b");
        current.duration_seconds = 60;
        assert!(matches!(
            decide(Some(&current), Duration::from_secs(30), "a", LEASE, now()),
            Verdict::HeldBy { .. }
        ));
    }

    #[test]
    fn a_released_lease_is_taken_at_once_without_counting_a_transition() {
        let current = released(&held_by("b"), now());
        assert_eq!(current.holder, None);
        let verdict = decide(Some(&current), Duration::ZERO, "a", LEASE, now());
        let Verdict::Claim { record, acquired } = verdict else {
            panic!("a free lease is taken, got {verdict:?}")
        };
        assert!(acquired);
        assert_eq!(record.transitions, 3);
    }

    #[test]
    fn the_record_round_trips_through_a_lease_spec() {
        let record = held_by("a");
        let mut spec = LeaseSpec {
            preferred_holder: Some("p".to_owned()),
            ..LeaseSpec::default()
        };
        record.write_into(&mut spec);
        assert_eq!(LeaseRecord::from_spec(&spec), record);
        assert_eq!(spec.preferred_holder.as_deref(), Some("p"), "left alone");
    }
}
