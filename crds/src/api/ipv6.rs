//! IPv6 readiness as the API shows it (`GET /v1/ipv6`): sites ready over total, by county,
//! and each site with why it is not ready yet.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use super::schemas::SiteLevelSchema;
use crate::common::SiteLevel;

/// Where the IPv6 rollout stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Ipv6Status {
    /// Sites ready.
    pub ready: u32,
    /// Sites in all.
    pub total: u32,
    /// Each county (the city under its router's name), by name.
    pub counties: Vec<CountyIpv6>,
    /// Each site, by router name.
    pub sites: Vec<SiteIpv6>,
}

/// Ready and total sites of one county.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CountyIpv6 {
    /// The county router's name (the city router's for the city).
    pub county: String,
    /// Sites ready.
    pub ready: u32,
    /// Sites in all.
    pub total: u32,
}

/// One site's readiness: its address and routes applied, no drift, its probes answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SiteIpv6 {
    /// The router.
    pub router: String,
    /// City, county or township.
    #[cfg_attr(feature = "openapi", schema(value_type = SiteLevelSchema))]
    pub level: SiteLevel,
    /// The county it counts in.
    pub county: String,
    /// The site's IPv6 prefix, once allocated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Whether it is ready.
    pub ready: bool,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
