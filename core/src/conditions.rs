//! `metav1.Condition` bookkeeping shared by every reconciler: a condition's
//! `lastTransitionTime` moves only when its status changes, so statuses do not churn.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// A condition to set: type, status (`True`, `False`, `Unknown`), reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired<'a> {
    /// `Ready`, `QuotaExceeded`, …
    pub kind: &'a str,
    /// `True`, `False` or `Unknown`.
    pub status: &'a str,
    /// CamelCase reason, from a bounded set.
    pub reason: &'a str,
    /// What people should know.
    pub message: String,
}

/// Sets `desired` in `conditions` for `generation` at `now`: a new condition or a change of
/// status takes `now` as its transition time; otherwise the previous time is kept.
pub fn set(
    conditions: &mut Vec<Condition>,
    desired: &Desired<'_>,
    generation: Option<i64>,
    now: Timestamp,
) {
    let previous = conditions.iter().position(|c| c.type_ == desired.kind);
    let transition = match previous.map(|i| &conditions[i]) {
        Some(existing) if existing.status == desired.status => {
            existing.last_transition_time.clone()
        }
        _ => Time(now),
    };
    let condition = Condition {
        type_: desired.kind.to_owned(),
        status: desired.status.to_owned(),
        reason: desired.reason.to_owned(),
        message: desired.message.clone(),
        observed_generation: generation,
        last_transition_time: transition,
    };
    match previous {
        Some(index) => conditions[index] = condition,
        None => conditions.push(condition),
    }
}

/// The status of the condition of `kind`, if present.
pub fn status_of<'a>(conditions: &'a [Condition], kind: &str) -> Option<&'a str> {
    conditions
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("timestamp")
    }

    fn ready(status: &'static str, message: &str) -> Desired<'static> {
        Desired {
            kind: "Ready",
            status,
            reason: "Reconciled",
            message: message.to_owned(),
        }
    }

    #[test]
    fn transition_time_moves_only_when_the_status_changes() {
        let mut conditions = Vec::new();
        set(
            &mut conditions,
            &ready("False", "waiting"),
            Some(1),
            at(100),
        );
        assert_eq!(conditions[0].last_transition_time, Time(at(100)));
        set(
            &mut conditions,
            &ready("False", "still waiting"),
            Some(2),
            at(200),
        );
        assert_eq!(
            conditions[0].last_transition_time,
            Time(at(100)),
            "same status keeps the time"
        );
        assert_eq!(conditions[0].message, "still waiting");
        assert_eq!(conditions[0].observed_generation, Some(2));
        set(&mut conditions, &ready("True", "done"), Some(2), at(300));
        assert_eq!(conditions[0].last_transition_time, Time(at(300)));
        assert_eq!(status_of(&conditions, "Ready"), Some("True"));
    }

    #[test]
    fn conditions_of_other_types_are_kept() {
        let mut conditions = Vec::new();
        set(&mut conditions, &ready("True", ""), None, at(1));
        set(
            &mut conditions,
            &Desired {
                kind: "QuotaExceeded",
                status: "False",
                reason: "WithinQuota",
                message: String::new(),
            },
            None,
            at(2),
        );
        assert_eq!(conditions.len(), 2);
        assert_eq!(status_of(&conditions, "QuotaExceeded"), Some("False"));
        assert_eq!(status_of(&conditions, "Missing"), None);
    }
}
