//! The wire views of routers and links, pure: a `Router` with its declared interfaces merged
//! with the state its agent reported; an `ExtranetLink` with its contract and last verdict.

use govcloud_crds::api::{
    LinkMemberView, LinkSummary, LinkView, RouterInterfaceView, RouterSummary, RouterView,
};
use govcloud_crds::network::extranet_link::{ExtranetLink, LinkSide};
use govcloud_crds::network::router::Router;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::super::migrations::views::condition_view;
use govcloud_core::conditions;
use govcloud_core::kube_time::from_kube;

fn name_of(metadata: &kube::api::ObjectMeta) -> String {
    metadata.name.clone().unwrap_or_default()
}

fn time(time: Option<&Time>) -> Option<chrono::DateTime<chrono::Utc>> {
    time.and_then(from_kube)
}

/// A router as lists show it.
pub fn router_summary(router: &Router) -> RouterSummary {
    let status = router.status.clone().unwrap_or_default();
    let connected = match conditions::status_of(&status.conditions, "Connected") {
        Some("True") => Some(true),
        Some("False") => Some(false),
        _ => None,
    };
    RouterSummary {
        name: name_of(&router.metadata),
        display_name: router.spec.display_name.clone(),
        level: router.spec.site.level,
        division_code: router.spec.site.division_code.clone(),
        upstream: router.spec.upstream.clone(),
        connected,
        agent_version: status.agent_version,
        last_seen: time(status.last_seen.as_ref()),
    }
}

/// One router in full, with the names of the links that end at it.
pub fn router_view(router: &Router, links: &[ExtranetLink]) -> RouterView {
    let name = name_of(&router.metadata);
    let status = router.status.clone().unwrap_or_default();
    let observed = |interface: &str| status.interfaces.iter().find(|i| i.name == interface);
    let mut interfaces: Vec<RouterInterfaceView> = router
        .spec
        .interfaces
        .iter()
        .map(|declared| {
            let seen = observed(&declared.name);
            RouterInterfaceView {
                name: declared.name.clone(),
                role: Some(declared.role),
                description: declared.description.clone(),
                oper_state: seen.map(|s| s.oper_state.clone()),
                carrier: seen.map(|s| s.carrier),
                speed_mbps: seen.and_then(|s| s.speed_mbps),
                mtu: seen.map(|s| s.mtu),
            }
        })
        .collect();
    for seen in &status.interfaces {
        if !router.spec.interfaces.iter().any(|d| d.name == seen.name) {
            interfaces.push(RouterInterfaceView {
                name: seen.name.clone(),
                role: None,
                description: None,
                oper_state: Some(seen.oper_state.clone()),
                carrier: Some(seen.carrier),
                speed_mbps: seen.speed_mbps,
                mtu: Some(seen.mtu),
            });
        }
    }
    let mut link_names: Vec<String> = links
        .iter()
        .filter(|l| l.spec.upstream.router == name || l.spec.downstream.router == name)
        .map(|l| name_of(&l.metadata))
        .collect();
    link_names.sort();
    RouterView {
        summary: router_summary(router),
        site_name: router.spec.site.name.clone(),
        report_interval_seconds: router.spec.report_interval_seconds,
        interfaces,
        links: link_names,
        conditions: status.conditions.iter().map(condition_view).collect(),
    }
}

/// A link as lists show it.
pub fn link_summary(link: &ExtranetLink) -> LinkSummary {
    let status = link.status.clone().unwrap_or_default();
    let contract = link.spec.tier.member_speed_mbps().or_else(|| {
        link.spec
            .custom_tier
            .as_ref()
            .map(|custom| custom.member_speed_mbps)
    });
    LinkSummary {
        name: name_of(&link.metadata),
        tier: link.spec.tier,
        member_speed_mbps: status.contracted_speed_mbps.or(contract),
        upstream: link.spec.upstream.router.clone(),
        downstream: link.spec.downstream.router.clone(),
        compliance: status.compliance,
        members_up: status.members_up,
        utilisation_p95_percent: status.utilisation_p95_percent,
    }
}

