//! Bad input is refused at admission with a message that names the field: each CEL rule and
//! the notable OpenAPI constraints, checked against manifests an operator could write.

use std::path::Path;

use govcloud_tests::manifests::{Document, parse_documents};
use govcloud_tests::schema::SchemaSet;

fn document(yaml: &str) -> Document {
    parse_documents(Path::new("inline.yaml"), yaml)
        .expect("yaml")
        .remove(0)
}

fn violations(yaml: &str) -> Vec<String> {
    let schemas = SchemaSet::govcloud().expect("schemas");
    schemas
        .validate(&document(yaml))
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn assert_refused(yaml: &str, field: &str, message: &str) {
    let found = violations(yaml);
    assert!(
        found
            .iter()
            .any(|v| v.starts_with(&format!("{field}: ")) && v.contains(message)),
        "expected `{field}: …{message}…`, got {found:#?}"
    );
}

const LINK: &str = "
apiVersion: govcloud.io/v1alpha1
kind: ExtranetLink
metadata: {name: ankang-hanyin}
spec:
  tier: CityCounty
  upstream: {router: ankang-core, members: [eth1, eth2]}
  downstream: {router: hanyin-core, members: [eth1, eth2]}
";

#[test]
fn a_valid_link_passes() {
    assert_eq!(violations(LINK), Vec::<String>::new());
}

#[test]
fn a_link_end_needs_exactly_two_distinct_members() {
    let one = LINK.replace(
        "router: ankang-core, members: [eth1, eth2]",
        "router: ankang-core, members: [eth1]",
    );
    assert_refused(
        &one,
        "spec.upstream.members",
        "exactly two distinct member interfaces",
    );
    let same = LINK.replace(
        "router: hanyin-core, members: [eth1, eth2]",
        "router: hanyin-core, members: [eth1, eth1]",
    );
    assert_refused(
        &same,
        "spec.downstream.members",
        "exactly two distinct member interfaces",
    );
    let three = LINK.replace(
        "members: [eth1, eth2]}\n  downstream",
        "members: [eth1, eth2, eth3]}\n  downstream",
    );
    assert_refused(&three, "spec.upstream.members", "");
}

#[test]
fn a_link_joins_two_routers_and_custom_tiers_state_their_speed() {
    let looped = LINK.replace("router: hanyin-core", "router: ankang-core");
    assert_refused(&looped, "spec.downstream.router", "two different routers");
    let custom = LINK.replace("tier: CityCounty", "tier: Custom");
    assert_refused(
        &custom,
        "spec.customTier",
        "customTier is required for tier Custom",
    );
    let unknown_tier = LINK.replace("tier: CityCounty", "tier: DualGigabit");
    assert_refused(&unknown_tier, "spec.tier", "DualGigabit");
}

const SYSTEM: &str = "
apiVersion: govcloud.io/v1alpha1
kind: SystemMigration
metadata: {name: trading-platform, namespace: city-ndrc}
spec:
  displayName: 公共资源交易平台
  classification: Unclassified
  source: {site: 市发改委机房, platform: VirtualMachine, hosts: 4}
  resources: {cpu: 16, memory: 64Gi, storage: 2Ti}
  dependsOn: [{name: e-document-exchange, namespace: city-services}]
  steps:
  - name: copy-data
    run: {type: Job, job: {image: registry.example.org/migrate/rsync:3.2}}
    rollback: {type: Manual, manual: {instructions: 删除云上副本}}
  - name: switch-dns
    pointOfNoReturn: true
    run: {type: Webhook, webhook: {url: 'https://dns.example.org/api/switch'}}
";

#[test]
fn a_valid_system_passes() {
    assert_eq!(violations(SYSTEM), Vec::<String>::new());
}

#[test]
fn a_system_cannot_depend_on_itself() {
    let itself = SYSTEM.replace(
        "dependsOn: [{name: e-document-exchange, namespace: city-services}]",
        "dependsOn: [{name: trading-platform}]",
    );
    assert_refused(
        &itself,
        "spec.dependsOn",
        "a system cannot depend on itself",
    );
}

#[test]
fn a_step_carries_exactly_the_action_its_type_names() {
    let mismatched = SYSTEM.replace("run: {type: Job, job:", "run: {type: Webhook, job:");
    assert_refused(
        &mismatched,
        "spec.steps[0].run",
        "a Webhook step needs `webhook` and nothing else",
    );
    let two_points = SYSTEM.replace(
        "  - name: copy-data\n",
        "  - name: copy-data\n    pointOfNoReturn: true\n",
    );
    assert_refused(
        &two_points,
        "spec.steps",
        "at most one step can be the point of no return",
    );
    let plain_http = SYSTEM.replace("https://dns.example.org", "http://dns.example.org");
    assert_refused(&plain_http, "spec.steps[1].run.webhook.url", "should match");
}

#[test]
fn a_classified_system_has_no_sensitivity_and_systems_state_cpu_and_memory() {
    let classified = SYSTEM.replace(
        "classification: Unclassified",
        "classification: Classified\n  sensitivity: Internal",
    );
    assert_refused(
        &classified,
        "spec.sensitivity",
        "sensitivity applies to unclassified systems only",
    );
    let no_memory = SYSTEM.replace(
        "resources: {cpu: 16, memory: 64Gi, storage: 2Ti}",
        "resources: {cpu: 16}",
    );
    assert_refused(
        &no_memory,
        "spec.resources",
        "must state the cpu and memory",
    );
}

const QUOTA_REQUEST: &str = "
apiVersion: govcloud.io/v1alpha1
kind: QuotaRequest
metadata: {name: finance-2025-q3}
spec:
  tenant: city-finance
  requested: {cpu: 96, memory: 384Gi}
  justification: 财政一体化系统年底决算高峰
";

#[test]
fn requested_amounts_are_immutable_after_creation() {
    let schemas = SchemaSet::govcloud().expect("schemas");
    let old = document(QUOTA_REQUEST).value;
    let unchanged = document(QUOTA_REQUEST);
    assert!(schemas.validate_update(&unchanged, Some(&old)).is_empty());
    let changed = document(&QUOTA_REQUEST.replace("cpu: 96", "cpu: 128"));
    let found: Vec<String> = schemas
        .validate_update(&changed, Some(&old))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("spec.requested: ")
                && v.contains("requested amounts are immutable")),
        "{found:#?}"
    );
    // On create the same object is fine: transition rules need an old object.
    assert!(schemas.validate(&changed).is_empty());
}

