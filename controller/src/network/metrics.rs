//! The extranet's metrics, registered in the controller's registry: links per tier and
//! compliance, each link's members (up, speed), members up and utilisation p95, and each
//! router's agent (age of its last report, its interval). `link` takes the names of
//! `ExtranetLink` objects and `router` those of `Router` objects: managed, finite sets that
//! operations declare (about 150 each for a city, 1,300 for a province); `member` is `1` or
//! `2`, `end` `upstream` or `downstream`, `tier` and `compliance` fixed sets. Series of deleted
//! objects are removed; member series are removed while a link's telemetry is stale (nothing is
//! known of them then). `docs/metrics.md` documents them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use govcloud_crds::network::extranet_link::{Compliance, LinkSide, LinkTier};
use prometheus::{GaugeVec, IntGaugeVec, Opts, Registry};

use govcloud_core::network::contract::{SIDES, side_name};
use govcloud_core::network::link_status::compliance_name;

/// Every tier, as the `tier` label writes it.
pub const TIERS: [LinkTier; 3] = [
    LinkTier::CityCounty,
    LinkTier::CountyTownship,
    LinkTier::Custom,
];
/// Every compliance.
pub const COMPLIANCES: [Compliance; 4] = [
    Compliance::Compliant,
    Compliance::Degraded,
    Compliance::Down,
    Compliance::Unknown,
];

/// The tier's name, as the `tier` label writes it.
pub fn tier_name(tier: LinkTier) -> &'static str {
    match tier {
        LinkTier::CityCounty => "CityCounty",
        LinkTier::CountyTownship => "CountyTownship",
        LinkTier::Custom => "Custom",
    }
}

/// One member at one end, for the member gauges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberFigures {
    /// 1 or 2.
    pub member: u8,
    /// Which end.
    pub side: LinkSide,
    /// Up at that end.
    pub up: bool,
    /// Reported speed, when known.
    pub speed_mbps: Option<u32>,
}

/// What one link's series show.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkFigures {
    /// The tier.
    pub tier: LinkTier,
    /// The verdict.
    pub compliance: Compliance,
    /// Members up at both ends.
    pub members_up: u32,
    /// Each member at each end (ignored while the compliance is `Unknown`).
    pub members: Vec<MemberFigures>,
    /// Highest member utilisation p95, as a ratio of the contract.
    pub utilisation_p95: Option<f64>,
}

/// The extranet's metrics.
#[derive(Debug)]
pub struct NetworkMetrics {
    links: IntGaugeVec,
    members_up: IntGaugeVec,
    member_up: IntGaugeVec,
    member_speed: IntGaugeVec,
    utilisation: GaugeVec,
    agent_age: GaugeVec,
    agent_interval: IntGaugeVec,
    /// The last tier and compliance of each link, to count them.
    verdicts: Mutex<BTreeMap<String, (LinkTier, Compliance)>>,
    /// Routers with series.
    routers: Mutex<BTreeSet<String>>,
}

