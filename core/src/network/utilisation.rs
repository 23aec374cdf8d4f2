//! Utilisation of a link's members, pure: the 95th percentile over the spec's window of each
//! member interface's per-interval rate (the busier direction, from counter deltas) as a share
//! of the contracted speed; and when to compute it again.
//!
//! Reading a week of samples per interface on every evaluation would cost more than the
//! verdict itself, and a p95 over a window moves slowly: it is recomputed when it is older
//! than a hundredth of the window (at least a minute, at most an hour), or when the window or
//! the contract changed; figures missing a member's ratio (too few samples yet) stand a
//! minute. Between refreshes the previous figures stand.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use govcloud_crds::network::extranet_link::LinkSide;

use super::counters::{Sample, bit_rates, percentile};

/// The quantile reported.
pub const QUANTILE: f64 = 0.95;

/// The p95 utilisation of one member interface at one end, as a ratio of the contract (1 =
/// the contracted speed), over the samples of the window (oldest first). `None` with fewer
/// than two samples in one series. Never negative, never NaN.
pub fn p95_ratio(samples: &[Sample], capacity_bps: f64) -> Option<f64> {
    if capacity_bps <= 0.0 || !capacity_bps.is_finite() {
        return None;
    }
    let ratios: Vec<f64> = bit_rates(samples)
        .into_iter()
        .map(|bps| bps / capacity_bps)
        .collect();
    percentile(&ratios, QUANTILE)
}

/// The figures of one computation.
#[derive(Clone, Debug, PartialEq)]
pub struct Utilisation {
    /// When they were computed.
    pub computed_at: DateTime<Utc>,
    /// Over which window.
    pub window: Duration,
    /// With which contracted speed per member, in Mbit/s.
    pub member_speed_mbps: u32,
    /// `(member, side)` → p95 ratio, when known.
    pub ratios: Vec<(u8, LinkSide, Option<f64>)>,
}

impl Utilisation {
    /// The ratio of `member` at `side`.
    pub fn ratio(&self, member: u8, side: LinkSide) -> Option<f64> {
        self.ratios
            .iter()
            .find(|(m, s, _)| *m == member && *s == side)
            .and_then(|(_, _, ratio)| *ratio)
    }

    /// The highest member ratio: the link's utilisation p95.
    pub fn highest(&self) -> Option<f64> {
        self.ratios
            .iter()
            .filter_map(|(_, _, ratio)| *ratio)
            .max_by(f64::total_cmp)
    }
}

/// The shortest time figures stand.
const MIN_PERIOD: Duration = Duration::from_secs(60);

/// How long figures over `window` stand: a hundredth of it, between a minute and an hour.
pub fn refresh_period(window: Duration) -> Duration {
    (window / 100).clamp(MIN_PERIOD, Duration::from_secs(3600))
}

/// Whether `previous` must be computed again at `now` for `window` and `member_speed_mbps`.
pub fn needs_refresh(
    previous: Option<&Utilisation>,
    window: Duration,
    member_speed_mbps: u32,
    now: DateTime<Utc>,
) -> bool {
    let Some(previous) = previous else {
        return true;
    };
    // Figures missing a member (too few samples yet, as for a new link) stand a minute only.
    let period = if previous.ratios.iter().any(|(_, _, ratio)| ratio.is_none()) {
        MIN_PERIOD
    } else {
        refresh_period(window)
    };
    let period = TimeDelta::from_std(period).unwrap_or(TimeDelta::MAX);
    previous.window != window
        || previous.member_speed_mbps != member_speed_mbps
        || previous.computed_at > now
        || now - previous.computed_at >= period
}

/// The figures of every link, by name; kept in memory by the link controller (a restart
/// computes them again).
#[derive(Debug, Default)]
pub struct UtilisationCache {
    links: HashMap<String, Utilisation>,
}

impl UtilisationCache {
    /// The figures of `link`, if any.
    pub fn get(&self, link: &str) -> Option<&Utilisation> {
        self.links.get(link)
    }

    /// Stores the figures of `link`.
    pub fn insert(&mut self, link: &str, utilisation: Utilisation) {
        self.links.insert(link.to_owned(), utilisation);
    }

    /// Forgets the links not in `existing`.
    pub fn retain(&mut self, existing: &dyn Fn(&str) -> bool) {
        self.links.retain(|link, _| existing(link));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(bytes_per_interval: &[u64]) -> Vec<Sample> {
        let start = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let mut total = 0_u64;
        let mut samples = Vec::new();
        for (i, bytes) in std::iter::once(&0).chain(bytes_per_interval).enumerate() {
            total += bytes;
            samples.push(Sample {
                at: start + TimeDelta::seconds(30 * i64::try_from(i).expect("small")),
                rx_bytes: total,
                tx_bytes: 0,
                errors: 0,
                oper_up: true,
                speed_mbps: Some(100),
            });
        }
        samples
    }

    #[test]
    fn p95_is_a_share_of_the_contracted_speed() {
        // 100 Mbit/s for 30 s is 375,000,000 bytes; 19 quiet intervals and one at 100 %.
        let mut intervals = vec![37_500_000_u64; 19];
        intervals.push(375_000_000);
        let ratio = p95_ratio(&series(&intervals), 100_000_000.0).expect("a ratio");
        assert!((ratio - 0.1).abs() < 1e-9, "{ratio}");
        intervals.push(375_000_000);
        let ratio = p95_ratio(&series(&intervals), 100_000_000.0).expect("a ratio");
        assert!((ratio - 1.0).abs() < 1e-9, "{ratio}");
        assert_eq!(p95_ratio(&series(&[]), 100_000_000.0), None);
        assert_eq!(p95_ratio(&series(&[1]), 0.0), None);
    }

    #[test]
    fn figures_stand_for_a_hundredth_of_the_window() {
        assert_eq!(
            refresh_period(Duration::from_secs(86_400)),
            Duration::from_secs(864)
        );
        assert_eq!(
            refresh_period(Duration::from_secs(600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_period(Duration::from_secs(604_800)),
            Duration::from_secs(3600)
        );
        let now = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let day = Duration::from_secs(86_400);
        let figures = Utilisation {
            computed_at: now,
            window: day,
            member_speed_mbps: 1000,
            ratios: vec![
                (1, LinkSide::Upstream, Some(0.2)),
                (2, LinkSide::Downstream, Some(0.4)),
            ],
        };
        assert!(needs_refresh(None, day, 1000, now));
        assert!(!needs_refresh(
            Some(&figures),
            day,
            1000,
            now + TimeDelta::seconds(863)
        ));
        assert!(needs_refresh(
            Some(&figures),
            day,
            1000,
            now + TimeDelta::seconds(864)
        ));
        assert!(needs_refresh(Some(&figures), day * 2, 1000, now));
        assert!(needs_refresh(Some(&figures), day, 100, now));
        let mut partial = figures.clone();
        partial.ratios.push((2, LinkSide::Upstream, None));
        let later = |seconds| now + TimeDelta::seconds(seconds);
        assert!(!needs_refresh(Some(&partial), day, 1000, later(59)));
        assert!(needs_refresh(Some(&partial), day, 1000, later(60)));
        assert_eq!(figures.highest(), Some(0.4));
        assert_eq!(figures.ratio(1, LinkSide::Upstream), Some(0.2));
        assert_eq!(figures.ratio(1, LinkSide::Downstream), None);
    }
}