#[test]
fn a_quota_decision_cannot_be_changed_once_made() {
    let schemas = SchemaSet::govcloud().expect("schemas");
    let approved = format!(
        "{QUOTA_REQUEST}  approval: {{decision: Approved, decidedBy: ops-wang, reason: 决算高峰}}\n"
    );
    let denied = approved.replace("Approved", "Denied");
    let old = document(&approved).value;
    let found: Vec<String> = schemas
        .validate_update(&document(&denied), Some(&old))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("spec.approval: ") && v.contains("cannot be changed")),
        "{found:#?}"
    );
    let withdrawn: Vec<String> = schemas
        .validate_update(&document(QUOTA_REQUEST), Some(&old))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        withdrawn
            .iter()
            .any(|v| v.contains("cannot be changed or withdrawn")),
        "{withdrawn:#?}"
    );
    let empty = QUOTA_REQUEST.replace("requested: {cpu: 96, memory: 384Gi}", "requested: {}");
    assert_refused(
        &empty,
        "spec.requested",
        "request at least one of cpu, memory or storage",
    );
}

const TENANT: &str = "
apiVersion: govcloud.io/v1alpha1
kind: Tenant
metadata: {name: city-finance}
spec:
  displayName: 安康市财政局
  level: Department
  parent: ankang
  owners: [{kind: Group, name: 'ankang:finance-admins'}]
  quota: {cpu: 64, memory: 256Gi, storage: 20Ti}
";

