//! What the link controller reads for one evaluation: each end's newest report and its
//! members' recent samples (for error rates), and the utilisation figures, from the cache
//! while they stand or from the window's samples.

use crate::failure::CallFailures as _;
use std::sync::PoisonError;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use govcloud_crds::network::extranet_link::LinkSide;
use kube::runtime::reflector::ObjectRef;

use super::error::Error;
use super::router_controller::interval_of;
use super::runtime::NetworkContext;
use crate::storage::LatestReport;
use govcloud_core::network::compliance::{EndReport, EndTelemetry, InterfaceState, freshness};
use govcloud_core::network::contract::{LinkContract, SIDES};
use govcloud_core::network::counters::Sample;
use govcloud_core::network::utilisation::{Utilisation, needs_refresh, p95_ratio};

/// Report interval assumed for a router that is not declared.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// What storage holds for one end.
#[derive(Debug)]
pub struct EndData {
    report: Option<LatestReport>,
    declared_interval: Duration,
    recent: [Vec<Sample>; 2],
}

impl EndData {
    /// The end's telemetry for the compliance planner.
    pub fn telemetry(&self, contract: &LinkContract, side: LinkSide) -> EndTelemetry<'_> {
        let state = |index: usize| {
            let interface = contract.members[index].interface(side);
            let link = self
                .report
                .as_ref()?
                .links
                .iter()
                .find(|l| l.name == interface)?;
            Some(InterfaceState {
                up: link.oper_state == "up" && link.carrier,
                speed_mbps: link.speed_mbps,
            })
        };
        EndTelemetry {
            report: self.report.as_ref().map(|report| EndReport {
                observed_at: report.observed_at,
                interval: Duration::from_secs(u64::from(report.interval_seconds.max(1))),
                members: [state(0), state(1)],
            }),
            declared_interval: self.declared_interval,
            recent: [&self.recent[0], &self.recent[1]],
        }
    }
}

/// Samples of one interface from `from` on (and up to a day ahead, for agents whose clock runs
/// fast), oldest first.
async fn samples(
    ctx: &NetworkContext,
    router: &str,
    interface: &str,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<Sample>, Error> {
    let rows = ctx
        .shared
        .storage
        .telemetry()
        .window(router, interface, from, now + TimeDelta::days(1))
        .await
        .map_err(Error::storage(
            "read the telemetry samples",
            format!("{router} {interface}"),
        ))?;
    Ok(rows.iter().map(Sample::from).collect())
}

/// The newest report of the router at `side` and its members' samples of the last three
/// intervals.
pub async fn end_data(
    ctx: &NetworkContext,
    contract: &LinkContract,
    side: LinkSide,
    now: DateTime<Utc>,
) -> Result<EndData, Error> {
    let router = contract.router(side);
    let declared = ctx.routers.get(&ObjectRef::new(router));
    let report = ctx
        .shared
        .storage
        .telemetry()
        .latest_report(router)
        .await
        .map_err(Error::storage(
            "read the latest telemetry report",
            format!("router {router}"),
        ))?;
    let declared_interval = declared
        .as_deref()
        .map_or(DEFAULT_INTERVAL, |r| interval_of(r, None));
    let interval = report.as_ref().map_or(declared_interval, |r| {
        Duration::from_secs(u64::from(r.interval_seconds.max(1)))
    });
    let from = now
        .checked_sub_signed(freshness(interval))
        .unwrap_or(DateTime::UNIX_EPOCH)
        .max(DateTime::UNIX_EPOCH);
    let mut recent = [Vec::new(), Vec::new()];
    if report.is_some() {
        for (index, member) in contract.members.iter().enumerate() {
            recent[index] = samples(ctx, router, member.interface(side), from, now).await?;
        }
    }
    Ok(EndData {
        report,
        declared_interval,
        recent,
    })
}

/// The utilisation figures of `name`: the cached ones while they stand, else computed from the
/// window's samples of each member at each end.
pub async fn utilisation(
    ctx: &NetworkContext,
    name: &str,
    contract: &LinkContract,
    now: DateTime<Utc>,
) -> Result<Utilisation, Error> {
    let window = contract.utilisation_window;
    let cached = ctx
        .utilisation
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(name)
        .cloned();
    if let Some(cached) =
        cached.filter(|c| !needs_refresh(Some(c), window, contract.member_speed_mbps, now))
    {
        return Ok(cached);
    }
    // Never before the epoch (PostgreSQL's range), whatever the window says.
    let from = TimeDelta::from_std(window)
        .ok()
        .and_then(|window| now.checked_sub_signed(window))
        .unwrap_or(DateTime::UNIX_EPOCH)
        .max(DateTime::UNIX_EPOCH);
    let mut ratios = Vec::with_capacity(4);
    for member in &contract.members {
        for side in SIDES {
            let router = contract.router(side);
            let series = samples(ctx, router, member.interface(side), from, now).await?;
            ratios.push((
                member.number,
                side,
                p95_ratio(&series, contract.member_capacity_bps()),
            ));
        }
    }
    let figures = Utilisation {
        computed_at: now,
        window,
        member_speed_mbps: contract.member_speed_mbps,
        ratios,
    };
    ctx.utilisation
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(name, figures.clone());
    Ok(figures)
}
