//! Compliance of an extranet link pair with its contract, pure: from the
//! contract, the newest report of each end's router (its time, its interval, and the state of
//! the member interfaces in it), the recent samples of each member interface (for error
//! rates) and the current time.
//!
//! - `Unknown`: the newest report of either end is older than three of its report intervals,
//!   or there is none; nothing else is concluded from old telemetry.
//! - `Down`: no member is up at both ends.
//! - `Degraded`: redundancy lost (one member down at either end), or a member that is up runs
//!   below the contracted speed (where the driver reports one), or its errors rise above
//!   `maxErrorsPerMinute` over the last three intervals.
//! - `Compliant`: both members up at both ends, at or above contract, errors not rising.
//!
//! A member interface missing from a fresh report counts as down at that end. Each reason
//! names the member, the end, the router and the interface.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use govcloud_crds::network::extranet_link::{Compliance, LinkSide};

use super::contract::{LinkContract, SIDES, side_name};
use super::counters::{Sample, errors_per_minute};

/// Telemetry older than this many report intervals is stale.
pub const STALE_AFTER_INTERVALS: u32 = 3;

/// A member interface as the newest report shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterfaceState {
    /// Operationally up (`up`, as `ip` prints it) with carrier.
    pub up: bool,
    /// Speed in Mbit/s, when the driver reports one.
    pub speed_mbps: Option<u32>,
}

/// The newest report of one end's router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndReport {
    /// When the agent observed it.
    pub observed_at: DateTime<Utc>,
    /// The agent's report interval.
    pub interval: Duration,
    /// Each member interface in member order; `None` when the report does not list it.
    pub members: [Option<InterfaceState>; 2],
}

/// The telemetry of one end.
#[derive(Clone, Copy, Debug)]
pub struct EndTelemetry<'a> {
    /// The router's newest report, if it ever reported.
    pub report: Option<EndReport>,
    /// The interval declared for the router (`spec.reportIntervalSeconds`), used until it
    /// reports its own.
    pub declared_interval: Duration,
    /// The recent samples of each member interface, oldest first, in member order.
    pub recent: [&'a [Sample]; 2],
}

impl EndTelemetry<'_> {
    /// The interval that decides staleness: the agent's own, else the declared one.
    pub fn interval(&self) -> Duration {
        self.report.map_or(self.declared_interval, |r| r.interval)
    }
}

/// The telemetry of both ends.
#[derive(Clone, Copy, Debug)]
pub struct LinkTelemetry<'a> {
    /// The upstream end.
    pub upstream: EndTelemetry<'a>,
    /// The downstream end.
    pub downstream: EndTelemetry<'a>,
}

impl<'a> LinkTelemetry<'a> {
    /// The telemetry of `side`.
    pub fn end(&self, side: LinkSide) -> &EndTelemetry<'a> {
        match side {
            LinkSide::Upstream => &self.upstream,
            LinkSide::Downstream => &self.downstream,
        }
    }
}

/// One member interface at one end, as observed.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberEnd {
    /// 1 or 2.
    pub member: u8,
    /// Which end.
    pub side: LinkSide,
    /// The interface.
    pub interface: String,
    /// Listed in the end's newest report.
    pub reported: bool,
    /// Reported, operationally up, with carrier.
    pub up: bool,
    /// The reported speed in Mbit/s, when known.
    pub speed_mbps: Option<u32>,
    /// Errors per minute over the last three intervals, when two samples allow it.
    pub errors_per_minute: Option<f64>,
}

/// The verdict on a link.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Compliant, Degraded, Down or Unknown.
    pub compliance: Compliance,
    /// Members up at both ends (0 when the telemetry is stale).
    pub members_up: u32,
    /// Each member at each end: member 1 upstream, member 1 downstream, member 2 upstream, …
    pub ends: Vec<MemberEnd>,
    /// Why the link is not compliant, one line each.
    pub reasons: Vec<String>,
    /// When the verdict turns `Unknown` unless new telemetry arrives (`None`: it already is).
    pub fresh_until: Option<DateTime<Utc>>,
}

/// How long telemetry of an agent reporting every `interval` stays fresh.
pub fn freshness(interval: Duration) -> TimeDelta {
    TimeDelta::from_std(interval.saturating_mul(STALE_AFTER_INTERVALS)).unwrap_or(TimeDelta::MAX)
}

/// Until when `report` is fresh.
fn fresh_until(report: &EndReport) -> Option<DateTime<Utc>> {
    report
        .observed_at
        .checked_add_signed(freshness(report.interval))
}

