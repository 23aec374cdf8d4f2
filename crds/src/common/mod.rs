//! Types shared by several custom resources: classification, approvals, quotas, references and
//! the string formats (durations, cron schedules, prefixes, dates) that the schemas validate.

mod approval;
mod classification;
mod formats;
mod job;
mod resources;

pub use approval::{Approval, Decision};
pub use classification::{Classification, Sensitivity, SiteLevel};
pub use formats::{
    CronSchedule, Duration, HttpsUrl, InvalidDuration, IsoDate, Prefix, parse_go_duration,
};
pub use job::{EnvVar, JobTemplate};
#[cfg(feature = "openapi")]
pub use resources::QuantitySchema;
pub use resources::{QuotaAmounts, ResourceAmounts, ResourceList};
pub use resources::{quantity_schema, resource_list_schema};

/// Regular expression of a Kubernetes object name that is a DNS label (RFC 1123).
pub const DNS_LABEL: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// Regular expression of a Linux interface name (at most 15 bytes, no slash or space).
pub const INTERFACE_NAME: &str = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,14}$";

/// Regular expression of a GB/T 2260 division code: six digits for a city or county, nine or
/// twelve for a township (the statistical division code).
pub const DIVISION_CODE: &str = r"^[0-9]{6}([0-9]{3}([0-9]{3})?)?$";

/// Regular expression of an `http://` or `https://` URL (for in-cluster services such as
/// Prometheus, which often serve plain HTTP inside the cluster).
pub const HTTP_URL: &str = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$";

/// Regular expression of a Kubernetes quantity that is not negative (`500m`, `64Gi`, `2`).
pub const NON_NEGATIVE_QUANTITY: &str =
    r"^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$";
