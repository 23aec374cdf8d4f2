//! A `Router`'s status from its agent's newest report, pure: agent version, last seen,
//! interfaces, and the `Connected` condition (`True` while the newest report is at most three
//! report intervals old, `False` once it is older, `Unknown` before the first report); when to
//! look again so that staleness is noticed without any new event; and the events a change of
//! connection deserves.
//!
//! The router controller owns these fields of the status, `observedGeneration`, and those of
//! [`super::config_status`] (configuration generations, drift, `ConfigApplied`, `Ipv6Ready`);
//! the prefix and `AddressAssigned` belong to the address pool controller's field manager, and
//! are never part of this controller's apply.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use govcloud_crds::network::router::{InterfaceStatus, RouterStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;

use super::compliance::{STALE_AFTER_INTERVALS, freshness};
use super::config_status::CONFIG_APPLIED;
use super::readiness::IPV6_READY;
use crate::conditions::{self, Desired};
use crate::kube_time::to_kube;

/// The condition that says whether the agent reports.
pub const CONNECTED: &str = "Connected";
/// Most interfaces kept in the status (the spec's limit).
pub const MAX_INTERFACES: usize = 256;

/// What the newest report of a router's agent says.
#[derive(Clone, Debug, PartialEq)]
pub struct RouterObservation {
    /// The agent's version, when known.
    pub agent_version: Option<String>,
    /// When the agent observed what it reported.
    pub observed_at: DateTime<Utc>,
    /// The agent's own report interval, when it said.
    pub interval: Option<Duration>,
    /// The interfaces it reported.
    pub interfaces: Vec<InterfaceStatus>,
}

/// Whether the agent reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    /// No report ever.
    Never,
    /// Reporting; stale from `stale_at` on unless another report comes.
    Fresh { stale_at: DateTime<Utc> },
    /// Silent since `last_seen`.
    Stale { last_seen: DateTime<Utc> },
}

/// The connection at `now` of an agent last seen at `last_seen` reporting every `interval`.
pub fn connection(
    last_seen: Option<DateTime<Utc>>,
    interval: Duration,
    now: DateTime<Utc>,
) -> Connection {
    let Some(last_seen) = last_seen else {
        return Connection::Never;
    };
    match last_seen.checked_add_signed(freshness(interval)) {
        Some(stale_at) if stale_at >= now => Connection::Fresh { stale_at },
        _ => Connection::Stale { last_seen },
    }
}

/// When to look again without news: at the moment a fresh router would turn stale, so that
/// `Connected` turns `False` on time. Nothing for a silent or never-seen agent: its next report
/// is news that triggers a look by itself.
pub fn next_check(connection: Connection, now: DateTime<Utc>) -> Option<Duration> {
    match connection {
        Connection::Fresh { stale_at } => Some(
            (stale_at - now + TimeDelta::seconds(1))
                .to_std()
                .unwrap_or(Duration::from_secs(1))
                .max(Duration::from_secs(1)),
        ),
        Connection::Never | Connection::Stale { .. } => None,
    }
}

/// The `Connected` condition for `connection`.
fn connected(connection: Connection, interval: Duration) -> Desired<'static> {
    let seconds = interval.as_secs();
    let limit = seconds.saturating_mul(u64::from(STALE_AFTER_INTERVALS));
    match connection {
        Connection::Fresh { .. } => Desired {
            kind: CONNECTED,
            status: "True",
            reason: "Reporting",
            message: format!("the agent reports every {seconds} s"),
        },
        Connection::Stale { last_seen } => Desired {
            kind: CONNECTED,
            status: "False",
            reason: "AgentSilent",
            message: format!(
                "no report since {}: stale after {limit} s ({STALE_AFTER_INTERVALS} intervals of {seconds} s)",
                last_seen.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        },
        Connection::Never => Desired {
            kind: CONNECTED,
            status: "Unknown",
            reason: "NeverReported",
            message: "the agent has not reported yet; enrol it with `govctl router enroll`"
                .to_owned(),
        },
    }
}

