//! The compliance verdict, case by case.

use govcloud_crds::network::extranet_link::{Compliance, LinkSide};

use super::compliance::evaluate;
use super::testing::{INTERVAL, ago, contract, down, erroring, now, quiet, report, telemetry, up};

const GIG: Option<u32> = Some(1000);

#[test]
fn both_members_up_at_both_ends_at_contract_is_compliant() {
    let recent = quiet();
    let verdict = evaluate(
        &contract(),
        &telemetry(
            report(5, [up(GIG), up(GIG)]),
            report(20, [up(GIG), up(Some(10_000))]),
            &recent,
        ),
        now(),
    );
    assert_eq!(verdict.compliance, Compliance::Compliant);
    assert_eq!(verdict.members_up, 2);
    assert!(verdict.reasons.is_empty(), "{:?}", verdict.reasons);
    assert_eq!(verdict.ends.len(), 4);
    assert_eq!(
        (
            verdict.ends[1].member,
            verdict.ends[1].side,
            verdict.ends[1].interface.as_str()
        ),
        (1, LinkSide::Downstream, "up-a")
    );
    // The downstream report (20 s old) turns stale first: 90 s after it was observed.
    assert_eq!(
        verdict.fresh_until,
        Some(ago(20) + chrono::TimeDelta::seconds(90))
    );
}

#[test]
fn one_member_down_at_one_end_loses_redundancy() {
    let recent = quiet();
    let verdict = evaluate(
        &contract(),
        &telemetry(
            report(5, [up(GIG), up(GIG)]),
            report(5, [down(), up(GIG)]),
            &recent,
        ),
        now(),
    );
    assert_eq!(verdict.compliance, Compliance::Degraded);
    assert_eq!(verdict.members_up, 1);
    assert_eq!(
        verdict.reasons,
        ["member 1 at the downstream end (hanbin-core up-a) is down"]
    );
}

#[test]
fn no_member_up_at_both_ends_is_down() {
    let recent = quiet();
    // Member 1 is down upstream, member 2 downstream: neither carries traffic.
    let verdict = evaluate(
        &contract(),
        &telemetry(
            report(5, [down(), up(GIG)]),
            report(5, [up(GIG), down()]),
            &recent,
        ),
        now(),
    );
    assert_eq!(verdict.compliance, Compliance::Down);
    assert_eq!(verdict.members_up, 0);
    assert_eq!(
        verdict.reasons,
        [
            "member 1 at the upstream end (ankang-core cc-hanbin-a) is down",
            "member 2 at the downstream end (hanbin-core up-b) is down",
        ]
    );
}

#[test]
fn telemetry_older_than_three_intervals_is_unknown() {
    let recent = quiet();
    let fresh = report(90, [up(GIG), up(GIG)]);
    let verdict = evaluate(
        &contract(),
        &telemetry(fresh, report(0, [up(GIG), up(GIG)]), &recent),
        now(),
    );
    assert_eq!(
        verdict.compliance,
        Compliance::Compliant,
        "exactly three intervals is fresh"
    );
    let stale = report(91, [up(GIG), up(GIG)]);
    let verdict = evaluate(
        &contract(),
        &telemetry(stale, report(0, [down(), down()]), &recent),
        now(),
    );
    assert_eq!(verdict.compliance, Compliance::Unknown);
    assert_eq!(verdict.members_up, 0);
    assert_eq!(verdict.fresh_until, None);
    assert!(verdict.ends.iter().all(|e| !e.up && !e.reported));
    assert_eq!(
        verdict.reasons,
        [
            "no telemetry from the upstream end (ankang-core) since 2023-11-14T22:11:49Z: stale after 90 s (3 intervals of 30 s)"
        ]
    );
    let never = evaluate(
        &contract(),
        &telemetry(report(0, [up(GIG), up(GIG)]), None, &recent),
        now(),
    );
    assert_eq!(never.compliance, Compliance::Unknown);
    assert_eq!(
        never.reasons,
        ["no telemetry from the downstream end (hanbin-core) yet: its agent has never reported"]
    );
    assert_eq!(INTERVAL.as_secs(), 30);
}

#[test]
fn a_member_below_contract_degrades_an_unknown_speed_does_not() {
    let recent = quiet();
    let slow = evaluate(
        &contract(),
        &telemetry(
            report(5, [up(GIG), up(Some(100))]),
            report(5, [up(None), up(GIG)]),
            &recent,
        ),
        now(),
    );
    assert_eq!(slow.compliance, Compliance::Degraded);
    assert_eq!(slow.members_up, 2);
    assert_eq!(
        slow.reasons,
        [
            "member 2 at the upstream end (ankang-core cc-hanbin-b) runs at 100 Mbit/s, below the contracted 1000 Mbit/s"
        ]
    );
}

#[test]
fn rising_errors_degrade_old_ones_do_not() {
    // 6 errors per 30 s is 12 per minute, above the link's 5.
    let recent = [[erroring(6), Vec::new()], [Vec::new(), erroring(2)]];
    let verdict = evaluate(
        &contract(),
        &telemetry(
            report(0, [up(GIG), up(GIG)]),
            report(0, [up(GIG), up(GIG)]),
            &recent,
        ),
        now(),
    );
    assert_eq!(verdict.compliance, Compliance::Degraded);
    assert_eq!(verdict.ends[0].errors_per_minute, Some(12.0));
    assert_eq!(verdict.ends[3].errors_per_minute, Some(4.0));
    assert_eq!(
        verdict.reasons,
        [
            "member 1 at the upstream end (ankang-core cc-hanbin-a) has 12.0 errors per minute, above the limit of 5"
        ]
    );
    // The same errors three intervals later are outside the window: not rising any more.
    let later = evaluate(
        &contract(),
        &telemetry(
            report(0, [up(GIG), up(GIG)]),
            report(0, [up(GIG), up(GIG)]),
            &recent,
        ),
        now() + chrono::TimeDelta::seconds(100),
    );
    assert_eq!(
        later.compliance,
        Compliance::Unknown,
        "and the reports are stale by then"
    );
}

#[test]
fn a_member_missing_from_a_fresh_report_is_down_there() {
    let recent = quiet();
    let verdict = evaluate(
        &contract(),
        &telemetry(
            report(5, [up(GIG), None]),
            report(5, [up(GIG), up(GIG)]),
            &recent,
        ),
        now(),
    );
    assert_eq!(verdict.compliance, Compliance::Degraded);
    assert_eq!(
        verdict.reasons,
        [
            "member 2 at the upstream end (ankang-core cc-hanbin-b) is missing from the agent's report (is it among the interfaces the agent watches?)"
        ]
    );
}