impl NetworkMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let int_gauge = |name: &str, help: &str, labels: &[&str]| {
            IntGaugeVec::new(Opts::new(name, help), labels)
        };
        let links = int_gauge(
            "govcloud_extranet_links",
            "Extranet links by tier and compliance (Compliant, Degraded, Down, Unknown).",
            &["tier", "compliance"],
        )?;
        for tier in TIERS {
            for compliance in COMPLIANCES {
                links
                    .with_label_values(&[tier_name(tier), compliance_name(compliance)])
                    .set(0);
            }
        }
        let members_up = int_gauge(
            "govcloud_extranet_link_members_up",
            "Members of an extranet link up at both ends (0, 1 or 2); absent while its telemetry is stale.",
            &["link"],
        )?;
        let member_state = int_gauge(
            "govcloud_extranet_link_member_up",
            "1 when a member interface of an extranet link is operationally up with carrier at that end, else 0.",
            &["link", "member", "end"],
        )?;
        let member_speed = int_gauge(
            "govcloud_extranet_link_member_speed_mbps",
            "Speed a member interface of an extranet link reports at that end, in Mbit/s.",
            &["link", "member", "end"],
        )?;
        let utilisation = GaugeVec::new(
            Opts::new(
                "govcloud_extranet_link_utilisation_p95_ratio",
                "Highest member utilisation p95 of an extranet link over its window, as a ratio of the contracted speed.",
            ),
            &["link"],
        )?;
        let agent_age = GaugeVec::new(
            Opts::new(
                "govcloud_agent_last_seen_age_seconds",
                "Seconds since a router's agent observed its newest report, as of the router's last reconcile.",
            ),
            &["router"],
        )?;
        let agent_interval = int_gauge(
            "govcloud_agent_report_interval_seconds",
            "A router agent's report interval, in seconds (its telemetry is stale after three).",
            &["router"],
        )?;
        for collector in [
            &links,
            &members_up,
            &member_state,
            &member_speed,
            &agent_interval,
        ] {
            registry.register(Box::new(collector.clone()))?;
        }
        registry.register(Box::new(utilisation.clone()))?;
        registry.register(Box::new(agent_age.clone()))?;
        Ok(Self {
            links,
            members_up,
            member_up: member_state,
            member_speed,
            utilisation,
            agent_age,
            agent_interval,
            verdicts: Mutex::new(BTreeMap::new()),
            routers: Mutex::new(BTreeSet::new()),
        })
    }

    /// Sets the series of `link` (without a moment where they are absent).
    pub fn set_link(&self, link: &str, figures: &LinkFigures) {
        if figures.compliance == Compliance::Unknown {
            self.clear_members(link);
        } else {
            self.members_up
                .with_label_values(&[link])
                .set(i64::from(figures.members_up));
            for number in [1_u8, 2] {
                for side in SIDES {
                    let member = number.to_string();
                    let labels = [link, member.as_str(), side_name(side)];
                    let figures = figures
                        .members
                        .iter()
                        .find(|m| m.member == number && m.side == side);
                    match figures {
                        Some(m) => self
                            .member_up
                            .with_label_values(&labels)
                            .set(i64::from(m.up)),
                        None => {
                            let _ = self.member_up.remove_label_values(&labels);
                        }
                    }
                    match figures.and_then(|m| m.speed_mbps) {
                        Some(speed) => self
                            .member_speed
                            .with_label_values(&labels)
                            .set(i64::from(speed)),
                        None => {
                            let _ = self.member_speed.remove_label_values(&labels);
                        }
                    }
                }
            }
        }
        match figures.utilisation_p95 {
            Some(ratio) => self.utilisation.with_label_values(&[link]).set(ratio),
            None => {
                let _ = self.utilisation.remove_label_values(&[link]);
            }
        }
        let mut verdicts = self.verdicts.lock().unwrap_or_else(PoisonError::into_inner);
        verdicts.insert(link.to_owned(), (figures.tier, figures.compliance));
        self.count(&verdicts);
    }

    /// Removes the series of links not in `existing`.
    pub fn retain_links(&self, existing: &BTreeSet<String>) {
        let mut verdicts = self.verdicts.lock().unwrap_or_else(PoisonError::into_inner);
        let gone: Vec<String> = verdicts
            .keys()
            .filter(|l| !existing.contains(*l))
            .cloned()
            .collect();
        for link in &gone {
            self.clear_members(link);
            let _ = self.utilisation.remove_label_values(&[link]);
            verdicts.remove(link);
        }
        self.count(&verdicts);
    }

    fn clear_members(&self, link: &str) {
        let _ = self.members_up.remove_label_values(&[link]);
        for member in ["1", "2"] {
            for side in SIDES {
                let labels = [link, member, side_name(side)];
                let _ = self.member_up.remove_label_values(&labels);
                let _ = self.member_speed.remove_label_values(&labels);
            }
        }
    }

    fn count(&self, verdicts: &BTreeMap<String, (LinkTier, Compliance)>) {
        for tier in TIERS {
            for compliance in COMPLIANCES {
                let count = verdicts
                    .values()
                    .filter(|v| **v == (tier, compliance))
                    .count();
                self.links
                    .with_label_values(&[tier_name(tier), compliance_name(compliance)])
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            }
        }
    }

    /// Sets the agent series of `router`: the age of its newest report and its interval, or
    /// none when it never reported.
    pub fn set_agent(&self, router: &str, age_seconds: Option<f64>, interval_seconds: Option<u64>) {
        if let (Some(age), Some(interval)) = (age_seconds, interval_seconds) {
            self.agent_age
                .with_label_values(&[router])
                .set(age.max(0.0));
            self.agent_interval
                .with_label_values(&[router])
                .set(i64::try_from(interval).unwrap_or(i64::MAX));
        } else {
            let _ = self.agent_age.remove_label_values(&[router]);
            let _ = self.agent_interval.remove_label_values(&[router]);
        }
        let mut routers = self.routers.lock().unwrap_or_else(PoisonError::into_inner);
        routers.insert(router.to_owned());
    }

    /// Removes the series of routers not in `existing`.
    pub fn retain_routers(&self, existing: &BTreeSet<String>) {
        let mut routers = self.routers.lock().unwrap_or_else(PoisonError::into_inner);
        for router in routers.iter().filter(|r| !existing.contains(*r)) {
            let _ = self.agent_age.remove_label_values(&[router]);
            let _ = self.agent_interval.remove_label_values(&[router]);
        }
        routers.retain(|r| existing.contains(r));
    }
}

