//! The `ExtranetLink` reconciler, the kube glue around [`govcloud_core::network::compliance`]: fetch (the
//! contract from the spec, each end's newest report and its members' recent samples from
//! storage, and now and then a window of samples for the utilisation p95) → evaluate (pure) →
//! status (pure; server-side applied under [`FIELD_MANAGER`] only when it changed) → events
//! (`RedundancyLost`, `RedundancyRestored`, `LinkDown`, …) → metrics → requeue only at the
//! moment the telemetry would turn stale: each new report of either end is news that triggers
//! the link ([`crate::activity`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use govcloud_crds::network::extranet_link::{Compliance, ExtranetLinkStatus, LinkSide};
use govcloud_crds::{ExtranetLink, Router};
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource as _, ResourceExt as _};

use super::error::Error;
use super::link_fetch::{end_data, utilisation};
use super::metrics::{LinkFigures, MemberFigures};
use super::runtime::NetworkContext;
use crate::failure::CallFailures as _;
use crate::status_apply::apply_status_if_changed;
use govcloud_core::conditions;
use govcloud_core::network::compliance::{self, LinkTelemetry};
use govcloud_core::network::contract::LinkContract;
use govcloud_core::network::link_status;
use govcloud_core::network::utilisation::Utilisation;

/// The controller's name in metrics and logs.
pub const CONTROLLER: &str = "extranet-link";
/// The field manager of the links' status.
pub const FIELD_MANAGER: &str = "govcloud-extranet-link-controller";

/// The controller of `ExtranetLink`s, also triggered when either end's `Router` spec changes
/// (not its status, which the router controller rewrites at every report).
pub fn controller(client: &Client) -> Controller<ExtranetLink> {
    let controller = Controller::new(
        Api::<ExtranetLink>::all(client.clone()),
        watcher::Config::default(),
    );
    let store = controller.store();
    let generations: Mutex<HashMap<String, Option<i64>>> = Mutex::new(HashMap::new());
    controller.watches(
        Api::<Router>::all(client.clone()),
        watcher::Config::default(),
        move |router| {
            let name = router.name_any();
            let generation = router.metadata.generation;
            let mut seen = generations.lock().unwrap_or_else(PoisonError::into_inner);
            if seen.insert(name.clone(), generation) == Some(generation) {
                return Vec::new();
            }
            links_of(&store, &name)
        },
    )
}

/// The links with an end at `router`.
pub fn links_of(store: &Store<ExtranetLink>, router: &str) -> Vec<ObjectRef<ExtranetLink>> {
    store
        .state()
        .iter()
        .filter(|l| l.spec.upstream.router == router || l.spec.downstream.router == router)
        .map(|l| ObjectRef::from_obj(l.as_ref()))
        .collect()
}

/// Counts the error, then waits for a change (permanent) or retries with backoff (transient).
#[allow(clippy::needless_pass_by_value)] // the signature kube-runtime calls
pub fn error_policy(link: Arc<ExtranetLink>, error: &Error, ctx: Arc<NetworkContext>) -> Action {
    ctx.shared
        .after_failure(CONTROLLER, &link.name_any(), error)
}

/// Reconciles one link.
pub async fn reconcile(link: Arc<ExtranetLink>, ctx: Arc<NetworkContext>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_link(&link, &ctx).await;
    ctx.shared
        .reconciled(CONTROLLER, &link.name_any(), started, result)
}

async fn reconcile_link(link: &ExtranetLink, ctx: &NetworkContext) -> Result<Action, Error> {
    let name = link.name_any();
    let previous = link.status.clone().unwrap_or_default();
    let contract = match LinkContract::from_spec(&link.spec) {
        Ok(contract) => contract,
        Err(source) => {
            let error = Error::InvalidLink { link: name, source };
            record_invalid(ctx, link, &previous, &error).await?;
            return Err(error);
        }
    };
    let clock = ctx.shared.clock.now();
    let now = clock.utc();
    let upstream = end_data(ctx, &contract, LinkSide::Upstream, now).await?;
    let downstream = end_data(ctx, &contract, LinkSide::Downstream, now).await?;
    let telemetry = LinkTelemetry {
        upstream: upstream.telemetry(&contract, LinkSide::Upstream),
        downstream: downstream.telemetry(&contract, LinkSide::Downstream),
    };
    let verdict = compliance::evaluate(&contract, &telemetry, now);
    let utilisation = utilisation(ctx, &name, &contract, now).await?;
    let stamp = clock.stamp();
    let desired = link_status::to_status(
        &previous,
        &verdict,
        Some(&utilisation),
        contract.member_speed_mbps,
        link.metadata.generation,
        stamp,
    );
    apply_status_if_changed(&links_api(ctx), &name, FIELD_MANAGER, &previous, &desired)
        .await
        .map(drop)
        .map_err(Error::kube(
            "update the status of extranet link",
            name.clone(),
        ))?;
    for announcement in link_status::announcements(&previous, &desired) {
        ctx.shared
            .announce(&link.object_ref(&()), "Evaluate", announcement)
            .await;
    }
    record_metrics(ctx, &name, &contract, &verdict, &utilisation);
    // New reports are news from the activity feed; what no news can change is the moment the
    // telemetry turns stale.
    Ok(verdict
        .fresh_until
        .map_or_else(Action::await_change, |until| {
            Action::requeue(
                (until - now + TimeDelta::seconds(1))
                    .to_std()
                    .unwrap_or_default()
                    .max(Duration::from_secs(1)),
            )
        }))
}

/// The status of a link whose spec cannot be evaluated: `Compliant` is `Unknown`, naming the
/// field to fix.
async fn record_invalid(
    ctx: &NetworkContext,
    link: &ExtranetLink,
    previous: &ExtranetLinkStatus,
    error: &Error,
) -> Result<(), Error> {
    let mut desired = previous.clone();
    desired.compliance = Compliance::Unknown;
    let message = match error {
        Error::InvalidLink { source, .. } => source.to_string(),
        other => other.to_string(),
    };
    conditions::set(
        &mut desired.conditions,
        &conditions::Desired {
            kind: link_status::COMPLIANT,
            status: "Unknown",
            reason: error.category(),
            message,
        },
        link.metadata.generation,
        ctx.shared.clock.now().stamp(),
    );
    desired.observed_generation = link.metadata.generation;
    let name = link.name_any();
    apply_status_if_changed(&links_api(ctx), &name, FIELD_MANAGER, previous, &desired)
        .await
        .map(drop)
        .map_err(Error::kube("update the status of extranet link", name))
}

/// The API of the links.
fn links_api(ctx: &NetworkContext) -> Api<ExtranetLink> {
    Api::all(ctx.shared.client.clone())
}

fn record_metrics(
    ctx: &NetworkContext,
    name: &str,
    contract: &LinkContract,
    verdict: &compliance::Verdict,
    utilisation: &Utilisation,
) {
    let metrics = ctx.shared.metrics.network();
    metrics.set_link(
        name,
        &LinkFigures {
            tier: contract.tier,
            compliance: verdict.compliance,
            members_up: verdict.members_up,
            members: verdict
                .ends
                .iter()
                .map(|end| MemberFigures {
                    member: end.member,
                    side: end.side,
                    up: end.up,
                    speed_mbps: end.speed_mbps,
                })
                .collect(),
            utilisation_p95: utilisation.highest(),
        },
    );
    ctx.fleet_changed.notify_one();
}
