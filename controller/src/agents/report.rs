//! Reading a telemetry report, pure: the body must parse as a `TelemetryReport` (unknown fields
//! refused), and its figures must be sane — a sequence from 1, an interval of a second to a day,
//! an observation time not in the future beyond clock skew, bounded lists, unique interface
//! names, counters that fit the signed 64-bit columns. A sane report becomes one
//! [`TelemetrySample`] per link.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use govcloud_crds::api::{LinkObservation, TelemetryReport};

use crate::api::problem::{ApiProblem, ProblemKind};
use crate::storage::TelemetrySample;

/// Largest report body accepted (2,000 interfaces take about 1 MiB).
pub const MAX_REPORT_BYTES: usize = 4 * 1024 * 1024;
/// Most links in one report.
pub const MAX_LINKS: usize = 8_192;
/// Most route summaries (tables × families) in one report.
pub const MAX_ROUTE_SUMMARIES: usize = 1_024;
/// Longest reporting interval, in seconds (a day).
pub const MAX_INTERVAL_SECONDS: u32 = 86_400;
/// How far in the future an observation time may be (the router's clock running ahead).
const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);
/// Longest agent version string.
const MAX_VERSION_CHARS: usize = 64;
/// Longest Linux interface name (`IFNAMSIZ` − 1).
const MAX_INTERFACE_CHARS: usize = 15;

/// Parses a report. The 400 names the JSON path at fault and the line and column.
pub fn parse_report(bytes: &[u8]) -> Result<TelemetryReport, ApiProblem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let report: TelemetryReport =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            let detail = if path == "." {
                format!("the report does not parse: {inner}")
            } else {
                format!("the report does not parse at `{path}`: {inner}")
            };
            ApiProblem::new(ProblemKind::BadRequest, detail)
        })?;
    deserializer.end().map_err(|error| {
        ApiProblem::new(
            ProblemKind::BadRequest,
            format!("the report does not parse: {error}"),
        )
    })?;
    Ok(report)
}

/// Checks a parsed report at `now`; returns its links as samples, or a 422 naming the field.
pub fn check_report(
    report: &TelemetryReport,
    now: DateTime<Utc>,
) -> Result<Vec<TelemetrySample>, ApiProblem> {
    if report.sequence == 0 || i64::try_from(report.sequence).is_err() {
        return Err(ApiProblem::invalid(
            "sequence",
            format!(
                "sequence must be between 1 and 2^63 - 1, got {}",
                report.sequence
            ),
        ));
    }
    if !(1..=MAX_INTERVAL_SECONDS).contains(&report.interval_seconds) {
        return Err(ApiProblem::invalid(
            "intervalSeconds",
            format!(
                "intervalSeconds must be between 1 and {MAX_INTERVAL_SECONDS}, got {}",
                report.interval_seconds
            ),
        ));
    }
    if report.observed_at > now + MAX_CLOCK_SKEW {
        return Err(ApiProblem::invalid(
            "observedAt",
            format!(
                "observedAt {} is in the future (the controller's clock says {}); check the \
                 router's clock",
                report.observed_at.to_rfc3339(),
                now.to_rfc3339()
            ),
        ));
    }
    let version = report.agent_version.chars().count();
    if version == 0
        || version > MAX_VERSION_CHARS
        || report.agent_version.chars().any(char::is_control)
    {
        return Err(ApiProblem::invalid(
            "agentVersion",
            format!("agentVersion must be 1 to {MAX_VERSION_CHARS} printable characters"),
        ));
    }
    if report.links.len() > MAX_LINKS {
        return Err(ApiProblem::invalid(
            "links",
            format!(
                "at most {MAX_LINKS} links are accepted, got {}",
                report.links.len()
            ),
        ));
    }
    if report.routes.len() > MAX_ROUTE_SUMMARIES {
        return Err(ApiProblem::invalid(
            "routes",
            format!(
                "at most {MAX_ROUTE_SUMMARIES} route summaries are accepted, got {}",
                report.routes.len()
            ),
        ));
    }
    let mut names = BTreeSet::new();
    let mut samples = Vec::with_capacity(report.links.len());
    for (index, link) in report.links.iter().enumerate() {
        if !names.insert(link.name.as_str()) {
            return Err(ApiProblem::invalid(
                format!("links[{index}].name"),
                format!("interface {:?} is listed twice", link.name),
            ));
        }
        samples.push(sample(report, index, link)?);
    }
    Ok(samples)
}