#[cfg(test)]
mod tests {
    use prometheus::{Encoder as _, TextEncoder};

    use super::*;

    fn render(registry: &Registry) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .expect("encode");
        String::from_utf8(out).expect("utf-8")
    }

    fn assert_lines(text: &str, present: &[&str], absent: &[&str]) {
        for line in present {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        for line in absent {
            assert!(!text.contains(line), "unexpected {line} in\n{text}");
        }
    }

    fn figures(compliance: Compliance, up: [bool; 4]) -> LinkFigures {
        let mut members = Vec::new();
        for (i, (member, side)) in [1, 2]
            .into_iter()
            .flat_map(|m| SIDES.map(|s| (m, s)))
            .enumerate()
        {
            members.push(MemberFigures {
                member,
                side,
                up: up[i],
                speed_mbps: up[i].then_some(1000),
            });
        }
        LinkFigures {
            tier: LinkTier::CityCounty,
            compliance,
            members_up: u32::from(up[0] && up[1]) + u32::from(up[2] && up[3]),
            members,
            utilisation_p95: Some(0.25),
        }
    }

    #[test]
    fn links_are_counted_per_tier_and_compliance_and_stale_series_go() {
        let registry = Registry::new();
        let metrics = NetworkMetrics::register(&registry).expect("register");
        assert_lines(
            &render(&registry),
            &["govcloud_extranet_links{compliance=\"Unknown\",tier=\"Custom\"} 0"],
            &["govcloud_extranet_link_member_up{"],
        );
        metrics.set_link("cc-hanbin", &figures(Compliance::Compliant, [true; 4]));
        metrics.set_link(
            "cc-hanyin",
            &figures(Compliance::Degraded, [true, false, true, true]),
        );
        assert_lines(
            &render(&registry),
            &[
                "govcloud_extranet_links{compliance=\"Compliant\",tier=\"CityCounty\"} 1",
                "govcloud_extranet_links{compliance=\"Degraded\",tier=\"CityCounty\"} 1",
                "govcloud_extranet_link_members_up{link=\"cc-hanyin\"} 1",
                "govcloud_extranet_link_member_up{end=\"downstream\",link=\"cc-hanyin\",member=\"1\"} 0",
                "govcloud_extranet_link_member_speed_mbps{end=\"upstream\",link=\"cc-hanyin\",member=\"2\"} 1000",
                "govcloud_extranet_link_utilisation_p95_ratio{link=\"cc-hanbin\"} 0.25",
            ],
            &[
                "govcloud_extranet_link_member_speed_mbps{end=\"downstream\",link=\"cc-hanyin\",member=\"1\"}",
            ],
        );
        // Stale telemetry: nothing is known of the members any more.
        metrics.set_link("cc-hanyin", &figures(Compliance::Unknown, [false; 4]));
        assert_lines(
            &render(&registry),
            &[
                "govcloud_extranet_links{compliance=\"Unknown\",tier=\"CityCounty\"} 1",
                "govcloud_extranet_links{compliance=\"Degraded\",tier=\"CityCounty\"} 0",
            ],
            &[
                "link=\"cc-hanyin\",member",
                "govcloud_extranet_link_members_up{link=\"cc-hanyin\"}",
            ],
        );
        metrics.retain_links(&BTreeSet::from(["cc-hanyin".to_owned()]));
        assert_lines(
            &render(&registry),
            &["govcloud_extranet_links{compliance=\"Compliant\",tier=\"CityCounty\"} 0"],
            &["cc-hanbin"],
        );
    }

    #[test]
    fn agents_show_their_age_and_interval_until_their_router_goes() {
        let registry = Registry::new();
        let metrics = NetworkMetrics::register(&registry).expect("register");
        metrics.set_agent("ankang-core", Some(12.0), Some(30));
        metrics.set_agent("hanbin-core", None, None);
        assert_lines(
            &render(&registry),
            &[
                "govcloud_agent_last_seen_age_seconds{router=\"ankang-core\"} 12",
                "govcloud_agent_report_interval_seconds{router=\"ankang-core\"} 30",
            ],
            &["hanbin-core"],
        );
        metrics.retain_routers(&BTreeSet::new());
        assert_lines(&render(&registry), &[], &["ankang-core"]);
    }
}
