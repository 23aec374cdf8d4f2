//! The `DedicatedNetwork` reconciler, the kube glue around the pure stages: fetch (each site's
//! `Router` and the configuration served to it, the segment ledger, the sites' /64 in the IPAM
//! ledger) → validate ([`govcloud_core::consolidation::sites`]) → allocate VLAN and VRF in one ledger transaction
//! ([`govcloud_core::consolidation::allocation`]) → status ([`govcloud_core::consolidation::status`], server-side applied under
//! [`FIELD_MANAGER`] only when it changed) → events on phase changes → metrics → requeue
//! soon while waiting for a /64 or for the routers, rarely otherwise.
//!
//! Routers drive the phases (their desired and applied configuration generations), so a change
//! of a router's generations or `ConfigApplied` re-runs the networks with a site on it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt as _, TryStreamExt as _};
use govcloud_crds::Router;
use govcloud_crds::common::Prefix;
use govcloud_crds::network::dedicated_network::{
    DedicatedNetwork, DedicatedNetworkStatus, Disposition, SiteAllocation,
};
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource as _, ResourceExt as _};

use super::error::Error;
use super::metrics::NetworkFigures;
use super::runtime::ConsolidationContext;
use crate::activity::News;
use crate::failure::CallFailures as _;
use crate::status_apply::apply_status_if_changed;
use crate::storage::StoredRouterConfig;
use govcloud_core::conditions;
use govcloud_core::consolidation::allocation::SegmentAllocation;
use govcloud_core::consolidation::allocation::{Wanted, plan, vrf_device};
use govcloud_core::consolidation::disposition::disposition;
use govcloud_core::consolidation::phase::{RouterConfigState, segment_generation};
use govcloud_core::consolidation::sites::check_sites;
use govcloud_core::consolidation::status::{self, Facts, Problem, READY};

/// The controller's name in metrics and logs.
pub const CONTROLLER: &str = "dedicated-network";
/// The field manager of the networks' status.
pub const FIELD_MANAGER: &str = "govcloud-dedicated-network-controller";
/// How soon a network with a problem (an unknown router, a VLAN clash) is looked at again.
const BLOCKED: Duration = Duration::from_secs(30);
/// Router reads in flight at once.
const ROUTER_READS: usize = 8;

/// What of a router moves a network's phase.
type RouterFacts = (Option<i64>, Option<i64>, Option<i64>, bool);

fn router_facts(router: &Router) -> RouterFacts {
    let status = router.status.clone().unwrap_or_default();
    (
        router.metadata.generation,
        status.desired_config_generation,
        status.applied_config_generation,
        conditions::status_of(&status.conditions, "ConfigApplied") == Some("True"),
    )
}

/// The controller of `DedicatedNetwork`s, also triggered when a `Router` appears or its
/// configuration generations or `ConfigApplied` change (not at every telemetry report), and by
/// `news` in SQL: a new configuration served to a site's router, a new allocation while a
/// network waits for the /64s of its sites.
pub fn controller(
    client: &Client,
    news: impl Stream<Item = News> + Send + 'static,
) -> Controller<DedicatedNetwork> {
    let controller = Controller::new(
        Api::<DedicatedNetwork>::all(client.clone()),
        watcher::Config::default(),
    );
    let store = controller.store();
    let news_store = store.clone();
    let seen: Mutex<HashMap<String, RouterFacts>> = Mutex::new(HashMap::new());
    controller
        .reconcile_on(news.flat_map(move |news| {
            futures::stream::iter(match news {
                // A configuration served to a router may now carry a network's segment.
                News::Router(router) => networks_on(&news_store, &router),
                News::Allocations => waiting_for_prefixes(&news_store),
            })
        }))
        .watches(
            Api::<Router>::all(client.clone()),
            watcher::Config::default(),
            move |router| {
                let name = router.name_any();
                let facts = router_facts(&router);
                let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
                if seen.insert(name.clone(), facts) == Some(facts) {
                    return Vec::new();
                }
                networks_on(&store, &name)
            },
        )
}

/// The networks whose `Ready` says they wait for the /64s of their sites.
fn waiting_for_prefixes(store: &Store<DedicatedNetwork>) -> Vec<ObjectRef<DedicatedNetwork>> {
    store
        .state()
        .iter()
        .filter(|n| {
            n.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == READY && c.reason == "PrefixPending")
            })
        })
        .map(|n| ObjectRef::from_obj(n.as_ref()))
        .collect()
}

/// The networks with a site at `router`.
fn networks_on(store: &Store<DedicatedNetwork>, router: &str) -> Vec<ObjectRef<DedicatedNetwork>> {
    store
        .state()
        .iter()
        .filter(|n| n.spec.sites.iter().any(|s| s.router == router))
        .map(|n| ObjectRef::from_obj(n.as_ref()))
        .collect()
}

