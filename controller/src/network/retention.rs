//! Retention of link telemetry: samples (and report records) older than the retention are
//! deleted every hour. The retention is written in days (`7d`) or as a Go duration (`168h`);
//! it should cover the longest `utilisationWindow` of any link, whose p95 otherwise sees only
//! what is kept.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::storage::Storage;

/// How long samples are kept unless configured: a week, the longest window of the example
/// links.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 86_400);
/// How often old samples are deleted.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// The shortest retention accepted: the p95 needs some history, and a typo such as `7s` would
/// delete every sample.
pub const MIN_RETENTION: Duration = Duration::from_secs(3600);

/// Why a retention could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    /// Neither days nor a Go duration.
    #[error(
        "failed to read the retention \"{0}\": expected days such as 7d or a Go duration such as 168h"
    )]
    Invalid(String),
    /// Below an hour.
    #[error("the retention \"{0}\" is shorter than an hour")]
    TooShort(String),
}

/// Reads a retention: `7d` (whole days) or a Go duration (`168h`, `90m`); at least an hour.
pub fn parse_retention(text: &str) -> Result<Duration, RetentionError> {
    let trimmed = text.trim();
    let invalid = || RetentionError::Invalid(text.to_owned());
    let duration = match trimmed.strip_suffix('d') {
        Some(days) if !days.is_empty() && days.bytes().all(|b| b.is_ascii_digit()) => {
            let days: u64 = days.parse().map_err(|_| invalid())?;
            Duration::from_secs(days.checked_mul(86_400).ok_or_else(invalid)?)
        }
        _ => govcloud_crds::common::parse_go_duration(trimmed).map_err(|_| invalid())?,
    };
    if duration < MIN_RETENTION {
        return Err(RetentionError::TooShort(text.to_owned()));
    }
    Ok(duration)
}

/// The oldest time kept at `now`.
pub fn cutoff(now: DateTime<Utc>, retention: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(retention)
        .ok()
        .and_then(|keep| now.checked_sub_signed(keep))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Starts [`prune_periodically`] as a task of its own.
pub fn spawn(storage: Storage, retention: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(prune_periodically(storage, retention))
}

/// Deletes what is older than `retention` now and then every [`PRUNE_EVERY`], until the
/// task is dropped or aborted. A failure is logged and tried again at the next turn.
pub async fn prune_periodically(storage: Storage, retention: Duration) {
    let mut ticker = tokio::time::interval(PRUNE_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let cutoff = cutoff(Utc::now(), retention);
        match storage.telemetry().delete_older_than(cutoff).await {
            Ok(deleted) => tracing::debug!(deleted, %cutoff, "old telemetry samples deleted"),
            Err(error) => tracing::warn!(
                error = %crate::report::error_chain(&error),
                "failed to delete old telemetry samples; trying again in an hour"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_days_or_a_go_duration_of_at_least_an_hour() {
        assert_eq!(parse_retention("7d"), Ok(DEFAULT_RETENTION));
        assert_eq!(parse_retention("168h"), Ok(DEFAULT_RETENTION));
        assert_eq!(parse_retention("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(
            parse_retention("7s"),
            Err(RetentionError::TooShort("7s".into()))
        );
        for bad in ["", "d", "7 days", "-1d", "1.5d"] {
            assert_eq!(
                parse_retention(bad),
                Err(RetentionError::Invalid(bad.into())),
                "{bad}"
            );
        }
        let now = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        assert_eq!(cutoff(now, DEFAULT_RETENTION), now - TimeDelta::days(7));
    }
}
