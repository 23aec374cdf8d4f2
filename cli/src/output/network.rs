//! What `govctl router` and `govctl link` print for people: routers with their agents, links
//! with their compliance, each member at each end.

use std::fmt::Write as _;

use govcloud_crds::api::{LinkSummary, LinkView, RouterSummary, RouterView};
use govcloud_crds::network::extranet_link::{Compliance, LinkSide};

use super::{NONE, Table, fields, list, optional_time};

fn optional<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| NONE.to_owned(), |value| value.to_string())
}

/// `yes`, `no (silent)`, `never reported`.
fn connected(connected: Option<bool>) -> &'static str {
    match connected {
        Some(true) => "yes",
        Some(false) => "no (silent)",
        None => "never reported",
    }
}

/// `1000 Mbit/s`.
fn speed(mbps: Option<u32>) -> String {
    mbps.map_or_else(|| NONE.to_owned(), |s| format!("{s} Mbit/s"))
}

/// `42.0 %`.
fn percent(text: Option<&str>) -> String {
    text.map_or_else(|| NONE.to_owned(), |p| format!("{p} %"))
}

/// `govctl router list`
pub fn routers(routers: &[RouterSummary]) -> String {
    if routers.is_empty() {
        return "No routers.\n".to_owned();
    }
    let mut table = Table::new(&[
        "ROUTER",
        "LEVEL",
        "CODE",
        "UPSTREAM",
        "CONNECTED",
        "AGENT",
        "LAST SEEN",
    ]);
    for router in routers {
        table.row(vec![
            router.name.clone(),
            format!("{:?}", router.level),
            router.division_code.clone(),
            optional(router.upstream.as_deref()),
            connected(router.connected).to_owned(),
            optional(router.agent_version.as_deref()),
            optional_time(router.last_seen.as_ref(), NONE),
        ]);
    }
    table.render()
}

/// `govctl router show NAME`
pub fn router(view: &RouterView) -> String {
    let summary = &view.summary;
    let mut text = fields(&[
        ("Router", summary.name.clone()),
        ("Display name", summary.display_name.clone()),
        (
            "Site",
            format!(
                "{} ({:?}, {})",
                view.site_name, summary.level, summary.division_code
            ),
        ),
        ("Upstream", optional(summary.upstream.as_deref())),
        ("Connected", connected(summary.connected).to_owned()),
        ("Agent", optional(summary.agent_version.as_deref())),
        (
            "Last seen",
            optional_time(summary.last_seen.as_ref(), "never"),
        ),
        (
            "Report interval",
            format!("{} s", view.report_interval_seconds),
        ),
        ("Links", list(&view.links)),
    ]);
    let mut interfaces = Table::new(&["INTERFACE", "ROLE", "STATE", "CARRIER", "SPEED", "MTU"]);
    for interface in &view.interfaces {
        interfaces.row(vec![
            interface.name.clone(),
            interface
                .role
                .map_or_else(|| "(not declared)".to_owned(), |r| format!("{r:?}")),
            optional(interface.oper_state.as_deref()),
            interface.carrier.map_or_else(
                || NONE.to_owned(),
                |c| if c { "yes" } else { "no" }.to_owned(),
            ),
            speed(interface.speed_mbps),
            optional(interface.mtu),
        ]);
    }
    let _ = write!(text, "\nInterfaces:\n{}", interfaces.render());
    conditions(&mut text, &view.conditions);
    text
}

fn conditions(text: &mut String, conditions: &[govcloud_crds::api::ConditionView]) {
    if conditions.is_empty() {
        return;
    }
    let mut table = Table::new(&["CONDITION", "STATUS", "REASON", "MESSAGE"]);
    for condition in conditions {
        table.row(vec![
            condition.kind.clone(),
            condition.status.clone(),
            condition.reason.clone(),
            condition.message.clone(),
        ]);
    }
    let _ = write!(text, "\nConditions:\n{}", table.render());
}

/// `govctl link list`
pub fn links(links: &[LinkSummary]) -> String {
    if links.is_empty() {
        return "No extranet links.\n".to_owned();
    }
    let mut table = Table::new(&[
        "LINK",
        "TIER",
        "UPSTREAM",
        "DOWNSTREAM",
        "MEMBERS UP",
        "COMPLIANCE",
        "P95",
    ]);
    for link in links {
        table.row(vec![
            link.name.clone(),
            format!("{:?}", link.tier),
            link.upstream.clone(),
            link.downstream.clone(),
            format!("{}/2", link.members_up),
            format!("{:?}", link.compliance),
            percent(link.utilisation_p95_percent.as_deref()),
        ]);
    }
    let mut text = table.render();
    let count = |c: Compliance| links.iter().filter(|l| l.compliance == c).count();
    let _ = writeln!(
        text,
        "\n{} links: {} compliant, {} degraded, {} down, {} unknown.",
        links.len(),
        count(Compliance::Compliant),
        count(Compliance::Degraded),
        count(Compliance::Down),
        count(Compliance::Unknown),
    );
    text
}

