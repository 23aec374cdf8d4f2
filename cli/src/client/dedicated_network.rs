//! The dedicated-network endpoints, read-only: `/v1/networks`.

use govcloud_crds::api::{DedicatedNetworkSummary, DedicatedNetworkView};

use super::{ApiError, Client, segment};

impl Client {
    /// `GET /v1/networks`
    pub fn dedicated_networks(&self) -> Result<Vec<DedicatedNetworkSummary>, ApiError> {
        self.get("/networks")
    }

    /// `GET /v1/networks/{name}`
    pub fn dedicated_network(&self, name: &str) -> Result<DedicatedNetworkView, ApiError> {
        self.get(&format!("/networks/{}", segment(name)))
    }
}
