//! The systems of a city's migration campaign (`SystemMigration`) and the campaign itself
//! (`MigrationPlan`). Dependencies form an acyclic graph (a system only depends on systems
//! generated before it), mostly within a tenant and sometimes across tenants; about one system
//! in a hundred is classified and must end `Rejected`; two in five are approved by operations.
//!
//! The campaign runs in 2030, so that no maintenance window opens while a test or a benchmark
//! watches: approved systems are scheduled and reserve their quota, and no runbook starts (the
//! runbooks' Jobs and webhooks have nothing to run against outside a real city).

use serde_json::{Value, json};

use super::layout::CityLayout;
use super::quota::Amounts;
use super::random::Stream;

/// The campaign's year.
pub const CAMPAIGN_YEAR: u32 = 2030;

/// The label that selects a city's systems into its campaign.
pub const CAMPAIGN_LABEL: &str = "govcloud.io/campaign";

/// Percent of unclassified systems operations have approved.
const APPROVED_PERCENT: u64 = 40;

/// Percent of systems with dependencies; of their dependencies, the percent within their tenant.
const WITH_DEPENDENCIES_PERCENT: u64 = 60;
const SAME_TENANT_PERCENT: u64 = 80;

/// How a system moves: the shape of its runbook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runbook {
    /// A database-backed application: announce, sync the database, deploy, switch DNS (the
    /// point of no return), accept.
    Database,
    /// A web site: sync files, deploy, accept; fully reversible.
    Website,
    /// Moved by hand: announce, cut over (the point of no return), accept.
    Manual,
    /// A classified system: only an assessment, since it never moves onto the cloud.
    Classified,
}

/// One system to migrate.
#[derive(Clone, Debug)]
pub struct SystemPlan {
    pub name: String,
    /// Index of its tenant in the layout; it lives in the tenant's namespace.
    pub tenant: usize,
    pub display_name: String,
    pub classified: bool,
    pub sensitivity: &'static str,
    pub resources: Amounts,
    /// Indices of the systems it needs (all generated before it, none classified).
    pub depends_on: Vec<usize>,
    pub approved: bool,
    pub runbook: Runbook,
    pub hosts: u64,
    pub platform: &'static str,
}

/// The city's campaign name, which is also its selector label's value.
pub fn campaign_name(layout: &CityLayout) -> String {
    format!("{}-{CAMPAIGN_YEAR}", layout.code)
}

/// Whether system `index` is classified: about one in a hundred, spread over the list.
fn is_classified(index: usize) -> bool {
    index % 97 == 13
}

const KINDS: &[&str] = &[
    "业务审批系统",
    "数据共享交换平台",
    "综合办公系统",
    "门户网站",
    "统计分析平台",
    "档案管理系统",
    "监测预警平台",
    "便民服务系统",
    "视频会议系统",
    "地理信息平台",
];

/// Plans `count` systems over the city's tenants (every tenant but the city itself).
pub fn plan(layout: &CityLayout, count: usize, stream: &mut Stream) -> Vec<SystemPlan> {
    let holders = layout.tenants.len() - 1;
    let mut systems: Vec<SystemPlan> = Vec::with_capacity(count);
    let mut by_tenant: Vec<Vec<usize>> = vec![Vec::new(); layout.tenants.len()];
    let mut unclassified: Vec<usize> = Vec::new();
    for index in 0..count {
        let tenant = 1 + stream.below(holders);
        let classified = is_classified(index);
        let cpu = stream.pick(&[2, 4, 4, 8, 8, 16, 32]);
        let resources = Amounts {
            cpu,
            memory_gi: cpu * stream.pick(&[2, 4, 8]),
            storage_gi: stream.pick(&[256, 512, 1024, 2048]),
        };
        let mut depends_on = Vec::new();
        if !classified && stream.chance(WITH_DEPENDENCIES_PERCENT) {
            let wanted = 1 + stream.below(3);
            for _ in 0..wanted {
                let candidates = if stream.chance(SAME_TENANT_PERCENT) {
                    &by_tenant[tenant]
                } else {
                    &unclassified
                };
                if candidates.is_empty() {
                    continue;
                }
                let dependency = stream.pick(candidates);
                if !depends_on.contains(&dependency) {
                    depends_on.push(dependency);
                }
            }
            depends_on.sort_unstable();
        }
        let runbook = if classified {
            Runbook::Classified
        } else {
            stream.pick(&[
                Runbook::Database,
                Runbook::Database,
                Runbook::Website,
                Runbook::Manual,
            ])
        };
        let kind = stream.pick(KINDS);
        systems.push(SystemPlan {
            name: format!("{}-sys{:05}", layout.code, index + 1),
            tenant,
            display_name: format!(
                "{}{kind}（{:05}）",
                layout.tenants[tenant].display_name,
                index + 1
            ),
            classified,
            sensitivity: stream.pick(&["Public", "Internal", "Internal", "Sensitive"]),
            resources,
            depends_on,
            approved: !classified && stream.chance(APPROVED_PERCENT),
            runbook,
            hosts: stream.between(1, 24),
            platform: if classified {
                "PhysicalServer"
            } else {
                stream.pick(&[
                    "VirtualMachine",
                    "VirtualMachine",
                    "PhysicalServer",
                    "Container",
                ])
            },
        });
        if !classified {
            by_tenant[tenant].push(index);
            unclassified.push(index);
        }
    }
    systems
}

