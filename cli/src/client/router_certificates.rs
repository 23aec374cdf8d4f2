//! The router enrollment endpoints: issue, list and revoke a router's client certificates.

use govcloud_crds::api::{IssuedRouterCertificate, NewRouterCertificate, RouterCertificateView};

use super::{ApiError, Client, segment};

/// The path of router `name`'s certificates.
fn certificates_path(router: &str) -> String {
    format!("/routers/{}/certificates", segment(router))
}

impl Client {
    /// `POST /v1/routers/{name}/certificates`
    pub fn enroll_router(
        &self,
        router: &str,
        request: &NewRouterCertificate,
    ) -> Result<IssuedRouterCertificate, ApiError> {
        self.post(&certificates_path(router), request)
    }

    /// `GET /v1/routers/{name}/certificates`
    pub fn router_certificates(
        &self,
        router: &str,
    ) -> Result<Vec<RouterCertificateView>, ApiError> {
        self.get(&certificates_path(router))
    }

    /// `POST /v1/routers/{name}/certificates/{serial}/revocation`
    pub fn revoke_router_certificate(
        &self,
        router: &str,
        serial: &str,
    ) -> Result<RouterCertificateView, ApiError> {
        self.post(
            &format!(
                "{}/{}/revocation",
                certificates_path(router),
                segment(serial)
            ),
            &serde_json::json!({}),
        )
    }
}