/// Counts the error and retries with backoff (every error here is transient).
#[allow(clippy::needless_pass_by_value)] // the signature kube-runtime calls
pub fn error_policy(
    network: Arc<DedicatedNetwork>,
    error: &Error,
    ctx: Arc<ConsolidationContext>,
) -> Action {
    ctx.shared
        .after_failure(CONTROLLER, &network.name_any(), error)
}

/// Reconciles one network.
pub async fn reconcile(
    network: Arc<DedicatedNetwork>,
    ctx: Arc<ConsolidationContext>,
) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_network(&network, &ctx).await;
    ctx.shared
        .reconciled(CONTROLLER, &network.name_any(), started, result)
}

/// Each site's router that exists, by name.
async fn site_routers(
    ctx: &ConsolidationContext,
    network: &DedicatedNetwork,
) -> Result<BTreeMap<String, Router>, Error> {
    let names: BTreeSet<String> = network
        .spec
        .sites
        .iter()
        .map(|s| s.router.clone())
        .collect();
    let api = Api::<Router>::all(ctx.shared.client.clone());
    futures::stream::iter(names)
        .map(|name| {
            let api = api.clone();
            async move {
                api.get_opt(&name)
                    .await
                    .map(|router| router.map(|r| (name.clone(), r)))
                    .map_err(Error::kube("read router", name))
            }
        })
        .buffer_unordered(ROUTER_READS)
        .try_filter_map(|found| async move { Ok(found) })
        .try_collect()
        .await
}

/// Allocates (or keeps, or releases) the network's VLANs and VRFs; returns its rows and the
/// allocation's refusals.
async fn segments(
    ctx: &ConsolidationContext,
    network: &DedicatedNetwork,
    allocate: bool,
    keep: bool,
) -> Result<(Vec<SegmentAllocation>, Vec<Problem>), Error> {
    let name = network.name_any();
    let segments = ctx.shared.storage.segments();
    if !keep {
        segments
            .release_network(&name)
            .await
            .map_err(Error::storage(
                "release VLANs and VRFs",
                format!("dedicated network {name}"),
            ))?;
        return Ok((Vec::new(), Vec::new()));
    }
    let routers: Vec<String> = network
        .spec
        .sites
        .iter()
        .map(|s| s.router.clone())
        .collect();
    if !allocate {
        let rows = segments.of_network(&name).await.map_err(Error::storage(
            "read VLANs and VRFs",
            format!("dedicated network {name}"),
        ))?;
        return Ok((rows, Vec::new()));
    }
    segments
        .release_except(&name, &routers)
        .await
        .map_err(Error::storage(
            "release VLANs and VRFs",
            format!("dedicated network {name}"),
        ))?;
    let wanted: Vec<Wanted> = network
        .spec
        .sites
        .iter()
        .enumerate()
        .map(|(index, site)| Wanted {
            index,
            router: site.router.clone(),
            pinned: site.vlan_id,
        })
        .collect();
    let outcome = segments
        .allocate(
            &name,
            &routers,
            |held| plan(&name, &wanted, held),
            ctx.shared.clock.precise(),
        )
        .await
        .map_err(Error::storage(
            "allocate VLANs and VRFs",
            format!("dedicated network {name}"),
        ))?;
    match outcome {
        Ok(rows) => Ok((rows, Vec::new())),
        Err(refusals) => {
            let rows = segments.of_network(&name).await.map_err(Error::storage(
                "read VLANs and VRFs",
                format!("dedicated network {name}"),
            ))?;
            let problems = refusals
                .iter()
                .map(|r| Problem {
                    category: r.category(),
                    message: r.to_string(),
                })
                .collect();
            Ok((rows, problems))
        }
    }
}