/// The sample of one link, or a 422 naming what cannot be stored.
fn sample(
    report: &TelemetryReport,
    index: usize,
    link: &LinkObservation,
) -> Result<TelemetrySample, ApiProblem> {
    let length = link.name.chars().count();
    if length == 0
        || length > MAX_INTERFACE_CHARS
        || link
            .name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '/')
    {
        return Err(ApiProblem::invalid(
            format!("links[{index}].name"),
            format!(
                "an interface name is 1 to {MAX_INTERFACE_CHARS} characters without spaces or \
                 `/`, got {:?}",
                link.name
            ),
        ));
    }
    let counter = |name: &str, value: u64| {
        i64::try_from(value).map_err(|_| {
            ApiProblem::invalid(
                format!("links[{index}].counters.{name}"),
                format!("counter {name} of {} is above 2^63 - 1", link.name),
            )
        })
    };
    let counters = &link.counters;
    Ok(TelemetrySample {
        router: report.router.clone(),
        interface: link.name.clone(),
        at: report.observed_at,
        rx_bytes: counter("rxBytes", counters.rx_bytes)?,
        tx_bytes: counter("txBytes", counters.tx_bytes)?,
        rx_errors: counter("rxErrors", counters.rx_errors)?,
        tx_errors: counter("txErrors", counters.tx_errors)?,
        oper_up: link.oper_state == "up",
        speed_mbps: link.speed_mbps.map(i64::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use govcloud_crds::api::LinkCounters;

    fn link(name: &str) -> LinkObservation {
        LinkObservation {
            name: name.to_owned(),
            index: 2,
            oper_state: "up".to_owned(),
            carrier: true,
            mtu: 1500,
            speed_mbps: Some(1000),
            counters: LinkCounters {
                rx_bytes: 10,
                tx_bytes: 20,
                rx_errors: 1,
                ..LinkCounters::default()
            },
            ..LinkObservation::default()
        }
    }

    fn report(now: DateTime<Utc>) -> TelemetryReport {
        TelemetryReport {
            router: "hanyin-r1".to_owned(),
            agent_version: "0.1.0".to_owned(),
            sequence: 7,
            observed_at: now,
            interval_seconds: 30,
            links: vec![link("eth0"), link("eth1")],
            routes: Vec::new(),
            config: None,
        }
    }

    #[test]
    fn a_sane_report_becomes_one_sample_per_link() {
        let now = Utc::now();
        let samples = check_report(&report(now), now).expect("sane");
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[1].interface, "eth1");
        assert_eq!(samples[1].router, "hanyin-r1");
        assert_eq!((samples[0].rx_bytes, samples[0].tx_bytes), (10, 20));
        assert_eq!(samples[0].speed_mbps, Some(1000));
        assert!(samples[0].oper_up);
    }

    /// A change to a sane report.
    type Change = Box<dyn Fn(&mut TelemetryReport)>;

    #[test]
    fn insane_figures_are_refused_naming_the_field() {
        let now = Utc::now();
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|r| r.sequence = 0), "sequence"),
            (Box::new(|r| r.sequence = u64::MAX), "sequence"),
            (Box::new(|r| r.interval_seconds = 0), "intervalSeconds"),
            (Box::new(|r| r.interval_seconds = 86_401), "intervalSeconds"),
            (
                Box::new(move |r| r.observed_at = now + TimeDelta::hours(1)),
                "observedAt",
            ),
            (Box::new(|r| r.agent_version.clear()), "agentVersion"),
            (
                Box::new(|r| r.links[1].name = "eth0".into()),
                "links[1].name",
            ),
            (
                Box::new(|r| r.links[0].name = "a/b".into()),
                "links[0].name",
            ),
            (
                Box::new(|r| r.links[0].name = "x".repeat(16)),
                "links[0].name",
            ),
            (
                Box::new(|r| r.links[1].counters.tx_errors = u64::MAX),
                "links[1].counters.txErrors",
            ),
        ];
        for (change, field) in cases {
            let mut report = report(now);
            change(&mut report);
            let problem = check_report(&report, now).expect_err(field);
            assert_eq!(problem.kind(), ProblemKind::InvalidInput);
            assert_eq!(problem.field(), Some(field), "{problem}");
        }
        // A spooled report from long ago, and clock skew within five minutes, are fine.
        let mut old = report(now);
        old.observed_at = now - TimeDelta::days(3);
        check_report(&old, now).expect("old");
        old.observed_at = now + TimeDelta::minutes(4);
        check_report(&old, now).expect("skew");
    }

    #[test]
    fn unparseable_bodies_name_the_path_and_position() {
        let now = Utc::now();
        let good = serde_json::to_value(report(now)).expect("json");
        let mut unknown = good.clone();
        unknown["links"][1]["counters"]["bogus"] = 1.into();
        let problem = parse_report(unknown.to_string().as_bytes()).expect_err("unknown field");
        assert_eq!(problem.kind(), ProblemKind::BadRequest);
        assert!(
            problem.detail().contains("`links[1].counters.bogus`")
                && problem.detail().contains("unknown field `bogus`")
                && problem.detail().contains("line 1 column"),
            "{problem}"
        );
        let problem = parse_report(b"{\n  \"router\": \"x\",\n  oops").expect_err("syntax");
        assert!(problem.detail().contains("line 3"), "{problem}");
        let mut wrong = good.clone();
        wrong["sequence"] = "seven".into();
        let problem = parse_report(wrong.to_string().as_bytes()).expect_err("type");
        assert!(problem.detail().contains("`sequence`"), "{problem}");
        let trailing = format!("{good} {{}}");
        assert!(parse_report(trailing.as_bytes()).is_err());
        assert_eq!(
            parse_report(good.to_string().as_bytes()).expect("parses"),
            report(now)
        );
    }
}
