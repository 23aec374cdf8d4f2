//! Builders shared by the network tests: a CityCounty contract, end reports, sample series.

// The builders return what the fixtures take (optional states and reports).
#![allow(clippy::unnecessary_wraps)]

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::compliance::{EndReport, EndTelemetry, InterfaceState, LinkTelemetry};
use super::contract::LinkContract;
use super::counters::Sample;

/// The tests' "now".
pub(crate) fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).expect("time")
}

/// `seconds` before now.
pub(crate) fn ago(seconds: i64) -> DateTime<Utc> {
    now() - TimeDelta::seconds(seconds)
}

/// The agents' interval in the tests.
pub(crate) const INTERVAL: Duration = Duration::from_secs(30);

/// `cc-hanbin`: CityCounty (2 × 1000 Mbit/s), at most 5 errors per minute, a 24 h window.
pub(crate) fn contract() -> LinkContract {
    LinkContract::from_spec(&super::contract::tests::spec(&serde_json::json!({})))
        .expect("contract")
}

/// A member interface up at `speed`.
pub(crate) fn up(speed: Option<u32>) -> Option<InterfaceState> {
    Some(InterfaceState {
        up: true,
        speed_mbps: speed,
    })
}

/// A member interface down.
pub(crate) fn down() -> Option<InterfaceState> {
    Some(InterfaceState {
        up: false,
        speed_mbps: None,
    })
}

/// A report observed `age` seconds ago with the members' states.
pub(crate) fn report(age: i64, members: [Option<InterfaceState>; 2]) -> Option<EndReport> {
    Some(EndReport {
        observed_at: ago(age),
        interval: INTERVAL,
        members,
    })
}

/// Samples every 30 s over the last minute with `errors` more errors in each interval.
pub(crate) fn erroring(errors: u64) -> Vec<Sample> {
    (0..3_u64)
        .map(|i| Sample {
            at: ago(60 - 30 * i64::try_from(i).expect("small")),
            rx_bytes: 1_000 * i,
            tx_bytes: 0,
            errors: errors * i,
            oper_up: true,
            speed_mbps: Some(1000),
        })
        .collect()
}

/// Both ends' telemetry: reports and the members' recent samples.
pub(crate) fn telemetry<'a>(
    upstream: Option<EndReport>,
    downstream: Option<EndReport>,
    recent: &'a [[Vec<Sample>; 2]; 2],
) -> LinkTelemetry<'a> {
    let end = |report, samples: &'a [Vec<Sample>; 2]| EndTelemetry {
        report,
        declared_interval: INTERVAL,
        recent: [&samples[0], &samples[1]],
    };
    LinkTelemetry {
        upstream: end(upstream, &recent[0]),
        downstream: end(downstream, &recent[1]),
    }
}

/// No samples at either end.
pub(crate) fn quiet() -> [[Vec<Sample>; 2]; 2] {
    Default::default()
}
