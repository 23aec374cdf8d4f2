//! `ProvincialReporting`: the uplink into the province's multi-cloud manager (省统建多云管理平台).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{DIVISION_CODE, DNS_LABEL, Duration, HttpsUrl};

/// The city cloud's reports to the provincial multi-cloud manager: inventory, usage, migration
/// progress, link compliance and DR compliance, pushed over mutual TLS on an interval through a
/// durable outbox. Classified items are reported as counts only.
#[derive(CustomResource, KubeSchema, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[kube(
    group = "govcloud.io",
    version = "v1alpha1",
    kind = "ProvincialReporting",
    status = "ProvincialReportingStatus",
    shortname = "preport",
    category = "govcloud",
    doc = "Reporting of the city cloud into the provincial multi-cloud manager.",
    printcolumn(name = "Endpoint", type_ = "string", json_path = ".spec.endpoint"),
    printcolumn(name = "Interval", type_ = "string", json_path = ".spec.interval"),
    printcolumn(
        name = "Last Success",
        type_ = "date",
        json_path = ".status.lastSuccessTime"
    ),
    printcolumn(name = "Backlog", type_ = "integer", json_path = ".status.outboxDepth"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.include.inventory || self.include.usage || self.include.migration || self.include.links || self.include.disasterRecovery").message("include at least one kind of report").field_path(".include"))]
pub struct ProvincialReportingSpec {
    /// The provincial manager's HTTPS endpoint.
    pub endpoint: HttpsUrl,
    /// The reporting city's division code (`610900` for Ankang).
    #[schemars(regex(pattern = DIVISION_CODE))]
    pub city_code: String,
    /// A `kubernetes.io/tls` Secret with the client certificate the province issued.
    pub client_certificate: SecretReference,
    /// A Secret whose `ca.crt` is the province's CA; the system roots when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<SecretReference>,
    /// How often reports are produced.
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// What the reports contain.
    #[serde(default)]
    pub include: ReportContents,
    /// Stop producing and sending reports; the outbox keeps what is queued.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
}

fn default_interval() -> Duration {
    Duration::from("1h")
}

/// A Secret in a given namespace.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretReference {
    /// Secret name.
    #[schemars(
        regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"),
        length(max = 253)
    )]
    pub name: String,
    /// Secret namespace.
    #[schemars(regex(pattern = DNS_LABEL), length(max = 63))]
    pub namespace: String,
}

/// Which reports are sent.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReportContents {
    /// Tenants, systems and their resources.
    #[serde(default = "yes")]
    pub inventory: bool,
    /// Quota and usage per tenant.
    #[serde(default = "yes")]
    pub usage: bool,
    /// Migration campaign progress.
    #[serde(default = "yes")]
    pub migration: bool,
    /// Extranet link compliance.
    #[serde(default = "yes")]
    pub links: bool,
    /// DR plan compliance and drills.
    #[serde(default = "yes")]
    pub disaster_recovery: bool,
}

impl Default for ReportContents {
    fn default() -> Self {
        Self {
            inventory: true,
            usage: true,
            migration: true,
            links: true,
            disaster_recovery: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// Delivery state of the reports.
#[derive(Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProvincialReportingStatus {
    /// When the last report was produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_report_time: Option<Time>,
    /// When a report was last accepted by the province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_time: Option<Time>,
    /// Reports waiting in the outbox.
    #[serde(default)]
    pub outbox_depth: u64,
    /// Reports delivered since the reporting was created.
    #[serde(default)]
    pub delivered_total: u64,
    /// `Ready`, `Delivering`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
