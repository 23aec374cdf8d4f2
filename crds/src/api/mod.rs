//! The JSON shapes of the controller's HTTPS API (`/v1`), shared by the controller, which serves
//! them, and `govctl`, which reads them. Errors are RFC 9457 `application/problem+json`.

mod audit;
mod ipv6;
mod migration;
mod migration_plan;
mod network;
mod problem;
mod quota;
mod router_certificate;
mod router_config;
#[cfg(feature = "openapi")]
pub mod schemas;
mod telemetry;
mod tenant;
mod token;

pub use audit::{AuditRecordView, AuditVerification};
pub use ipv6::{CountyIpv6, Ipv6Status, SiteIpv6};
pub use migration::{
    ConditionView, ConfirmationView, MigrationDecision, MigrationSummary, MigrationView,
    NewConfirmation, SourceView, StepView,
};
pub use migration_plan::{
    BlockerView, MigrationPlanView, PlannedSystem, TenantCounts, WaveView, WindowView,
};
pub use network::{
    DedicatedNetworkSummary, DedicatedNetworkView, LinkMemberView, LinkSummary, LinkView,
    NetworkSiteView, RouterInterfaceView, RouterSummary, RouterView,
};
pub use problem::{PROBLEM_JSON, Problem, ProblemItem};
pub use quota::{DecisionRequest, NewQuotaRequest, QuotaRequestView};
pub use router_certificate::{
    IssuedRouterCertificate, KeyOrigin, NewRouterCertificate, RouterCertificateView,
};
pub use router_config::{
    AddressConfig, ConfigReport, NextHopConfig, ProbeConfig, ProbeResult, RouteConfig,
    RouterConfig, SegmentConfig, VlanConfig, VrfConfig,
};
pub use telemetry::{
    LinkCounters, LinkObservation, RouteSummary, TelemetryReceipt, TelemetryReport,
};
pub use tenant::{ResourceFigures, TenantView};
pub use token::{IssuedToken, NewToken, Role, TokenView, WhoAmI};

/// Path prefix of every endpoint.
pub const API_PREFIX: &str = "/v1";