fn manual(instructions: &str) -> Value {
    json!({"type": "Manual", "manual": {"instructions": instructions}})
}

fn webhook(url: &str, retries: u32) -> Value {
    json!({
        "type": "Webhook",
        "webhook": {
            "url": url,
            "credentialsSecret": "migration-tool-token",
            "timeoutSeconds": 60,
            "retries": retries,
        }
    })
}

fn steps(layout: &CityLayout, system: &SystemPlan) -> Value {
    let name = &system.name;
    let deploy = format!("https://deploy.{}/api/v1/releases/{name}", layout.domain());
    match system.runbook {
        Runbook::Database => json!([
            {
                "name": "announce",
                "run": manual("发布停机迁移公告（提前 3 个工作日），通知业务科室和服务对象；完成后确认。"),
                "rollback": manual("发布恢复服务公告，撤下停机迁移公告。"),
            },
            {
                "name": "sync-database",
                "run": {"type": "Job", "job": {
                    "image": "registry.example.org/migration/db-sync:2.4",
                    "args": ["--verify=rowcount,checksum"],
                    "env": [{"name": "SYSTEM", "value": name}],
                    "secretEnvFrom": format!("{name}-db"),
                    "activeDeadlineSeconds": 14400,
                    "backoffLimit": 1,
                }},
                "rollback": {"type": "Job", "job": {
                    "image": "registry.example.org/migration/db-sync:2.4",
                    "args": ["--drop-target", "--confirm"],
                    "secretEnvFrom": format!("{name}-db"),
                    "activeDeadlineSeconds": 1800,
                    "backoffLimit": 0,
                }},
            },
            {
                "name": "deploy",
                "run": webhook(&deploy, 3),
                "rollback": webhook(&format!("{deploy}/rollback"), 3),
            },
            {
                "name": "switch-dns",
                "run": webhook(&format!("https://dns.{}/api/v1/records/{name}", layout.domain()), 5),
                "pointOfNoReturn": true,
            },
            {"name": "acceptance", "run": manual("业务部门在新环境完成验收，负责人确认。")},
        ]),
        Runbook::Website => json!([
            {
                "name": "sync-files",
                "run": {"type": "Job", "job": {
                    "image": "registry.example.org/migration/rsync:3.2",
                    "command": ["rsync"],
                    "args": ["-aHAX", "--delete", format!("migration@source.{name}.{}:/srv/www/", layout.domain()), "/data/"],
                    "secretEnvFrom": format!("{name}-ssh"),
                    "activeDeadlineSeconds": 21600,
                    "backoffLimit": 2,
                }},
            },
            {
                "name": "deploy",
                "run": webhook(&deploy, 3),
                "rollback": webhook(&format!("{deploy}/rollback"), 3),
            },
            {"name": "acceptance", "run": manual("抽查页面和检索功能，负责人确认。")},
        ]),
        Runbook::Manual => json!([
            {"name": "announce", "run": manual("发布停机迁移公告，通知服务对象；完成后确认。")},
            {
                "name": "cutover",
                "run": manual("按迁移方案完成切换，旧系统停止写入；完成后确认。"),
                "pointOfNoReturn": true,
            },
            {"name": "acceptance", "run": manual("业务部门在新环境完成验收，负责人确认。")},
        ]),
        Runbook::Classified => json!([
            {"name": "assessment", "run": manual("涉密系统：不得迁移上云，按规定迁移至电子政务内网或保持现状。")},
        ]),
    }
}

