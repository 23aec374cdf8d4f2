//! govcloud's API: the custom resources of group `govcloud.io/v1alpha1` and the rendering of
//! their CustomResourceDefinitions (`crdgen`).

// `#[kube(printcolumn(name = …, type_ = …))]` repeats the same keys once per column by design.
#![allow(clippy::duplicated_attributes)]
// Field names are the manifest keys operators write (`idleBelowPercent`, …), not Rust style
// choices; `KubeSchema` copies each struct without its attributes, so the allow lives here.
#![allow(clippy::struct_field_names)]

pub mod api;
pub mod common;
pub mod crdgen;
pub mod dr;
pub mod migration;
pub mod network;
pub mod provincial_reporting;
pub mod quantity;
pub mod quota_review;
pub mod tenancy;

pub use dr::drill::DisasterRecoveryDrill;
pub use dr::plan::DisasterRecoveryPlan;
pub use migration::plan::MigrationPlan;
pub use migration::system::SystemMigration;
pub use network::address_pool::AddressPool;
pub use network::dedicated_network::DedicatedNetwork;
pub use network::extranet_link::ExtranetLink;
pub use network::router::Router;
pub use provincial_reporting::ProvincialReporting;
pub use quota_review::QuotaReview;
pub use tenancy::quota_request::QuotaRequest;
pub use tenancy::tenant::Tenant;

/// The API group of every govcloud custom resource.
pub const GROUP: &str = "govcloud.io";

/// The version of the API this crate describes.
pub const VERSION: &str = "v1alpha1";
