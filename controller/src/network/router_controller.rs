//! The `Router` reconciler, the kube glue around [`govcloud_core::network::router_status`] and
//! [`govcloud_core::network::config_status`]: fetch (the router's newest telemetry report and the configuration
//! served to it, from storage) → status (pure) → apply the fields this controller owns under
//! [`FIELD_MANAGER`] when they changed → events on connection and configuration changes →
//! metrics (the router's own; the fleet's from the cache, [`keep_fleet_metrics`]) → requeue
//! only at the moment the router would turn stale. Telemetry arrives in SQL, not as a change of
//! the object: each new report or served configuration is news that triggers the router
//! ([`crate::activity`]).

use crate::failure::CallFailures as _;
use crate::runtime::Shutdown;
use crate::status_apply::apply_status;
use std::collections::BTreeSet;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use govcloud_crds::Router;
use govcloud_crds::network::router::{InterfaceStatus, RouterStatus};
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, Resource as _, ResourceExt};

use super::error::Error;
use super::runtime::NetworkContext;
use crate::routing::metrics::ConfigFigures;
use crate::storage::{LatestReport, StoredRouterConfig};
use govcloud_core::network::config_status::{self, ConfigObservation, Served};
use govcloud_core::network::readiness;
use govcloud_core::network::router_status::{self, Connection, RouterObservation};

/// The controller's name in metrics and logs.
pub const CONTROLLER: &str = "router";
/// The field manager of the status fields this controller writes.
pub const FIELD_MANAGER: &str = "govcloud-router-controller";

/// The controller of `Router`s.
pub fn controller(client: &Client) -> Controller<Router> {
    Controller::new(
        Api::<Router>::all(client.clone()),
        watcher::Config::default(),
    )
}

/// Counts the error, then waits for a change (permanent) or retries with backoff (transient).
#[allow(clippy::needless_pass_by_value)] // the signature kube-runtime calls
pub fn error_policy(router: Arc<Router>, error: &Error, ctx: Arc<NetworkContext>) -> Action {
    ctx.shared
        .after_failure(CONTROLLER, &router.name_any(), error)
}

/// What a stored report says for the router's status.
pub fn observation(report: &LatestReport) -> RouterObservation {
    RouterObservation {
        agent_version: Some(report.agent_version.clone()),
        observed_at: report.observed_at,
        interval: Some(Duration::from_secs(u64::from(report.interval_seconds))),
        interfaces: report
            .links
            .iter()
            .map(|link| InterfaceStatus {
                name: link.name.clone(),
                oper_state: link.oper_state.clone(),
                carrier: link.carrier,
                speed_mbps: link.speed_mbps,
                mtu: link.mtu,
            })
            .collect(),
    }
}

/// The interval that decides a router's staleness: its agent's own, else the declared one.
pub fn interval_of(router: &Router, report: Option<&LatestReport>) -> Duration {
    let seconds = report.map_or(router.spec.report_interval_seconds, |r| r.interval_seconds);
    Duration::from_secs(u64::from(seconds.max(1)))
}

/// Reconciles one router.
pub async fn reconcile(router: Arc<Router>, ctx: Arc<NetworkContext>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_router(&router, &ctx).await;
    ctx.shared
        .reconciled(CONTROLLER, &router.name_any(), started, result)
}

/// Sets the router's own series: its agent's (`(age, interval)` of its newest report), and its
/// configuration lag and drift. The fleet's series follow from the cache
/// ([`keep_fleet_metrics`]).
fn set_metrics(ctx: &NetworkContext, name: &str, agent: Option<(f64, u64)>, status: &RouterStatus) {
    let metrics = ctx.shared.metrics.network();
    metrics.set_agent(name, agent.map(|a| a.0), agent.map(|a| a.1));
    ctx.shared.metrics.routing().set_router(
        name,
        ConfigFigures {
            lag: status
                .desired_config_generation
                .map(|d| d - status.applied_config_generation.unwrap_or(0)),
            drift: !status.drift.is_empty(),
        },
    );
}

/// How long after a router's or a link's reconcile the fleet's metrics are recomputed: a burst
/// of reconciles (a whole fleet at start) costs one pass, and the status just written has
/// reached the cache by then.
const FLEET_SETTLE: Duration = Duration::from_secs(1);