/// `govctl link show NAME`
pub fn link(view: &LinkView) -> String {
    let summary = &view.summary;
    let mut text = fields(&[
        ("Link", summary.name.clone()),
        (
            "Tier",
            format!(
                "{:?} (2 × {})",
                summary.tier,
                speed(summary.member_speed_mbps)
            ),
        ),
        (
            "Upstream",
            format!(
                "{} ({})",
                summary.upstream,
                view.upstream_members.join(", ")
            ),
        ),
        (
            "Downstream",
            format!(
                "{} ({})",
                summary.downstream,
                view.downstream_members.join(", ")
            ),
        ),
        ("Carrier", optional(view.carrier.as_deref())),
        ("Compliance", format!("{:?}", summary.compliance)),
        ("Members up", format!("{}/2", summary.members_up)),
        (
            "Utilisation p95",
            format!(
                "{} over {}",
                percent(summary.utilisation_p95_percent.as_deref()),
                view.utilisation_window
            ),
        ),
        (
            "Error limit",
            format!("{} per minute", view.max_errors_per_minute),
        ),
        (
            "Last evaluated",
            optional_time(view.last_evaluated.as_ref(), "never"),
        ),
    ]);
    if !view.members.is_empty() {
        let mut members = Table::new(&[
            "END",
            "ROUTER",
            "INTERFACE",
            "UP",
            "SPEED",
            "ERRORS/MIN",
            "P95",
        ]);
        for member in &view.members {
            members.row(vec![
                match member.side {
                    LinkSide::Upstream => "upstream",
                    LinkSide::Downstream => "downstream",
                }
                .to_owned(),
                member.router.clone(),
                member.interface.clone(),
                if member.up { "yes" } else { "no" }.to_owned(),
                speed(member.speed_mbps),
                optional(member.errors_per_minute.map(|e| format!("{e:.1}"))),
                optional(member.utilisation_p95_percent.map(|p| format!("{p:.1} %"))),
            ]);
        }
        let _ = write!(text, "\nMembers:\n{}", members.render());
    }
    if !view.reasons.is_empty() {
        text.push_str("\nWhy it is not compliant:\n");
        for reason in &view.reasons {
            let _ = writeln!(text, "  - {reason}");
        }
    }
    conditions(&mut text, &view.conditions);
    text
}

#[cfg(test)]
mod tests {
    use govcloud_crds::api::LinkMemberView;
    use govcloud_crds::network::extranet_link::LinkTier;

    use super::*;

    fn summary(name: &str, compliance: Compliance, up: u32) -> LinkSummary {
        LinkSummary {
            name: name.to_owned(),
            tier: LinkTier::CityCounty,
            member_speed_mbps: Some(1000),
            upstream: "ankang-core".into(),
            downstream: "hanbin-core".into(),
            compliance,
            members_up: up,
            utilisation_p95_percent: Some("42.0".into()),
        }
    }

    #[test]
    fn links_are_a_table_with_a_tally() {
        let text = links(&[
            summary("cc-hanbin", Compliance::Degraded, 1),
            summary("cc-hanyin", Compliance::Compliant, 2),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("LINK       TIER        UPSTREAM"),
            "{text}"
        );
        assert!(
            lines[1].contains("1/2") && lines[1].contains("Degraded"),
            "{text}"
        );
        assert!(lines[1].ends_with("42.0 %"), "{text}");
        assert!(
            text.ends_with("2 links: 1 compliant, 1 degraded, 0 down, 0 unknown.\n"),
            "{text}"
        );
        assert_eq!(links(&[]), "No extranet links.\n");
    }

    #[test]
    fn a_link_shows_each_member_and_why() {
        let view = LinkView {
            summary: summary("cc-hanbin", Compliance::Degraded, 1),
            upstream_members: vec!["cc-hanbin-a".into(), "cc-hanbin-b".into()],
            downstream_members: vec!["up-a".into(), "up-b".into()],
            carrier: Some("中国电信安康分公司".into()),
            utilisation_window: "168h".into(),
            max_errors_per_minute: 5,
            members: vec![LinkMemberView {
                side: LinkSide::Downstream,
                router: "hanbin-core".into(),
                interface: "up-a".into(),
                up: false,
                speed_mbps: None,
                errors_per_minute: Some(0.0),
                utilisation_p95_percent: Some(12.3),
            }],
            reasons: vec!["member 1 at the downstream end (hanbin-core up-a) is down".into()],
            last_evaluated: None,
            conditions: Vec::new(),
        };
        let text = link(&view);
        for expected in [
            "Tier:             CityCounty (2 × 1000 Mbit/s)",
            "Downstream:       hanbin-core (up-a, up-b)",
            "Utilisation p95:  42.0 % over 168h",
            "downstream  hanbin-core  up-a       no  -      0.0         12.3 %",
            "  - member 1 at the downstream end (hanbin-core up-a) is down",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}
