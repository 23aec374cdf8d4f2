//! The migration endpoints: systems and campaigns.

use govcloud_crds::api::{
    MigrationDecision, MigrationPlanView, MigrationSummary, MigrationView, NewConfirmation,
};
use govcloud_crds::migration::system::MigrationPhase;
use serde_json::Value;

use super::{ACCEPT_JSON, ApiError, Client, read_json, segment};

/// The path of system `namespace/name`.
fn system_path(namespace: &str, name: &str) -> String {
    format!("/migrations/{}/{}", segment(namespace), segment(name))
}

impl Client {
    /// `GET /v1/migrations[?tenant=…&phase=…]`
    pub fn migrations(
        &self,
        tenant: Option<&str>,
        phase: Option<MigrationPhase>,
    ) -> Result<Vec<MigrationSummary>, ApiError> {
        let mut request = self.request_get("/migrations", ACCEPT_JSON);
        if let Some(tenant) = tenant {
            request = request.query("tenant", tenant);
        }
        if let Some(phase) = phase {
            request = request.query("phase", format!("{phase:?}"));
        }
        read_json(self.check(request.call())?)
    }

    /// `GET /v1/migrations/{namespace}/{name}`
    pub fn migration(&self, namespace: &str, name: &str) -> Result<MigrationView, ApiError> {
        self.get(&system_path(namespace, name))
    }

    /// `POST /v1/migrations`: the systems, as JSON objects.
    pub fn submit_migrations(&self, systems: &[Value]) -> Result<Vec<MigrationSummary>, ApiError> {
        self.post("/migrations", &systems)
    }

    /// `POST /v1/migrations/{namespace}/{name}/approval`
    pub fn decide_migration(
        &self,
        namespace: &str,
        name: &str,
        decision: &MigrationDecision,
    ) -> Result<MigrationView, ApiError> {
        self.post(
            &format!("{}/approval", system_path(namespace, name)),
            decision,
        )
    }

    /// `POST /v1/migrations/{namespace}/{name}/confirmations`
    pub fn confirm_step(
        &self,
        namespace: &str,
        name: &str,
        confirmation: &NewConfirmation,
    ) -> Result<MigrationView, ApiError> {
        self.post(
            &format!("{}/confirmations", system_path(namespace, name)),
            confirmation,
        )
    }

    /// `GET /v1/migration-plans`
    pub fn migration_plans(&self) -> Result<Vec<MigrationPlanView>, ApiError> {
        self.get("/migration-plans")
    }

    /// `GET /v1/migration-plans/{name}`
    pub fn migration_plan(&self, name: &str) -> Result<MigrationPlanView, ApiError> {
        self.get(&format!("/migration-plans/{}", segment(name)))
    }
}