#[test]
fn quotas_are_non_negative_quantities() {
    assert_eq!(violations(TENANT), Vec::<String>::new());
    assert_refused(
        &TENANT.replace("cpu: 64,", "cpu: '-5',"),
        "spec.quota.cpu",
        "Invalid value: \"-5\": spec.quota.cpu in body should match '^",
    );
    assert_refused(
        &TENANT.replace("cpu: 64,", "cpu: -5,"),
        "spec.quota.cpu",
        "Invalid value: -5: spec.quota.cpu in body should be greater than or equal to 0",
    );
    assert_refused(
        &TENANT.replace("memory: 256Gi", "memory: 256GB"),
        "spec.quota.memory",
        "should match",
    );
    assert_refused(
        &TENANT.replace("cpu: 64,", "cpu: true,"),
        "spec.quota.cpu",
        "Invalid value: \"boolean\": spec.quota.cpu in body must be of type integer,string: \"boolean\"",
    );
}

#[test]
fn tenant_hierarchy_rules() {
    assert_refused(
        &TENANT.replace("parent: ankang", "parent: city-finance"),
        "spec.parent",
        "cannot be its own parent",
    );
    assert_refused(
        &TENANT.replace("level: Department", "level: City"),
        "spec",
        "has no parent",
    );
    assert_refused(
        &TENANT.replace(
            "owners: [{kind: Group, name: 'ankang:finance-admins'}]",
            "owners: []",
        ),
        "spec.owners",
        "",
    );
}

#[test]
fn unknown_fields_and_bad_names_are_refused() {
    assert_refused(
        &TENANT.replace("  level: Department", "  levle: Department"),
        "spec.levle",
        "unknown field \"spec.levle\"",
    );
    assert_refused(
        &TENANT.replace("name: city-finance", "name: City_Finance"),
        "metadata.name",
        "RFC 1123",
    );
    assert_refused(
        &TENANT.replace(
            "metadata: {name: city-finance}",
            "metadata: {name: city-finance, namespace: x}",
        ),
        "metadata.namespace",
        "Forbidden: not allowed on this type",
    );
    assert_refused(
        &SYSTEM.replace(", namespace: city-ndrc}", "}"),
        "metadata.namespace",
        "Required value",
    );
    assert_refused(
        &TENANT.replace("kind: Tenant", "kind: Tennant"),
        "kind",
        "no schema is known",
    );
}

#[test]
fn address_plans_are_nibble_aligned_and_hierarchical() {
    let pool = "
apiVersion: govcloud.io/v1alpha1
kind: AddressPool
metadata: {name: ankang-v6}
spec:
  prefix: 2001:db8:a00::/48
  lengths: {city: 48, county: 56, township: 60, segment: 64}
";
    assert_eq!(violations(pool), Vec::<String>::new());
    assert_refused(
        &pool.replace("township: 60", "township: 58"),
        "spec.lengths",
        "nibble boundaries",
    );
    assert_refused(
        &pool.replace("county: 56", "county: 44"),
        "spec.lengths",
        "must grow",
    );
    assert_refused(
        &pool.replace("2001:db8:a00::/48", "2001:db8:a00::/200"),
        "spec.prefix",
        "",
    );
    assert_refused(
        &pool.replace("2001:db8:a00::/48", "2001:db8:zz::/48"),
        "spec.prefix",
        "",
    );
}

#[test]
fn no_new_dedicated_network_without_an_exemption() {
    let network = "
apiVersion: govcloud.io/v1alpha1
kind: DedicatedNetwork
metadata: {name: medins-net}
spec:
  displayName: 医保专网
  department: city-medins
  classification: Unclassified
  lifecycle: Existing
";
    assert_eq!(violations(network), Vec::<String>::new());
    let new = network.replace("lifecycle: Existing", "lifecycle: New");
    assert_refused(
        &new,
        "spec.lifecycle",
        "no new dedicated networks are built",
    );
    let exempted =
        format!("{new}  exemption: {{reference: 安政办发〔2024〕12号, approvedBy: ops-li}}\n");
    assert_eq!(violations(&exempted), Vec::<String>::new());
}

