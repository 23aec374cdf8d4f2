//! The kube and SQL glue of the desired configuration: reads the [`Inputs`] from the API
//! server (routers, links, dedicated networks, address pools: listed, never from a cache) and
//! the ledger (active allocations), shares one read among concurrent requests
//! ([`InputsCache`]), and records a built configuration to give it its generation
//! ([`record`]).

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use govcloud_crds::api::RouterConfig;
use govcloud_crds::{AddressPool, DedicatedNetwork, ExtranetLink, Router};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt as _};
use serde::de::DeserializeOwned;

use crate::storage::{Storage, StorageError};
use govcloud_core::ipam::{Owner, Prefix};
use govcloud_core::routing::build::Desired;
use govcloud_core::routing::etag::{canonical_json, etag};
use govcloud_core::routing::inputs::{Allocation, Inputs, Pool};

/// Why the inputs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A list call to the API server failed.
    #[error("failed to list the {kind} objects")]
    Kube {
        kind: &'static str,
        #[source]
        source: Box<kube::Error>,
    },
    /// The ledger could not be read.
    #[error("failed to read the IPAM ledger of pool {pool}")]
    Storage {
        pool: String,
        #[source]
        source: Box<StorageError>,
    },
}

async fn list<K>(client: &Client, kind: &'static str) -> Result<Vec<K>, FetchError>
where
    K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    Api::<K>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map(|list| list.items)
        .map_err(|source| FetchError::Kube {
            kind,
            source: Box::new(source),
        })
}

/// Reads every input now: the four kinds from the API server, the active allocations of
/// each pool from the ledger. A pool whose prefix does not parse, and a ledger row that does
/// not, are left out (the `AddressPool` reconciler reports them).
pub async fn read_inputs(
    client: &Client,
    storage: &Storage,
    now: DateTime<Utc>,
) -> Result<Inputs, FetchError> {
    let (routers, links, networks, pools) = futures::try_join!(
        list::<Router>(client, "Router"),
        list::<ExtranetLink>(client, "ExtranetLink"),
        list::<DedicatedNetwork>(client, "DedicatedNetwork"),
        list::<AddressPool>(client, "AddressPool"),
    )?;
    let pools: Vec<Pool> = pools
        .iter()
        .filter_map(|pool| {
            Some(Pool {
                name: pool.name_any(),
                prefix: Prefix::parse(pool.spec.prefix.as_str()).ok()?,
            })
        })
        .collect();
    let mut allocations = Vec::new();
    for pool in &pools {
        let rows = storage
            .ipam()
            .list_in_use(&pool.name, now)
            .await
            .map_err(|source| FetchError::Storage {
                pool: pool.name.clone(),
                source: Box::new(source),
            })?;
        allocations.extend(
            rows.into_iter()
                .filter(|row| row.released_at.is_none())
                .filter_map(|row| {
                    Some(Allocation {
                        prefix: Prefix::parse(&row.prefix).ok()?,
                        pool: row.pool,
                        owner: Owner::new(row.owner_kind, row.owner_name),
                    })
                }),
        );
    }
    Ok(Inputs {
        routers,
        links,
        networks,
        pools,
        allocations,
    })
}

/// One read of the inputs shared by the requests that need one at least as recent: a request
/// asks for inputs read after a given instant, and reuses the last read when it started then
/// or later, so many agents long-polling at once cost one read per second.
#[derive(Debug, Default)]
pub struct InputsCache {
    last: tokio::sync::Mutex<Option<(Instant, Arc<Inputs>)>>,
}

impl InputsCache {
    /// Inputs whose read started at `since` or later.
    pub async fn read_since(
        &self,
        since: Instant,
        client: &Client,
        storage: &Storage,
    ) -> Result<Arc<Inputs>, FetchError> {
        let mut last = self.last.lock().await;
        if let Some((started, inputs)) = last.as_ref()
            && *started >= since
        {
            return Ok(inputs.clone());
        }
        let started = Instant::now();
        let inputs = Arc::new(read_inputs(client, storage, Utc::now()).await?);
        *last = Some((started, inputs.clone()));
        Ok(inputs)
    }
}

/// A configuration as served: with its generation, and its ETag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// The configuration, with the generation storage gave it.
    pub config: RouterConfig,
    /// Its ETag (without quotes).
    pub etag: String,
    /// Whether this call stored a new generation.
    pub changed: bool,
}

/// Records `desired` for its router at `now` (a new generation when its content changed)
/// and returns it as served.
pub async fn record(
    storage: &Storage,
    desired: &Desired,
    now: DateTime<Utc>,
) -> Result<Served, StorageError> {
    let tag = etag(&desired.config);
    let recorded = storage
        .router_configs()
        .record(
            &desired.config.router,
            &tag,
            &canonical_json(&desired.config),
            now,
        )
        .await?;
    if recorded.changed {
        tracing::info!(
            router = %desired.config.router,
            generation = recorded.config.generation,
            etag = %tag,
            "new desired configuration"
        );
        for skipped in &desired.skipped {
            tracing::warn!(router = %desired.config.router, %skipped, "left out of the desired configuration");
        }
    }
    Ok(Served {
        config: RouterConfig {
            generation: recorded.config.generation,
            ..desired.config.clone()
        },
        etag: tag,
        changed: recorded.changed,
    })
}
