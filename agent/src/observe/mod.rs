//! What the agent observes of its router through netlink: links with counters, speed and
//! addresses, and routes summarised per table and family — the `links` and `routes` of a
//! `TelemetryReport`. Synchronous: async callers run it on a blocking thread.

pub mod addresses;
pub mod links;
pub mod names;
pub mod routes;
pub mod speed;

use govcloud_crds::api::{LinkObservation, RouteSummary};

use crate::netlink::{LinkDetail, Netlink, NetlinkError};

pub use speed::SpeedSource;

/// What to observe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObserveOptions {
    /// The interfaces to report, by name; every interface of the namespace when empty.
    pub interfaces: Vec<String>,
    /// Whether to read each reported link's speed from ethtool.
    pub speed: bool,
    /// Whether to list each reported link's addresses.
    pub addresses: bool,
    /// Whether to summarise the routes.
    pub routes: bool,
}

impl Default for ObserveOptions {
    /// Everything, of every interface (what `govcloud-agent inventory` prints).
    fn default() -> Self {
        Self {
            interfaces: Vec::new(),
            speed: true,
            addresses: true,
            routes: true,
        }
    }
}

/// One observation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// The reported links, sorted by index.
    pub links: Vec<LinkObservation>,
    /// Route summaries by family then table (empty unless asked for).
    pub routes: Vec<RouteSummary>,
    /// Interfaces asked for in [`ObserveOptions::interfaces`] that do not exist.
    pub missing: Vec<String>,
}

/// A failed observation.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

/// Observes the network namespace the calling thread is in. Opens its sockets afresh each time
/// (a few microseconds), so a failed dump never leaves a half-read socket behind.
pub fn observe(options: &ObserveOptions) -> Result<Observation, ObserveError> {
    let mut netlink = Netlink::route()?;
    let mut links = links::dump(&mut netlink, LinkDetail::WithStats)?;
    let mut missing = Vec::new();
    if !options.interfaces.is_empty() {
        missing = options
            .interfaces
            .iter()
            .filter(|name| !links.iter().any(|link| &link.name == *name))
            .cloned()
            .collect();
        links.retain(|link| options.interfaces.contains(&link.name));
    }
    if options.addresses {
        addresses::attach(&mut netlink, &mut links)?;
    }
    if options.speed {
        // Speeds are worth less than the rest of the observation: without a generic netlink
        // socket, fall back to sysfs rather than report nothing.
        let mut source = SpeedSource::open().unwrap_or_else(|error| {
            tracing::warn!(%error, "link speeds from sysfs instead of ethtool");
            SpeedSource::Sysfs
        });
        source.attach(&mut links, options.interfaces.is_empty());
    }
    let routes = if options.routes {
        routes::summarise(&mut netlink)?
    } else {
        Vec::new()
    };
    Ok(Observation {
        links,
        routes,
        missing,
    })
}

/// The route summary alone, as [`observe`] collects it (for benchmarks and tools).
pub fn route_summary() -> Result<Vec<RouteSummary>, ObserveError> {
    Ok(routes::summarise(&mut Netlink::route()?)?)
}

/// Link telemetry alone — links and their 64-bit counters, no speed or addresses. [`observe`]
/// uses `LinkDetail::WithStats` (one dump); `WithoutStats` takes the counters from a second,
/// `RTM_GETSTATS` dump instead (measured no faster: docs/benchmarks.md).
pub fn link_telemetry(detail: LinkDetail) -> Result<Vec<LinkObservation>, ObserveError> {
    Ok(links::dump(&mut Netlink::route()?, detail)?)
}
