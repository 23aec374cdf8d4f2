//! Migrations through the API: systems (`SystemMigration`) listed, shown,
//! submitted in batches, approved or denied by operations, their manual steps confirmed; and
//! the campaigns (`MigrationPlan`) with other tenants' systems as counts only.
//!
//! A token sees the systems in the namespaces of the tenants it sees ([`ownership`]); any other
//! system answers exactly like a missing one (`404`). Every change is written to Kubernetes with
//! the field manager `govcloud-api` and audited; a change whose audit record cannot be written
//! is taken back.

pub mod confirmations;
pub mod decisions;
pub mod ownership;
pub mod plans;
pub mod read;
pub mod submit;
pub mod views;

#[cfg(test)]
pub(crate) mod testing;

use govcloud_crds::SystemMigration;
use kube::Api;

use self::ownership::{Ownership, SeesNamespaces as _};
use super::auth::Caller;
use super::input::is_object_name;
use super::problem::ApiProblem;
use super::scope::Scope;
use super::state::{AppState, kube_problem};

/// What the `404` of a system says, whether it is missing or not visible.
const SYSTEM: &str = "system";

/// Largest accepted body of a submission (a county's whole inventory).
pub const MAX_SUBMISSION_BYTES: usize = 4 * 1024 * 1024;

/// What a caller sees: its scope and who owns which namespace.
#[derive(Clone, Debug)]
pub struct Visibility {
    /// The tenants the caller sees.
    pub scope: Scope,
    /// The namespaces' tenants.
    pub ownership: Ownership,
}

impl Visibility {
    /// What `caller` sees now.
    pub async fn of(state: &AppState, caller: &Caller) -> Result<Self, ApiProblem> {
        let tenants = state.tenants().await?;
        Ok(Self {
            scope: state.scope(caller).await?,
            ownership: Ownership::new(&tenants),
        })
    }

    /// Whether the caller sees the systems in `namespace`.
    pub fn sees(&self, namespace: &str) -> bool {
        self.ownership.sees(&self.scope, namespace)
    }

    /// Whether the caller sees `system`.
    pub fn sees_system(&self, system: &SystemMigration) -> bool {
        system
            .metadata
            .namespace
            .as_deref()
            .is_some_and(|namespace| self.sees(namespace))
    }
}

/// The systems of one namespace.
pub fn namespaced(state: &AppState, namespace: &str) -> Api<SystemMigration> {
    Api::namespaced(state.client().clone(), namespace)
}

/// The system `namespace/name` if the caller sees it, else the `404` of a missing system.
pub async fn find_visible(
    state: &AppState,
    visibility: &Visibility,
    namespace: &str,
    name: &str,
) -> Result<SystemMigration, ApiProblem> {
    if !is_object_name(namespace) || !is_object_name(name) || !visibility.sees(namespace) {
        return Err(ApiProblem::not_found(SYSTEM));
    }
    namespaced(state, namespace)
        .get_opt(name)
        .await
        .map_err(|error| kube_problem("read the system", &error))?
        .ok_or_else(|| ApiProblem::not_found(SYSTEM))
}
