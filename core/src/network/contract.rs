//! The contract of an `ExtranetLink`, read and checked from its spec (pure): the speed each
//! member is contracted at (from the tier, or `customTier` for a `Custom` tier), the two members
//! as interface pairs, the error-rate threshold and the utilisation window.

use std::time::Duration;

use govcloud_crds::network::extranet_link::{ExtranetLinkSpec, LinkSide, LinkTier};

/// Why a link's spec cannot be evaluated. Permanent: only a change of the spec fixes it (the
/// schema's rules refuse these, so they come from objects written past admission).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// A `Custom` tier without `customTier`.
    #[error("spec.customTier: required for tier Custom (the contracted speed of each member)")]
    MissingCustomTier,
    /// An end without exactly two member interfaces.
    #[error("spec.{side}.members: an end needs exactly two member interfaces, found {found}")]
    MemberCount { side: &'static str, found: usize },
    /// The utilisation window is not a Go duration, or is zero.
    #[error("spec.utilisationWindow: \"{value}\" is not a positive Go duration such as 24h")]
    InvalidWindow { value: String },
}

impl ContractError {
    /// Static category: condition reason, event reason and metric label.
    pub fn category(&self) -> &'static str {
        match self {
            Self::MissingCustomTier => "MissingCustomTier",
            Self::MemberCount { .. } => "InvalidMembers",
            Self::InvalidWindow { .. } => "InvalidWindow",
        }
    }
}

/// One member of the link: its interface at each end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// 1 or 2, the member's position in the spec.
    pub number: u8,
    /// The interface at the upstream router.
    pub upstream: String,
    /// The interface at the downstream router.
    pub downstream: String,
}

impl Member {
    /// The interface at `side`.
    pub fn interface(&self, side: LinkSide) -> &str {
        match side {
            LinkSide::Upstream => &self.upstream,
            LinkSide::Downstream => &self.downstream,
        }
    }
}

/// What a link promises.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkContract {
    /// The tier.
    pub tier: LinkTier,
    /// Contracted speed of each member, in Mbit/s.
    pub member_speed_mbps: u32,
    /// The upstream and downstream routers.
    pub upstream_router: String,
    /// The downstream router.
    pub downstream_router: String,
    /// The two members.
    pub members: [Member; 2],
    /// Errors per minute above which a member is erroring.
    pub max_errors_per_minute: u32,
    /// The window of the utilisation p95.
    pub utilisation_window: Duration,
}

impl LinkContract {
    /// The contract of `spec`.
    pub fn from_spec(spec: &ExtranetLinkSpec) -> Result<Self, ContractError> {
        let member_speed_mbps = match (spec.tier.member_speed_mbps(), &spec.custom_tier) {
            (Some(speed), _) => speed,
            (None, Some(custom)) => custom.member_speed_mbps,
            (None, None) => return Err(ContractError::MissingCustomTier),
        };
        let pair = |members: &[String], side: &'static str| match members {
            [a, b] => Ok([a.clone(), b.clone()]),
            _ => Err(ContractError::MemberCount {
                side,
                found: members.len(),
            }),
        };
        let [up_a, up_b] = pair(&spec.upstream.members, "upstream")?;
        let [down_a, down_b] = pair(&spec.downstream.members, "downstream")?;
        let window = spec
            .utilisation_window
            .to_std()
            .ok()
            .filter(|w| !w.is_zero());
        let utilisation_window = window.ok_or_else(|| ContractError::InvalidWindow {
            value: spec.utilisation_window.to_string(),
        })?;
        Ok(Self {
            tier: spec.tier,
            member_speed_mbps,
            upstream_router: spec.upstream.router.clone(),
            downstream_router: spec.downstream.router.clone(),
            members: [
                Member {
                    number: 1,
                    upstream: up_a,
                    downstream: down_a,
                },
                Member {
                    number: 2,
                    upstream: up_b,
                    downstream: down_b,
                },
            ],
            max_errors_per_minute: spec.max_errors_per_minute,
            utilisation_window,
        })
    }

    /// The router at `side`.
    pub fn router(&self, side: LinkSide) -> &str {
        match side {
            LinkSide::Upstream => &self.upstream_router,
            LinkSide::Downstream => &self.downstream_router,
        }
    }

    /// Contracted capacity of one member in one direction, in bits per second.
    pub fn member_capacity_bps(&self) -> f64 {
        f64::from(self.member_speed_mbps) * 1_000_000.0
    }
}

/// Both sides, upstream first.
pub const SIDES: [LinkSide; 2] = [LinkSide::Upstream, LinkSide::Downstream];

/// `upstream` or `downstream`, as metric labels and messages write a side.
pub fn side_name(side: LinkSide) -> &'static str {
    match side {
        LinkSide::Upstream => "upstream",
        LinkSide::Downstream => "downstream",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A link spec from JSON fields merged over a CityCounty link `a`/`b`.
    pub(crate) fn spec(overrides: &serde_json::Value) -> ExtranetLinkSpec {
        let mut spec = serde_json::json!({
            "tier": "CityCounty",
            "upstream": {"router": "ankang-core", "members": ["cc-hanbin-a", "cc-hanbin-b"]},
            "downstream": {"router": "hanbin-core", "members": ["up-a", "up-b"]},
            "maxErrorsPerMinute": 5,
            "utilisationWindow": "24h",
        });
        if let (Some(base), Some(more)) = (spec.as_object_mut(), overrides.as_object()) {
            base.extend(more.clone());
        }
        serde_json::from_value(spec).expect("a link spec")
    }

    #[test]
    fn tiers_contract_the_plans_speeds() {
        let contract = LinkContract::from_spec(&spec(&serde_json::json!({}))).expect("contract");
        assert_eq!(contract.member_speed_mbps, 1000);
        assert_eq!(contract.members[1].interface(LinkSide::Downstream), "up-b");
        assert_eq!(contract.utilisation_window, Duration::from_secs(86_400));
        let township = spec(&serde_json::json!({"tier": "CountyTownship"}));
        assert_eq!(
            LinkContract::from_spec(&township).map(|c| c.member_speed_mbps),
            Ok(100)
        );
        let custom = spec(&serde_json::json!({
            "tier": "Custom", "customTier": {"memberSpeedMbps": 10_000}
        }));
        assert_eq!(
            LinkContract::from_spec(&custom).map(|c| c.member_speed_mbps),
            Ok(10_000)
        );
    }

    #[test]
    fn specs_past_admission_name_the_field() {
        let custom = spec(&serde_json::json!({"tier": "Custom"}));
        assert_eq!(
            LinkContract::from_spec(&custom),
            Err(ContractError::MissingCustomTier)
        );
        let one = spec(&serde_json::json!({
            "downstream": {"router": "hanbin-core", "members": ["up-a"]}
        }));
        let error = LinkContract::from_spec(&one).expect_err("one member");
        assert_eq!(
            error.to_string(),
            "spec.downstream.members: an end needs exactly two member interfaces, found 1"
        );
        assert_eq!(error.category(), "InvalidMembers");
        let window = spec(&serde_json::json!({"utilisationWindow": "0s"}));
        assert_eq!(
            LinkContract::from_spec(&window).map_err(|e| e.category()),
            Err("InvalidWindow")
        );
    }
}
