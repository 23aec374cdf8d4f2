//! `govcloud-agent inventory`: one observation of everything, as JSON, with no controller.

use chrono::{DateTime, Utc};
use govcloud_crds::api::{LinkObservation, RouteSummary};
use serde::Serialize;

use crate::observe::{self, ObserveError, ObserveOptions};

/// What `govcloud-agent inventory` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// The host name of the UTS namespace the agent runs in.
    pub hostname: String,
    /// When the observation started.
    pub observed_at: DateTime<Utc>,
    /// The links, sorted by index.
    pub links: Vec<LinkObservation>,
    /// Route summaries by family then table.
    pub routes: Vec<RouteSummary>,
    /// Interfaces asked for that do not exist.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// Observes with `options` and stamps the result.
pub fn inventory(options: &ObserveOptions) -> Result<Inventory, ObserveError> {
    let observed_at = Utc::now();
    let observation = observe::observe(options)?;
    Ok(Inventory {
        hostname: hostname(),
        observed_at,
        links: observation.links,
        routes: observation.routes,
        missing: observation.missing,
    })
}

/// The host name from `/proc/sys/kernel/hostname` (right for the calling process's UTS
/// namespace); empty when unreadable.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}