async fn reconcile_network(
    network: &DedicatedNetwork,
    ctx: &ConsolidationContext,
) -> Result<Action, Error> {
    let name = network.name_any();
    let spec = &network.spec;
    let previous = network.status.clone().unwrap_or_default();
    let disposition = disposition(spec);
    let routers = site_routers(ctx, network).await?;
    let known: BTreeSet<String> = routers.keys().cloned().collect();
    let mut problems: Vec<Problem> = check_sites(&spec.sites, &known)
        .iter()
        .map(|p| Problem {
            category: p.category(),
            message: p.to_string(),
        })
        .collect();
    let extranet = disposition == Disposition::MigrateToExtranet;
    // The segments outlive the decommission (of the old network): only deletion ends them.
    let keep = extranet;
    let allocate = keep && problems.is_empty() && !spec.sites.is_empty();
    let (rows, refusals) = segments(ctx, network, allocate, keep).await?;
    problems.extend(refusals);
    let prefixes: BTreeMap<String, String> = if keep {
        ctx.shared
            .storage
            .segments()
            .site_prefixes(&name)
            .await
            .map_err(Error::storage(
                "read the sites' prefixes",
                format!("dedicated network {name}"),
            ))?
            .into_iter()
            .collect()
    } else {
        BTreeMap::new()
    };
    let facts = Facts {
        disposition,
        problems,
        site_count: spec.sites.len(),
        sites: site_allocations(network, &rows, &prefixes),
        routers: if extranet {
            let served = served_configs(ctx, network).await?;
            router_states(network, &routers, &rows, &served)
        } else {
            Vec::new()
        },
        decommission: spec.decommission.is_some(),
        annual_cost: spec.annual_cost_yuan,
    };
    let desired = status::to_status(
        &previous,
        &facts,
        network.metadata.generation,
        ctx.shared.clock.now().stamp(),
    );
    let api = Api::<DedicatedNetwork>::all(ctx.shared.client.clone());
    apply_status_if_changed(&api, &name, FIELD_MANAGER, &previous, &desired)
        .await
        .map(drop)
        .map_err(Error::kube(
            "update the status of dedicated network",
            name.clone(),
        ))?;
    for announcement in status::announcements(&previous, &desired) {
        ctx.shared
            .announce(&network.object_ref(&()), "Consolidate", announcement)
            .await;
    }
    record_metrics(ctx, &name, disposition, &desired);
    Ok(next_look(&desired))
}

/// Each site holding a VLAN and a VRF, in spec order, with its /64 once allocated.
fn site_allocations(
    network: &DedicatedNetwork,
    rows: &[SegmentAllocation],
    prefixes: &BTreeMap<String, String>,
) -> Vec<SiteAllocation> {
    network
        .spec
        .sites
        .iter()
        .filter_map(|site| rows.iter().find(|r| r.router == site.router))
        .map(|row| SiteAllocation {
            router: row.router.clone(),
            vlan_id: row.vlan_id,
            vrf: vrf_device(row.vrf_table),
            vrf_table: row.vrf_table,
            prefix: prefixes.get(&row.router).map(|p| Prefix::from(p.as_str())),
        })
        .collect()
}

/// The configuration served to each site's router, by router (none before one is served).
async fn served_configs(
    ctx: &ConsolidationContext,
    network: &DedicatedNetwork,
) -> Result<BTreeMap<String, StoredRouterConfig>, Error> {
    let mut served = BTreeMap::new();
    for site in &network.spec.sites {
        let config = ctx
            .shared
            .storage
            .router_configs()
            .find(&site.router)
            .await
            .map_err(Error::storage(
                "read the configuration served",
                format!("router {}", site.router),
            ))?;
        if let Some(config) = config {
            served.insert(site.router.clone(), config);
        }
    }
    Ok(served)
}

/// What each site's router says of its configuration (nothing for a router that is missing),
/// and whether the configuration served to it carries the segment the site holds.
fn router_states(
    network: &DedicatedNetwork,
    routers: &BTreeMap<String, Router>,
    rows: &[SegmentAllocation],
    served: &BTreeMap<String, StoredRouterConfig>,
) -> Vec<RouterConfigState> {
    let name = network.name_any();
    network
        .spec
        .sites
        .iter()
        .map(|site| {
            let (_, desired, applied, config_applied) = routers
                .get(&site.router)
                .map(router_facts)
                .unwrap_or_default();
            let row = rows.iter().find(|r| r.router == site.router);
            let segment_generation = row.zip(served.get(&site.router)).and_then(|(row, config)| {
                segment_generation(
                    &config.body,
                    config.generation,
                    &name,
                    row.vlan_id,
                    row.vrf_table,
                )
            });
            RouterConfigState {
                router: site.router.clone(),
                desired,
                applied,
                config_applied,
                segment_generation,
            }
        })
        .collect()
}

/// When to look at the network again: only while blocked by something no watch reports (a VLAN
/// another network holds). A network waiting for its /64s is triggered by the news of a new
/// allocation, one waiting for its routers by their status and the news of what they are served.
fn next_look(status: &DedicatedNetworkStatus) -> Action {
    let ready = status.conditions.iter().find(|c| c.type_ == READY);
    match ready {
        Some(c) if c.status == "False" && c.reason != "PrefixPending" => Action::requeue(BLOCKED),
        _ => Action::await_change(),
    }
}

fn record_metrics(
    ctx: &ConsolidationContext,
    name: &str,
    disposition: Disposition,
    status: &DedicatedNetworkStatus,
) {
    let metrics = ctx.shared.metrics.consolidation();
    metrics.set(
        name,
        NetworkFigures {
            disposition,
            phase: status.phase,
            savings_yuan: status.annual_savings_yuan,
        },
    );
    let existing: BTreeSet<String> = ctx.networks.state().iter().map(|n| n.name_any()).collect();
    if existing.contains(name) {
        metrics.retain(&existing);
    }
}
