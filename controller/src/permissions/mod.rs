//! The controller's Kubernetes permissions, least privilege: [`CONTROLLER`] lists every API group,
//! resource and verb the code calls — reconcilers, the HTTPS API, the agent listener, the leader
//! elector, the start-up checks — each with the code that needs it, and nothing else. Pure
//! functions compare it with RBAC `PolicyRule`s (the Helm chart's ClusterRole and Role), say
//! whether it allows one request, and read kube-apiserver's audit log to find the requests of one
//! user agent that it does not allow.
//!
//! Both of a replica's clients (the reconcilers' fenced one and the plain one, see
//! [`crate::operator::cluster::clients`]) are the same ServiceAccount, so one table covers both.
//! The tests prove it both ways: the controller suites and the API suites check every request
//! their clients make against the table, and `controller/tests/rbac.rs` drives local mode through
//! every entry and checks that each was used, and that the chart grants exactly this.

mod audit;
mod request;
mod rules;
mod table;
#[cfg(test)]
mod tests;

pub use audit::*;
pub use request::*;
pub use rules::*;
pub use table::*;