/// Until `shutdown`, recomputes the fleet's metrics from the caches shortly after each
/// notification: forgets the series of routers and links that are gone, and counts the
/// IPv6-ready sites. One pass over the caches per burst of reconciles, not one per reconcile.
pub async fn keep_fleet_metrics(ctx: Arc<NetworkContext>, shutdown: impl Shutdown) {
    loop {
        tokio::select! {
            () = ctx.fleet_changed.notified() => {}
            () = shutdown.clone() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(FLEET_SETTLE) => {}
            () = shutdown.clone() => return,
        }
        let routers = ctx.routers.state();
        let names: BTreeSet<String> = routers.iter().map(|r| r.name_any()).collect();
        ctx.shared.metrics.network().retain_routers(&names);
        let routing = ctx.shared.metrics.routing();
        routing.retain_routers(&names);
        routing.set_sites(&readiness::sites(&routers));
        let links: BTreeSet<String> = ctx.links.state().iter().map(|l| l.name_any()).collect();
        ctx.shared.metrics.network().retain_links(&links);
        ctx.utilisation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(&|link| links.contains(link));
    }
}

/// The configuration served, as the status needs it: its generation, its addresses, how many
/// routes, and its probes (read from the stored body; a body that does not parse has none).
fn served(stored: &StoredRouterConfig) -> Served {
    let body = serde_json::from_str::<serde_json::Value>(&stored.body).unwrap_or_default();
    let field = |name: &str| body.get(name).cloned().unwrap_or_default();
    Served {
        generation: stored.generation,
        addresses: serde_json::from_value(field("addresses")).unwrap_or_default(),
        routes: field("routes").as_array().map_or(0, Vec::len),
        probes: serde_json::from_value(field("probes")).unwrap_or_default(),
    }
}

async fn reconcile_router(router: &Router, ctx: &NetworkContext) -> Result<Action, Error> {
    let name = router.name_any();
    let stored = ctx
        .shared
        .storage
        .router_configs()
        .find(&name)
        .await
        .map_err(Error::storage(
            "read the configuration served",
            format!("router {name}"),
        ))?;
    let served = stored.as_ref().map(served);
    let report = ctx
        .shared
        .storage
        .telemetry()
        .latest_report(&name)
        .await
        .map_err(Error::storage(
            "read the latest telemetry report",
            format!("router {name}"),
        ))?;
    let interval = interval_of(router, report.as_ref());
    let clock = ctx.shared.clock.now();
    let now = clock.utc();
    let previous = router.status.clone().unwrap_or_default();
    let (mut desired, connection) = router_status::to_status(
        &previous,
        report.as_ref().map(observation).as_ref(),
        interval,
        router.metadata.generation,
        now,
    );
    config_status::apply(
        &mut desired,
        ConfigObservation {
            served: served.as_ref(),
            report: report.as_ref().and_then(|r| r.config.as_ref()),
            reporting: matches!(connection, Connection::Fresh { .. }),
            links: report.as_ref().map_or(&[][..], |r| &r.links),
            routes: report.as_ref().map_or(&[][..], |r| &r.routes),
        },
        previous.prefix.is_some(),
        router.metadata.generation,
        clock.stamp(),
    );
    if router_status::owned_fields_differ(&previous, &desired) {
        let fields = router_status::owned_fields(&desired);
        let api = Api::<Router>::all(ctx.shared.client.clone());
        apply_status(&api, &name, FIELD_MANAGER, &fields)
            .await
            .map_err(Error::kube("update the status of router", name.clone()))?;
    }
    let announcements = router_status::announcement(&previous, &desired)
        .into_iter()
        .chain(config_status::announcements(&previous, &desired));
    for announcement in announcements {
        ctx.shared
            .announce(&router.object_ref(&()), "Observe", announcement)
            .await;
    }
    let age = report
        .as_ref()
        .and_then(|r| (now - r.observed_at).to_std().ok())
        .map_or(0.0, |a| a.as_secs_f64());
    let agent = report.as_ref().map(|_| (age, interval.as_secs()));
    set_metrics(ctx, &name, agent, &desired);
    ctx.fleet_changed.notify_one();
    Ok(router_status::next_check(connection, now)
        .map_or_else(Action::await_change, Action::requeue))
}