/// Evaluates `contract` against `telemetry` at `now`.
pub fn evaluate(
    contract: &LinkContract,
    telemetry: &LinkTelemetry<'_>,
    now: DateTime<Utc>,
) -> Verdict {
    let mut reasons = Vec::new();
    let mut until: Option<DateTime<Utc>> = None;
    for side in SIDES {
        let end = telemetry.end(side);
        match end.report.as_ref().and_then(fresh_until) {
            Some(fresh) if fresh >= now => until = Some(until.map_or(fresh, |u| u.min(fresh))),
            _ => reasons.push(stale_reason(contract, side, end)),
        }
    }
    let stale = !reasons.is_empty();
    let ends: Vec<MemberEnd> = (0..2)
        .flat_map(|index| SIDES.map(|side| observe(contract, telemetry, index, side, now, stale)))
        .collect();
    if stale {
        return Verdict {
            compliance: Compliance::Unknown,
            members_up: 0,
            ends,
            reasons,
            fresh_until: None,
        };
    }
    let members_up = contract
        .members
        .iter()
        .filter(|member| {
            ends.iter()
                .filter(|e| e.member == member.number)
                .all(|e| e.up)
        })
        .count();
    let members_up = u32::try_from(members_up).unwrap_or(u32::MAX);
    let mut flawed = false;
    for end in &ends {
        if let Some(reason) = end_reason(contract, end) {
            flawed |= end.up;
            reasons.push(reason);
        }
    }
    let compliance = match members_up {
        0 => Compliance::Down,
        1 => Compliance::Degraded,
        _ if flawed => Compliance::Degraded,
        _ => Compliance::Compliant,
    };
    Verdict {
        compliance,
        members_up,
        ends,
        reasons,
        fresh_until: until,
    }
}

/// Member `index` at `side`. With stale telemetry, nothing is concluded: not up, no figures.
fn observe(
    contract: &LinkContract,
    telemetry: &LinkTelemetry<'_>,
    index: usize,
    side: LinkSide,
    now: DateTime<Utc>,
    stale: bool,
) -> MemberEnd {
    let member = &contract.members[index];
    let end = telemetry.end(side);
    let observed = end.report.and_then(|r| r.members[index]).filter(|_| !stale);
    let horizon = now
        .checked_sub_signed(freshness(end.interval()))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let recent: Vec<Sample> = end.recent[index]
        .iter()
        .filter(|s| s.at >= horizon)
        .copied()
        .collect();
    MemberEnd {
        member: member.number,
        side,
        interface: member.interface(side).to_owned(),
        reported: observed.is_some(),
        up: observed.is_some_and(|s| s.up),
        speed_mbps: observed.and_then(|s| s.speed_mbps),
        errors_per_minute: if stale {
            None
        } else {
            errors_per_minute(&recent)
        },
    }
}

/// What is wrong with one member at one end, if anything.
fn end_reason(contract: &LinkContract, end: &MemberEnd) -> Option<String> {
    let at = format!(
        "member {} at the {} end ({} {})",
        end.member,
        side_name(end.side),
        contract.router(end.side),
        end.interface
    );
    if !end.reported {
        return Some(format!(
            "{at} is missing from the agent's report (is it among the interfaces the agent watches?)"
        ));
    }
    if !end.up {
        return Some(format!("{at} is down"));
    }
    if let Some(speed) = end.speed_mbps.filter(|s| *s < contract.member_speed_mbps) {
        return Some(format!(
            "{at} runs at {speed} Mbit/s, below the contracted {} Mbit/s",
            contract.member_speed_mbps
        ));
    }
    let limit = f64::from(contract.max_errors_per_minute);
    if let Some(rate) = end.errors_per_minute.filter(|r| *r > limit) {
        return Some(format!(
            "{at} has {rate:.1} errors per minute, above the limit of {}",
            contract.max_errors_per_minute
        ));
    }
    None
}

fn stale_reason(contract: &LinkContract, side: LinkSide, end: &EndTelemetry<'_>) -> String {
    let router = contract.router(side);
    let seconds = end.interval().as_secs();
    let limit = seconds.saturating_mul(u64::from(STALE_AFTER_INTERVALS));
    let side = side_name(side);
    match end.report {
        Some(report) => format!(
            "no telemetry from the {side} end ({router}) since {}: stale after {limit} s ({STALE_AFTER_INTERVALS} intervals of {seconds} s)",
            report
                .observed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None => {
            format!("no telemetry from the {side} end ({router}) yet: its agent has never reported")
        }
    }
}