#[test]
fn routers_below_the_city_name_their_upstream() {
    let router = "
apiVersion: govcloud.io/v1alpha1
kind: Router
metadata: {name: hanyin-t01}
spec:
  displayName: 城关镇汇聚路由器
  site: {level: Township, divisionCode: '610921100', name: 城关镇}
  upstream: hanyin-core
  interfaces: [{name: eth0, role: Management}, {name: eth1, role: Uplink}]
  managementInterface: eth0
";
    assert_eq!(violations(router), Vec::<String>::new());
    assert_refused(
        &router.replace("  upstream: hanyin-core\n", ""),
        "spec.upstream",
        "name their upstream router",
    );
    assert_refused(
        &router.replace("managementInterface: eth0", "managementInterface: eth9"),
        "spec.managementInterface",
        "one of the listed interfaces",
    );
    assert_refused(
        &router.replace("'610921100'", "'61092'"),
        "spec.site.divisionCode",
        "should match",
    );
}

#[test]
fn schedules_durations_and_dates_are_checked() {
    let review = "
apiVersion: govcloud.io/v1alpha1
kind: QuotaReview
metadata: {name: weekly}
spec:
  schedule: 0 3 * * 1
  window: 336h
";
    assert_eq!(violations(review), Vec::<String>::new());
    assert_refused(
        &review.replace("0 3 * * 1", "every monday"),
        "spec.schedule",
        "should match",
    );
    assert_refused(
        &review.replace("336h", "14 days"),
        "spec.window",
        "should match",
    );
    let thresholds = format!(
        "{review}  thresholds: {{idleBelowPercent: 50, underusedBelowPercent: 40, hotAbovePercent: 85}}\n"
    );
    assert_refused(&thresholds, "spec.thresholds", "thresholds must rise");
    let plan = "
apiVersion: govcloud.io/v1alpha1
kind: MigrationPlan
metadata: {name: ankang-2025}
spec:
  displayName: 安康市信息系统迁移上云
  deadline: '2025-12-31'
  maintenanceWindows: [{name: friday-night, schedule: 0 22 * * 5, duration: 8h, concurrency: 5}]
  freezes: [{from: '2025-01-25', to: '2025-02-05', reason: 春节}]
";
    assert_eq!(violations(plan), Vec::<String>::new());
    assert_refused(
        &plan.replace("'2025-12-31'", "'2025-02-30'"),
        "spec.deadline",
        "Invalid value: \"2025-02-30\": spec.deadline in body must be of type date: \"2025-02-30\"",
    );
    assert_refused(
        &plan.replace("to: '2025-02-05'", "to: '2025-01-20'"),
        "spec.freezes[0]",
        "must not end before it starts",
    );
}

/// Defaults apply before CEL rules run, as in admission: a reporting without `include` reports
/// everything and passes the rule that something must be included.
#[test]
fn defaults_apply_before_cel_rules() {
    let reporting = "
apiVersion: govcloud.io/v1alpha1
kind: ProvincialReporting
metadata: {name: shaanxi}
spec:
  endpoint: https://mcm.shaanxi.example.org/api/v1/reports
  cityCode: '610900'
  clientCertificate: {name: provincial-client-cert, namespace: govcloud-system}
";
    assert_eq!(violations(reporting), Vec::<String>::new());
    let nothing = format!(
        "{reporting}  include: {{inventory: false, usage: false, migration: false, links: false, disasterRecovery: false}}\n"
    );
    assert_refused(
        &nothing,
        "spec.include",
        "include at least one kind of report",
    );
}

/// Platform namespaces cannot be taken over by a tenant, by name or as an extra namespace.
#[test]
fn tenants_cannot_claim_platform_namespaces() {
    assert_refused(
        &TENANT.replace("name: city-finance", "name: kube-system"),
        "metadata.name",
        "reserved for the platform",
    );
    let extra = format!("{TENANT}  namespaces: [{{name: govcloud-system, quotaPercent: 10}}]\n");
    assert_refused(&extra, "spec.namespaces", "reserved for the platform");
    let fine = format!("{TENANT}  namespaces: [{{name: finance-batch, quotaPercent: 10}}]\n");
    assert_eq!(violations(&fine), Vec::<String>::new());
}
