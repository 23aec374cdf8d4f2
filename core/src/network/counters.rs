//! Counter arithmetic on the samples of one interface, pure: per-interval rates from the
//! kernel's monotonic counters, where a counter that decreases (the agent or the router
//! restarted, or a counter wrapped) starts a new series instead of giving a negative rate; the
//! error rate over a span; and the nearest-rank percentile of a set of rates.

use chrono::{DateTime, Utc};

/// One reading of one interface, as the compliance planner needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// When the agent observed it.
    pub at: DateTime<Utc>,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Receive and transmit errors together.
    pub errors: u64,
    /// Operationally up.
    pub oper_up: bool,
    /// Speed in Mbit/s, when the driver reports one.
    pub speed_mbps: Option<u32>,
}

/// Seconds from `a` to `b`, when `b` is later.
fn seconds_between(a: DateTime<Utc>, b: DateTime<Utc>) -> Option<f64> {
    let micros = (b - a).num_microseconds()?;
    // Intervals are far below 2^53 µs (285 years).
    #[allow(clippy::cast_precision_loss)]
    let micros = micros as f64;
    (micros > 0.0).then_some(micros / 1_000_000.0)
}

/// The increase of a counter from `a` to `b`, or `None` when it decreased (a new series).
fn increase(a: u64, b: u64) -> Option<u64> {
    b.checked_sub(a)
}

/// Each interval between consecutive samples (oldest first) as the busier direction's rate in
/// bits per second. A direction whose counter decreased contributes nothing to that interval;
/// an interval where both did, or whose end is not after its start, yields no rate.
pub fn bit_rates(samples: &[Sample]) -> Vec<f64> {
    samples
        .windows(2)
        .filter_map(|pair| {
            let [a, b] = pair else { return None };
            let seconds = seconds_between(a.at, b.at)?;
            let rx = increase(a.rx_bytes, b.rx_bytes);
            let tx = increase(a.tx_bytes, b.tx_bytes);
            let busier = match (rx, tx) {
                (Some(rx), Some(tx)) => rx.max(tx),
                (Some(one), None) | (None, Some(one)) => one,
                (None, None) => return None,
            };
            #[allow(clippy::cast_precision_loss)] // bytes per interval far below 2^53
            let bits = busier as f64 * 8.0;
            Some(bits / seconds)
        })
        .collect()
}

/// Errors per minute over the samples (oldest first): the counted increases over the time
/// they span. A decrease starts a new series and its interval is left out of both sums.
/// `None` with fewer than two usable samples.
pub fn errors_per_minute(samples: &[Sample]) -> Option<f64> {
    let (errors, seconds) = samples
        .windows(2)
        .filter_map(|pair| {
            let [a, b] = pair else { return None };
            let seconds = seconds_between(a.at, b.at)?;
            Some((increase(a.errors, b.errors)?, seconds))
        })
        .fold((0_u64, 0.0_f64), |(errors, total), (more, seconds)| {
            (errors.saturating_add(more), total + seconds)
        });
    #[allow(clippy::cast_precision_loss)] // error counts far below 2^53
    let errors = errors as f64;
    (seconds > 0.0).then(|| errors * 60.0 / seconds)
}

/// The nearest-rank `quantile` (0 < q ≤ 1) of `values`; `None` when empty. Values that are not
/// finite are ignored.
pub fn percentile(values: &[f64], quantile: f64) -> Option<f64> {
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return None;
    }
    finite.sort_by(f64::total_cmp);
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )] // a rank between 1 and the number of values
    let rank = ((quantile.clamp(0.0, 1.0) * finite.len() as f64).ceil() as usize).max(1);
    finite.get(rank.min(finite.len()) - 1).copied()
}

#[cfg(test)]
mod tests {

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).expect("time")
    }

    fn sample(seconds: i64, rx: u64, tx: u64, errors: u64) -> Sample {
        Sample {
            at: at(seconds),
            rx_bytes: rx,
            tx_bytes: tx,
            errors,
            oper_up: true,
            speed_mbps: Some(1000),
        }
    }

    #[test]
    fn rates_take_the_busier_direction_in_bits_per_second() {
        let samples = [
            sample(0, 0, 0, 0),
            sample(10, 1_250_000, 250_000, 0),
            sample(20, 2_500_000, 3_000_000, 0),
        ];
        assert_eq!(bit_rates(&samples), [1_000_000.0, 2_200_000.0]);
    }

    #[test]
    fn a_decreasing_counter_starts_a_new_series_never_a_negative_rate() {
        let samples = [
            sample(0, 5_000, 5_000, 0),
            // Both counters reset (the agent's host rebooted): no rate for this interval.
            sample(10, 100, 100, 0),
            sample(20, 1_350, 100, 0),
            // Only rx wrapped: the interval counts tx alone.
            sample(30, 10, 1_350, 0),
        ];
        assert_eq!(bit_rates(&samples), [1_000.0, 1_000.0]);
    }

    #[test]
    fn samples_out_of_order_or_at_the_same_time_give_no_rate() {
        let samples = [
            sample(10, 0, 0, 0),
            sample(10, 100, 0, 0),
            sample(5, 200, 0, 0),
        ];
        assert!(bit_rates(&samples).is_empty());
        assert_eq!(errors_per_minute(&samples), None);
    }

    #[test]
    fn errors_per_minute_skip_a_reset() {
        let samples = [
            sample(0, 0, 0, 100),
            sample(30, 0, 0, 130),
            sample(60, 0, 0, 2),
            sample(90, 0, 0, 32),
        ];
        // 60 errors over the 60 s of the two counted intervals.
        assert_eq!(errors_per_minute(&samples), Some(60.0));
        assert_eq!(errors_per_minute(&samples[..1]), None);
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.95), Some(95.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 0.95), Some(3.0));
        assert_eq!(percentile(&[f64::NAN, 4.0], 0.5), Some(4.0));
        assert_eq!(percentile(&[], 0.95), None);
    }
}
