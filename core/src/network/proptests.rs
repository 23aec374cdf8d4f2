//! Properties of the compliance core: the utilisation p95 is never negative and never NaN,
//! whatever the counters do (resets, wraps, repeated times); a link is `Unknown` exactly when
//! either end's newest report is older than three intervals; members up never exceed two and
//! are zero exactly when the link is `Down` or `Unknown`.

use chrono::TimeDelta;
use govcloud_crds::network::extranet_link::Compliance;
use proptest::prelude::*;

use super::compliance::{InterfaceState, STALE_AFTER_INTERVALS, evaluate};
use super::counters::Sample;
use super::testing::{INTERVAL, contract, now, quiet, report, telemetry};
use super::utilisation::p95_ratio;

fn samples() -> impl Strategy<Value = Vec<Sample>> {
    prop::collection::vec(
        (0_i64..120, any::<u64>(), any::<u64>(), any::<bool>()),
        0..40,
    )
    .prop_map(|steps| {
        let mut at = now();
        steps
            .into_iter()
            .map(|(step, rx, tx, up)| {
                // Steps of zero repeat a time; counters jump anywhere, down included.
                at += TimeDelta::seconds(step);
                Sample {
                    at,
                    rx_bytes: rx,
                    tx_bytes: tx,
                    errors: rx % 1000,
                    oper_up: up,
                    speed_mbps: None,
                }
            })
            .collect()
    })
}

fn state() -> impl Strategy<Value = Option<InterfaceState>> {
    prop::option::of(
        (any::<bool>(), prop::option::of(1_u32..20_000)).prop_map(|(up, speed)| InterfaceState {
            up,
            speed_mbps: speed,
        }),
    )
}

proptest! {
    #[test]
    fn p95_is_never_negative_nor_nan(series in samples(), capacity in 1.0_f64..1e12) {
        if let Some(ratio) = p95_ratio(&series, capacity) {
            prop_assert!(ratio >= 0.0, "{ratio}");
            prop_assert!(ratio.is_finite(), "{ratio}");
        }
    }

    #[test]
    fn unknown_exactly_when_an_end_is_stale(
        up_age in prop::option::of(0_i64..400),
        down_age in prop::option::of(0_i64..400),
        states in prop::array::uniform4(state()),
    ) {
        let recent = quiet();
        let [a, b, c, d] = states;
        let upstream = up_age.and_then(|age| report(age, [a, b]));
        let downstream = down_age.and_then(|age| report(age, [c, d]));
        let verdict = evaluate(&contract(), &telemetry(upstream, downstream, &recent), now());
        let limit = i64::try_from(INTERVAL.as_secs()).expect("small") * i64::from(STALE_AFTER_INTERVALS);
        let stale = |age: Option<i64>| age.is_none_or(|age| age > limit);
        prop_assert_eq!(verdict.compliance == Compliance::Unknown, stale(up_age) || stale(down_age));
        prop_assert!(verdict.members_up <= 2);
        prop_assert_eq!(
            verdict.members_up == 0,
            matches!(verdict.compliance, Compliance::Down | Compliance::Unknown)
        );
        prop_assert_eq!(verdict.compliance == Compliance::Compliant, verdict.reasons.is_empty());
    }
}