/// One link in full.
pub fn link_view(link: &ExtranetLink) -> LinkView {
    let status = link.status.clone().unwrap_or_default();
    let router = |side| match side {
        LinkSide::Upstream => link.spec.upstream.router.clone(),
        LinkSide::Downstream => link.spec.downstream.router.clone(),
    };
    LinkView {
        summary: link_summary(link),
        upstream_members: link.spec.upstream.members.clone(),
        downstream_members: link.spec.downstream.members.clone(),
        carrier: link.spec.carrier.clone(),
        utilisation_window: link.spec.utilisation_window.to_string(),
        max_errors_per_minute: link.spec.max_errors_per_minute,
        members: status
            .members
            .iter()
            .map(|member| LinkMemberView {
                side: member.side,
                router: router(member.side),
                interface: member.interface.clone(),
                up: member.up,
                speed_mbps: member.speed_mbps,
                errors_per_minute: member.errors_per_minute,
                utilisation_p95_percent: member.utilisation_p95_percent,
            })
            .collect(),
        reasons: status.reasons.clone(),
        last_evaluated: time(status.last_evaluated.as_ref()),
        conditions: status.conditions.iter().map(condition_view).collect(),
    }
}

#[cfg(test)]
mod tests {
    use govcloud_crds::network::extranet_link::Compliance;

    use super::*;

    fn router() -> Router {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "govcloud.io/v1alpha1", "kind": "Router",
            "metadata": {"name": "hanbin-core"},
            "spec": {
                "displayName": "汉滨区政务外网汇聚路由器",
                "site": {"level": "County", "divisionCode": "610902", "name": "汉滨区"},
                "upstream": "ankang-core",
                "interfaces": [
                    {"name": "up-a", "role": "Uplink", "description": "AK-610902-A"},
                    {"name": "up-b", "role": "Uplink"}
                ]
            },
            "status": {
                "agentVersion": "0.1.0",
                "lastSeen": "2025-03-01T08:00:00Z",
                "interfaces": [
                    {"name": "up-a", "operState": "up", "carrier": true, "speedMbps": 1000, "mtu": 1500},
                    {"name": "lo", "operState": "unknown", "carrier": true, "mtu": 65536}
                ],
                "conditions": [{
                    "type": "Connected", "status": "False", "reason": "AgentSilent",
                    "message": "no report since …", "lastTransitionTime": "2025-03-01T08:01:30Z"
                }]
            }
        }))
        .expect("a router")
    }

    fn link(name: &str, upstream: &str, downstream: &str) -> ExtranetLink {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "govcloud.io/v1alpha1", "kind": "ExtranetLink",
            "metadata": {"name": name},
            "spec": {
                "tier": "CountyTownship",
                "upstream": {"router": upstream, "members": ["a", "b"]},
                "downstream": {"router": downstream, "members": ["c", "d"]}
            },
            "status": {
                "compliance": "Degraded", "membersUp": 1, "utilisationP95Percent": "12.5",
                "members": [{"side": "Downstream", "interface": "c", "up": false}],
                "reasons": ["member 1 at the downstream end (t01 c) is down"]
            }
        }))
        .expect("a link")
    }

    #[test]
    fn a_router_merges_declared_and_reported_interfaces() {
        let links = [
            link("ct-hanbin-t02", "hanbin-core", "hanbin-t02"),
            link("cc-other", "ankang-core", "other-core"),
            link("ct-hanbin-t01", "hanbin-core", "hanbin-t01"),
        ];
        let view = router_view(&router(), &links);
        assert_eq!(view.summary.connected, Some(false));
        assert_eq!(view.summary.agent_version.as_deref(), Some("0.1.0"));
        assert_eq!(view.links, ["ct-hanbin-t01", "ct-hanbin-t02"]);
        let names: Vec<&str> = view.interfaces.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["up-a", "up-b", "lo"]);
        assert_eq!(view.interfaces[0].speed_mbps, Some(1000));
        assert_eq!(view.interfaces[1].oper_state, None, "not reported");
        assert_eq!(view.interfaces[2].role, None, "reported, not declared");
        assert_eq!(view.conditions[0].reason, "AgentSilent");
    }

    #[test]
    fn a_link_shows_its_contract_and_verdict() {
        let view = link_view(&link("ct-hanbin-t01", "hanbin-core", "hanbin-t01"));
        assert_eq!(view.summary.compliance, Compliance::Degraded);
        assert_eq!(view.summary.member_speed_mbps, Some(100), "from the tier");
        assert_eq!(
            view.summary.utilisation_p95_percent.as_deref(),
            Some("12.5")
        );
        assert_eq!(view.members[0].router, "hanbin-t01");
        assert_eq!(view.utilisation_window, "24h");
        assert_eq!(view.max_errors_per_minute, 10);
        assert_eq!(view.reasons.len(), 1);
    }
}