/// The `SystemMigration` manifests of `systems`.
pub fn manifests(layout: &CityLayout, systems: &[SystemPlan]) -> Vec<Value> {
    let campaign = campaign_name(layout);
    systems
        .iter()
        .map(|system| {
            let namespace = &layout.tenants[system.tenant].name;
            let depends_on: Vec<Value> = system
                .depends_on
                .iter()
                .map(|&index| {
                    let dependency = &systems[index];
                    let dependency_namespace = &layout.tenants[dependency.tenant].name;
                    if dependency_namespace == namespace {
                        json!({"name": dependency.name})
                    } else {
                        json!({"name": dependency.name, "namespace": dependency_namespace})
                    }
                })
                .collect();
            let mut spec = json!({
                "displayName": system.display_name,
                "classification": if system.classified { "Classified" } else { "Unclassified" },
                "resources": system.resources.to_json(),
                "source": {
                    "hosts": system.hosts,
                    "platform": system.platform,
                    "site": format!("{}机房", layout.tenants[system.tenant].display_name),
                },
                "steps": steps(layout, system),
            });
            if !system.classified {
                spec["sensitivity"] = json!(system.sensitivity);
                spec["source"]["maintainer"] = json!("示例软件有限公司");
            }
            if !depends_on.is_empty() {
                spec["dependsOn"] = Value::Array(depends_on);
            }
            if system.approved {
                spec["approval"] = json!({
                    "decision": "Approved",
                    "decidedBy": format!("cloud-ops@{}", layout.domain()),
                    "reason": "已完成上云评估，列入本年度迁移计划。",
                });
            }
            json!({
                "apiVersion": "govcloud.io/v1alpha1",
                "kind": "SystemMigration",
                "metadata": {
                    "name": system.name,
                    "namespace": namespace,
                    "labels": {CAMPAIGN_LABEL: campaign},
                },
                "spec": spec,
            })
        })
        .collect()
}

/// The city's `MigrationPlan`: two weekly windows wide enough for its systems, four freezes.
pub fn campaign(layout: &CityLayout, systems: usize) -> Value {
    let name = campaign_name(layout);
    let year = CAMPAIGN_YEAR;
    let weeknight = (systems / 250).max(2);
    let weekend = (systems / 125).max(4);
    json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "MigrationPlan",
        "metadata": {"name": name},
        "spec": {
            "displayName": format!("{}非涉密信息系统迁移上云专项行动（{year}）", layout.display_name),
            "start": format!("{year}-01-07"),
            "deadline": format!("{year}-12-31"),
            "timeZone": "Asia/Shanghai",
            "systemSelector": {"matchLabels": {CAMPAIGN_LABEL: name}},
            "maintenanceWindows": [
                {"name": "weeknight", "schedule": "0 22 * * 2,4", "duration": "6h", "concurrency": weeknight},
                {"name": "weekend", "schedule": "0 20 * * 5", "duration": "34h", "concurrency": weekend},
            ],
            "freezes": [
                {"from": format!("{year}-01-28"), "to": format!("{year}-02-12"), "reason": "春节及元宵节保障"},
                {"from": format!("{year}-03-03"), "to": format!("{year}-03-12"), "reason": "全国两会期间网络安全保障"},
                {"from": format!("{year}-06-05"), "to": format!("{year}-06-10"), "reason": "高考保障"},
                {"from": format!("{year}-09-29"), "to": format!("{year}-10-08"), "reason": "国庆节、中秋节假期"},
            ],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::province::CitySize;

    #[test]
    fn dependencies_point_backwards_never_to_classified_systems() {
        let mut stream = Stream::new(5);
        let layout = CityLayout::new(1, &CitySize::small(), &mut stream);
        let systems = plan(&layout, 500, &mut stream);
        assert!(systems.iter().any(|s| s.classified));
        let crossing = systems
            .iter()
            .flat_map(|s| s.depends_on.iter().map(move |&d| (s, d)))
            .filter(|(s, d)| systems[*d].tenant != s.tenant)
            .count();
        assert!(crossing > 0, "some dependencies cross tenants");
        for (index, system) in systems.iter().enumerate() {
            assert!(
                system
                    .depends_on
                    .iter()
                    .all(|&d| d < index && !systems[d].classified)
            );
            assert!(!(system.classified && system.approved));
        }
    }
}