/// The status for `observation` at `now`: `previous` with this controller's fields replaced.
pub fn to_status(
    previous: &RouterStatus,
    observation: Option<&RouterObservation>,
    interval: Duration,
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> (RouterStatus, Connection) {
    let connection = connection(observation.map(|o| o.observed_at), interval, now);
    let mut status = previous.clone();
    if let Some(observation) = observation {
        status.agent_version.clone_from(&observation.agent_version);
        status.last_seen = to_kube(observation.observed_at);
        let mut interfaces = observation.interfaces.clone();
        interfaces.sort_by(|a, b| a.name.cmp(&b.name));
        interfaces.dedup_by(|a, b| a.name == b.name);
        interfaces.truncate(MAX_INTERFACES);
        status.interfaces = interfaces;
    }
    let stamp = Timestamp::from_second(now.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH);
    conditions::set(
        &mut status.conditions,
        &connected(connection, interval),
        generation,
        stamp,
    );
    status.observed_generation = generation;
    (status, connection)
}

/// The conditions this controller owns.
pub const OWNED_CONDITIONS: [&str; 3] = [CONNECTED, CONFIG_APPLIED, IPV6_READY];

/// The fields of `status` this controller owns, for a server-side apply: the agent's
/// version, last seen, interfaces, the configuration generations and drift, the `Connected`,
/// `ConfigApplied` and `Ipv6Ready` conditions and `observedGeneration` — never the prefix nor
/// another manager's condition (`AddressAssigned`).
pub fn owned_fields(status: &RouterStatus) -> serde_json::Value {
    let owned: Vec<&Condition> = status
        .conditions
        .iter()
        .filter(|c| OWNED_CONDITIONS.contains(&c.type_.as_str()))
        .collect();
    let mut fields = serde_json::Map::new();
    if let Some(version) = &status.agent_version {
        fields.insert("agentVersion".into(), serde_json::json!(version));
    }
    if let Some(last_seen) = &status.last_seen {
        fields.insert("lastSeen".into(), serde_json::json!(last_seen));
    }
    if !status.interfaces.is_empty() {
        fields.insert("interfaces".into(), serde_json::json!(status.interfaces));
    }
    if let Some(generation) = status.desired_config_generation {
        fields.insert(
            "desiredConfigGeneration".into(),
            serde_json::json!(generation),
        );
    }
    if let Some(generation) = status.applied_config_generation {
        fields.insert(
            "appliedConfigGeneration".into(),
            serde_json::json!(generation),
        );
    }
    if !status.drift.is_empty() {
        fields.insert("drift".into(), serde_json::json!(status.drift));
    }
    fields.insert("conditions".into(), serde_json::json!(owned));
    if let Some(generation) = status.observed_generation {
        fields.insert("observedGeneration".into(), serde_json::json!(generation));
    }
    serde_json::Value::Object(fields)
}

/// Whether the fields this controller owns differ between `a` and `b`.
pub fn owned_fields_differ(a: &RouterStatus, b: &RouterStatus) -> bool {
    owned_fields(a) != owned_fields(b)
}

/// The event a change of connection deserves: `AgentConnected` (Normal) when the agent
/// starts or resumes reporting, `AgentSilent` (Warning) when it stops. `(warning, reason, note)`.
pub fn announcement(
    before: &RouterStatus,
    after: &RouterStatus,
) -> Option<(bool, &'static str, String)> {
    let was = conditions::status_of(&before.conditions, CONNECTED);
    let is = after.conditions.iter().find(|c| c.type_ == CONNECTED)?;
    match (was, is.status.as_str()) {
        (Some("True"), "True") | (_, "Unknown") => None,
        (_, "True") => Some((
            false,
            "AgentConnected",
            format!(
                "agent {} reports: {}",
                after
                    .agent_version
                    .as_deref()
                    .unwrap_or("(version unknown)"),
                is.message
            ),
        )),
        (Some("True"), _) => Some((true, "AgentSilent", is.message.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).expect("time")
    }

    const INTERVAL: Duration = Duration::from_secs(30);

    fn observation(observed: i64) -> RouterObservation {
        let interface = |name: &str, state: &str| InterfaceStatus {
            name: name.to_owned(),
            oper_state: state.to_owned(),
            carrier: state == "up",
            speed_mbps: Some(1000),
            mtu: 1500,
        };
        RouterObservation {
            agent_version: Some("0.1.0".into()),
            observed_at: at(observed),
            interval: Some(INTERVAL),
            interfaces: vec![
                interface("up-b", "up"),
                interface("up-a", "down"),
                interface("up-a", "up"),
            ],
        }
    }

    #[test]
    fn a_fresh_report_connects_and_is_looked_at_again_when_it_would_turn_stale() {
        let (status, connection) = to_status(
            &RouterStatus::default(),
            Some(&observation(0)),
            INTERVAL,
            Some(1),
            at(10),
        );
        assert_eq!(connection, Connection::Fresh { stale_at: at(90) });
        assert_eq!(status.agent_version.as_deref(), Some("0.1.0"));
        assert_eq!(status.last_seen, to_kube(at(0)));
        let names: Vec<&str> = status.interfaces.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["up-a", "up-b"], "sorted, one per name");
        assert_eq!(
            conditions::status_of(&status.conditions, CONNECTED),
            Some("True")
        );
        assert_eq!(
            next_check(connection, at(10)),
            Some(Duration::from_secs(81)),
            "at the moment it turns stale"
        );
        assert_eq!(
            next_check(connection, at(80)),
            Some(Duration::from_secs(11))
        );
        let news = announcement(&RouterStatus::default(), &status).expect("an event");
        assert_eq!((news.0, news.1), (false, "AgentConnected"));
        // The same report a little later changes nothing.
        let (again, _) = to_status(&status, Some(&observation(0)), INTERVAL, Some(1), at(40));
        assert!(!owned_fields_differ(&status, &again));
        assert_eq!(announcement(&status, &again), None);
    }

    #[test]
    fn a_silent_agent_disconnects_after_three_intervals() {
        let (connected, _) = to_status(
            &RouterStatus::default(),
            Some(&observation(0)),
            INTERVAL,
            Some(1),
            at(10),
        );
        let (silent, connection) =
            to_status(&connected, Some(&observation(0)), INTERVAL, Some(1), at(91));
        assert_eq!(connection, Connection::Stale { last_seen: at(0) });
        let condition = &silent.conditions[0];
        assert_eq!(
            (condition.status.as_str(), condition.reason.as_str()),
            ("False", "AgentSilent")
        );
        assert_eq!(
            condition.message,
            "no report since 2023-11-14T22:13:20Z: stale after 90 s (3 intervals of 30 s)"
        );
        assert_eq!(silent.last_seen, connected.last_seen, "last seen stays");
        let news = announcement(&connected, &silent).expect("an event");
        assert_eq!((news.0, news.1), (true, "AgentSilent"));
        assert_eq!(
            next_check(connection, at(91)),
            None,
            "its next report is news that triggers a look"
        );
        let (back, _) = to_status(&silent, Some(&observation(100)), INTERVAL, Some(1), at(101));
        assert_eq!(
            announcement(&silent, &back).map(|n| n.1),
            Some("AgentConnected")
        );
    }

    #[test]
    fn a_router_that_never_reported_is_unknown_and_others_fields_are_kept() {
        let address_assigned = Condition {
            type_: "AddressAssigned".to_owned(),
            status: "True".to_owned(),
            reason: "Allocated".to_owned(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                Timestamp::UNIX_EPOCH,
            ),
        };
        let previous = RouterStatus {
            prefix: Some(govcloud_crds::common::Prefix::from("2001:db8:10::/56")),
            conditions: vec![address_assigned],
            ..RouterStatus::default()
        };
        let (status, connection) = to_status(&previous, None, INTERVAL, Some(2), at(0));
        assert_eq!(connection, Connection::Never);
        assert_eq!(
            conditions::status_of(&status.conditions, CONNECTED),
            Some("Unknown")
        );
        assert_eq!(status.prefix, previous.prefix);
        assert_eq!(announcement(&previous, &status), None);
        let fields = owned_fields(&status);
        assert_eq!(fields["observedGeneration"], 2);
        assert!(fields.get("prefix").is_none() && fields.get("drift").is_none());
        let types: Vec<&str> = fields["conditions"]
            .as_array()
            .expect("conditions")
            .iter()
            .filter_map(|c| c["type"].as_str())
            .collect();
        assert_eq!(
            types,
            [CONNECTED],
            "never another manager's AddressAssigned"
        );
        assert!(fields.get("lastSeen").is_none());
        assert_eq!(fields["conditions"][0]["reason"], "NeverReported");
    }
}
