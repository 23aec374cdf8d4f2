//! The IPv6 rollout endpoint, read-only.

use govcloud_crds::api::Ipv6Status;

use super::{ApiError, Client};

impl Client {
    /// `GET /v1/ipv6`
    pub fn ipv6_status(&self) -> Result<Ipv6Status, ApiError> {
        self.get("/ipv6")
    }
}
