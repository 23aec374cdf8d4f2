//! The extranet endpoints: routers and links, read-only.

use govcloud_crds::api::{LinkSummary, LinkView, RouterSummary, RouterView};
use govcloud_crds::network::extranet_link::Compliance;

use super::{ACCEPT_JSON, ApiError, Client, read_json, segment};

impl Client {
    /// `GET /v1/routers`
    pub fn routers(&self) -> Result<Vec<RouterSummary>, ApiError> {
        self.get("/routers")
    }

    /// `GET /v1/routers/{name}`
    pub fn router(&self, name: &str) -> Result<RouterView, ApiError> {
        self.get(&format!("/routers/{}", segment(name)))
    }

    /// `GET /v1/links[?compliance=…&router=…]`
    pub fn links(
        &self,
        compliance: Option<Compliance>,
        router: Option<&str>,
    ) -> Result<Vec<LinkSummary>, ApiError> {
        let mut request = self.request_get("/links", ACCEPT_JSON);
        if let Some(compliance) = compliance {
            request = request.query("compliance", format!("{compliance:?}"));
        }
        if let Some(router) = router {
            request = request.query("router", router);
        }
        read_json(self.check(request.call())?)
    }

    /// `GET /v1/links/{name}`
    pub fn link(&self, name: &str) -> Result<LinkView, ApiError> {
        self.get(&format!("/links/{}", segment(name)))
    }
}
