//! Conversions between Kubernetes' `metav1.Time` (a jiff timestamp, kept to the second) and
//! chrono's `DateTime<Utc>`, which the pure planners, the API views and the storage use.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// `at` to the second, as Kubernetes keeps times; `None` outside jiff's range.
pub fn to_kube(at: DateTime<Utc>) -> Option<Time> {
    Timestamp::from_second(at.timestamp()).ok().map(Time)
}

/// `time` as chrono's; `None` outside chrono's range.
pub fn from_kube(time: &Time) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(time.0.subsec_nanosecond()).ok()?;
    DateTime::from_timestamp(time.0.as_second(), nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_to_the_second() {
        let at: DateTime<Utc> = "2026-11-27T21:30:15.75Z".parse().expect("an instant");
        let kube = to_kube(at).expect("in range");
        assert_eq!(
            from_kube(&kube),
            Some("2026-11-27T21:30:15Z".parse().expect("an instant"))
        );
    }
}
