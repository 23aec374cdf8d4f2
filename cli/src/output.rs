//! What govctl prints: aligned tables and field lists with units (`64 cores`, `256 GiB`) for
//! people, the API's objects as JSON or YAML for scripts. Pure functions of the API's views.

use std::fmt::Write as _;
use std::io::Write;

use chrono::{DateTime, Utc};
use govcloud_crds::api::{
    AuditVerification, IssuedToken, QuotaRequestView, ResourceFigures, TenantView, TokenView,
    WhoAmI,
};
use govcloud_crds::common::{Decision, ResourceAmounts};
use govcloud_crds::quantity::{Amount, ResourceKind};
use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use crate::cli::OutputFormat;

pub mod dedicated_network;
pub mod ipv6;
pub mod migration;
pub mod network;

/// Shown for a value that is absent.
const NONE: &str = "-";

/// Prints `value` as `format` says: JSON (pretty) or YAML of the value itself, or the text
/// `table` makes of it.
pub fn emit<T: Serialize + ?Sized>(
    out: &mut dyn Write,
    format: OutputFormat,
    value: &T,
    table: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Table => out.write_all(table().as_bytes())?,
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, value)?;
            out.write_all(b"\n")?;
        }
        OutputFormat::Yaml => out.write_all(serde_norway::to_string(value)?.as_bytes())?,
    }
    Ok(())
}

/// Columns aligned on display width (Chinese names are two columns a character), two spaces
/// apart, with no trailing blanks, like `kubectl get`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|cell| (*cell).to_owned()).collect()],
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as lines of text.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|column| {
                self.rows
                    .iter()
                    .filter_map(|row| row.get(column))
                    .map(|cell| cell.width())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut text = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(&widths) {
                line.push_str(cell);
                line.push_str(&" ".repeat(width - cell.width() + 2));
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

/// `Label:  value` lines, the values aligned.
fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(label, _)| label.width())
        .max()
        .unwrap_or(0)
        + 1;
    let mut text = String::new();
    for (label, value) in pairs {
        let label = format!("{label}:");
        // Writing to a String cannot fail.
        let _ = writeln!(text, "{label:<width$}  {value}");
    }
    text
}

/// The resource a quota names (`cpu`, `memory`, `storage`), if govcloud accounts for it.
pub fn resource_kind(name: &str) -> Option<ResourceKind> {
    name.parse().ok()
}

/// A quantity for people: `64 cores`, `256 GiB`; as given when it is not a quantity of a
/// resource govcloud knows.
pub fn human(resource: &str, quantity: &str) -> String {
    match (resource_kind(resource), Amount::parse(quantity)) {
        (Some(kind), Ok(amount)) => amount.human(kind),
        _ => quantity.to_owned(),
    }
}

/// A time for people, to the minute, in UTC.
pub fn timestamp(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn optional_time(time: Option<&DateTime<Utc>>, absent: &str) -> String {
    time.map_or_else(|| absent.to_owned(), timestamp)
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        NONE.to_owned()
    } else {
        items.join(", ")
    }
}

/// `govctl whoami`
pub fn whoami(me: &WhoAmI) -> String {
    fields(&[
        ("Tenant", me.tenant.clone()),
        ("Role", me.role.as_str().to_owned()),
        ("Token", format!("{} ({})", me.token_id, me.description)),
        ("Expires", optional_time(me.expires_at.as_ref(), "never")),
    ])
}

/// Quota, usage and what is free of one resource, as quantities of the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaLine {
    /// `cpu`, `memory`, `storage`.
    pub resource: String,
    /// The quota.
    pub quota: String,
    /// In use in the tenant's namespaces.
    pub used: String,
    /// Handed on to child tenants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated: Option<String>,
    /// Quota less usage and delegation (never below zero); absent when a figure is unreadable.
    pub free: Option<String>,
}

/// A tenant's quota, as `govctl quota show` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaView {
    /// Tenant.
    pub tenant: String,
    /// Its name for people.
    pub display_name: String,
    /// Per resource.
    pub resources: Vec<QuotaLine>,
}

impl QuotaView {
    /// The quota lines of a tenant, with what is free computed.
    pub fn of(tenant: &TenantView) -> Self {
        Self {
            tenant: tenant.name.clone(),
            display_name: tenant.display_name.clone(),
            resources: tenant.resources.iter().map(quota_line).collect(),
        }
    }
}

fn quota_line(figures: &ResourceFigures) -> QuotaLine {
    let parse = |text: &str| Amount::parse(text).ok();
    let delegated = figures.delegated.as_deref().map(parse);
    let free = match (parse(&figures.hard), parse(&figures.used), delegated) {
        (Some(hard), Some(used), None) => Some(hard - used),
        (Some(hard), Some(used), Some(Some(delegated))) => Some(hard - used - delegated),
        _ => None,
    };
    let kind = resource_kind(&figures.resource).unwrap_or(ResourceKind::Cpu);
    QuotaLine {
        resource: figures.resource.clone(),
        quota: figures.hard.clone(),
        used: figures.used.clone(),
        delegated: figures.delegated.clone(),
        free: free.map(|free| free.max(Amount::ZERO).canonical(kind)),
    }
}

fn quota_table(lines: &[QuotaLine]) -> String {
    let delegates = lines.iter().any(|line| line.delegated.is_some());
    let mut header = vec!["RESOURCE", "QUOTA", "USED"];
    if delegates {
        header.push("DELEGATED");
    }
    header.push("FREE");
    let mut table = Table::new(&header);
    for line in lines {
        let resource = line.resource.as_str();
        let mut row = vec![
            line.resource.clone(),
            human(resource, &line.quota),
            human(resource, &line.used),
        ];
        if delegates {
            row.push(
                line.delegated
                    .as_deref()
                    .map_or_else(|| NONE.to_owned(), |d| human(resource, d)),
            );
        }
        row.push(
            line.free
                .as_deref()
                .map_or_else(|| NONE.to_owned(), |free| human(resource, free)),
        );
        table.row(row);
    }
    table.render()
}

fn tenant_title(name: &str, display_name: &str) -> String {
    if display_name.is_empty() || display_name == name {
        name.to_owned()
    } else {
        format!("{name} ({display_name})")
    }
}

/// `govctl quota show`
pub fn quota(view: &QuotaView) -> String {
    if view.resources.is_empty() {
        return format!(
            "Tenant {} has no quota yet.\n",
            tenant_title(&view.tenant, &view.display_name)
        );
    }
    format!(
        "Tenant {}\n\n{}",
        tenant_title(&view.tenant, &view.display_name),
        quota_table(&view.resources)
    )
}

/// `govctl tenant show`
pub fn tenant(tenant: &TenantView) -> String {
    let ready = match (tenant.ready, &tenant.message) {
        (true, _) => "yes".to_owned(),
        (false, Some(message)) => format!("no: {message}"),
        (false, None) => "no".to_owned(),
    };
    let mut text = fields(&[
        ("Name", tenant.name.clone()),
        ("Display name", tenant.display_name.clone()),
        ("Level", tenant.level.clone()),
        (
            "Parent",
            tenant.parent.clone().unwrap_or_else(|| NONE.to_owned()),
        ),
        ("Children", list(&tenant.children)),
        ("Namespaces", list(&tenant.namespaces)),
        ("Ready", ready),
    ]);
    if !tenant.resources.is_empty() {
        text.push('\n');
        text.push_str(&quota_table(&QuotaView::of(tenant).resources));
    }
    text
}

/// `cpu 96 cores, memory 384 GiB`
fn amounts(amounts: &ResourceAmounts) -> String {
    let parts: Vec<String> = [
        ("cpu", &amounts.cpu),
        ("memory", &amounts.memory),
        ("storage", &amounts.storage),
    ]
    .into_iter()
    .filter_map(|(name, quantity)| {
        quantity
            .as_ref()
            .map(|quantity| format!("{name} {}", human(name, &quantity.0)))
    })
    .collect();
    list(&parts)
}

/// One quota request in full.
pub fn quota_request(request: &QuotaRequestView) -> String {
    let mut pairs = vec![
        ("Name", request.name.clone()),
        ("Tenant", request.tenant.clone()),
        ("Phase", format!("{:?}", request.phase)),
        ("Requested", amounts(&request.requested)),
        ("Justification", request.justification.clone()),
        (
            "Requested by",
            request
                .requested_by
                .clone()
                .unwrap_or_else(|| NONE.to_owned()),
        ),
        ("Created", optional_time(request.created_at.as_ref(), NONE)),
    ];
    if let Some(approval) = &request.approval {
        let verb = match approval.decision {
            Decision::Approved => "Approved",
            Decision::Denied => "Denied",
        };
        pairs.push((
            "Decision",
            format!("{verb} by {}: {}", approval.decided_by, approval.reason),
        ));
        pairs.push(("Decided", optional_time(request.decided_at.as_ref(), NONE)));
    } else {
        pairs.push(("Expires", optional_time(request.expires_at.as_ref(), NONE)));
    }
    fields(&pairs)
}

/// `govctl quota requests`
pub fn quota_requests(tenant: &str, requests: &[QuotaRequestView]) -> String {
    if requests.is_empty() {
        return format!("No quota requests for tenant {tenant}.\n");
    }
    let mut table = Table::new(&[
        "NAME",
        "PHASE",
        "CPU",
        "MEMORY",
        "STORAGE",
        "REQUESTED BY",
        "CREATED",
    ]);
    for request in requests {
        let amounts = &request.requested;
        let one = |name: &str, quantity: Option<&str>| {
            quantity.map_or_else(|| NONE.to_owned(), |q| human(name, q))
        };
        table.row(vec![
            request.name.clone(),
            format!("{:?}", request.phase),
            one("cpu", amounts.cpu.as_ref().map(|q| q.0.as_str())),
            one("memory", amounts.memory.as_ref().map(|q| q.0.as_str())),
            one("storage", amounts.storage.as_ref().map(|q| q.0.as_str())),
            request
                .requested_by
                .clone()
                .unwrap_or_else(|| NONE.to_owned()),
            optional_time(request.created_at.as_ref(), NONE),
        ]);
    }
    table.render()
}

/// Whether a token can still be used, at `now`.
pub fn token_state(token: &TokenView, now: DateTime<Utc>) -> &'static str {
    if token.revoked_at.is_some() {
        "revoked"
    } else if token.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "active"
    }
}

/// `govctl token list`
pub fn tokens(tokens: &[TokenView], now: DateTime<Utc>) -> String {
    if tokens.is_empty() {
        return "No tokens.\n".to_owned();
    }
    let mut table = Table::new(&[
        "ID",
        "TENANT",
        "ROLE",
        "STATE",
        "EXPIRES",
        "CREATED",
        "DESCRIPTION",
    ]);
    for token in tokens {
        table.row(vec![
            token.id.to_string(),
            token.tenant.clone(),
            token.role.as_str().to_owned(),
            token_state(token, now).to_owned(),
            optional_time(token.expires_at.as_ref(), "never"),
            timestamp(&token.created_at),
            token.description.clone(),
        ]);
    }
    table.render()
}

/// `govctl token issue`: what was issued, then the secret alone on the last line.
pub fn issued_token(issued: &IssuedToken) -> String {
    let view = &issued.view;
    format!(
        "{}\nThe token is shown only this once; store it now:\n{}\n",
        fields(&[
            ("Id", view.id.to_string()),
            ("Tenant", view.tenant.clone()),
            ("Role", view.role.as_str().to_owned()),
            ("Description", view.description.clone()),
            ("Expires", optional_time(view.expires_at.as_ref(), "never")),
        ]),
        issued.token
    )
}

/// `govctl audit verify`, when the chain is intact.
pub fn verification(result: &AuditVerification) -> String {
    format!("Audit log intact: {} records verified.\n", result.records)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use govcloud_crds::api::Role;

    use super::*;

    fn figures(resource: &str, hard: &str, used: &str, delegated: Option<&str>) -> ResourceFigures {
        ResourceFigures {
            resource: resource.to_owned(),
            hard: hard.to_owned(),
            used: used.to_owned(),
            delegated: delegated.map(str::to_owned),
        }
    }

    fn tenant_view() -> TenantView {
        TenantView {
            name: "city-finance".to_owned(),
            display_name: "市财政局".to_owned(),
            level: "Department".to_owned(),
            parent: Some("city".to_owned()),
            children: vec![],
            namespaces: vec!["city-finance".to_owned()],
            resources: vec![
                figures("cpu", "64", "12500m", None),
                figures("memory", "256Gi", "100Gi", None),
                figures("storage", "10Ti", "1536Gi", None),
            ],
            ready: true,
            message: None,
        }
    }

    #[test]
    fn units_for_people() {
        assert_eq!(human("cpu", "64"), "64 cores");
        assert_eq!(human("cpu", "500m"), "0.5 cores");
        assert_eq!(human("memory", "256Gi"), "256 GiB");
        assert_eq!(human("storage", "1536Gi"), "1.5 TiB");
        assert_eq!(human("pods", "10"), "10", "unknown resources as given");
        assert_eq!(
            human("cpu", "lots"),
            "lots",
            "unreadable quantities as given"
        );
    }

    #[test]
    fn quota_shows_what_is_free_with_units() {
        let view = QuotaView::of(&tenant_view());
        assert_eq!(view.resources[0].free.as_deref(), Some("51500m"));
        assert_eq!(view.resources[1].free.as_deref(), Some("156Gi"));
        assert_eq!(
            quota(&view),
            "Tenant city-finance (市财政局)\n\n\
             RESOURCE  QUOTA     USED        FREE\n\
             cpu       64 cores  12.5 cores  51.5 cores\n\
             memory    256 GiB   100 GiB     156 GiB\n\
             storage   10 TiB    1.5 TiB     8.5 TiB\n"
        );
    }

    #[test]
    fn delegation_is_shown_and_subtracted_and_free_never_negative() {
        let mut view = tenant_view();
        view.resources = vec![
            figures("cpu", "64", "12", Some("40")),
            figures("memory", "8Gi", "10Gi", None),
        ];
        let quota = QuotaView::of(&view);
        assert_eq!(quota.resources[0].free.as_deref(), Some("12"));
        assert_eq!(quota.resources[1].free.as_deref(), Some("0"));
        let text = quota_table(&quota.resources);
        assert!(
            text.starts_with("RESOURCE  QUOTA     USED      DELEGATED  FREE\n"),
            "{text}"
        );
        assert!(
            text.contains("memory    8 GiB     10 GiB    -          0 B\n"),
            "{text}"
        );
    }

    #[test]
    fn tables_align_on_display_width() {
        let mut table = Table::new(&["NAME", "DISPLAY NAME", "LEVEL"]);
        table.row(vec![
            "city-finance".into(),
            "市财政局".into(),
            "Department".into(),
        ]);
        table.row(vec!["hanbin".into(), "汉滨区".into(), String::new()]);
        assert_eq!(
            table.render(),
            "NAME          DISPLAY NAME  LEVEL\n\
             city-finance  市财政局      Department\n\
             hanbin        汉滨区\n"
        );
    }

    #[test]
    fn tenant_details() {
        let text = tenant(&tenant_view());
        assert!(text.starts_with("Name:          city-finance\n"), "{text}");
        assert!(text.contains("Children:      -\n"), "{text}");
        assert!(text.contains("cpu       64 cores"), "{text}");
    }

    #[test]
    fn token_states_and_the_secret_on_its_own_line() {
        let now = Utc
            .with_ymd_and_hms(2025, 6, 1, 0, 0, 0)
            .single()
            .expect("time");
        let mut view = TokenView {
            id: 7,
            tenant: "city-finance".to_owned(),
            role: Role::Editor,
            description: "finance clerk".to_owned(),
            created_at: now,
            expires_at: Some(now + chrono::Duration::hours(1)),
            revoked_at: None,
        };
        assert_eq!(token_state(&view, now), "active");
        assert_eq!(
            token_state(&view, now + chrono::Duration::hours(2)),
            "expired"
        );
        let issued = IssuedToken {
            token: "gct_secret".to_owned(),
            view: view.clone(),
        };
        assert!(issued_token(&issued).ends_with("\ngct_secret\n"));
        view.revoked_at = Some(now);
        assert_eq!(token_state(&view, now), "revoked");
        assert!(tokens(&[view], now).contains("revoked"));
    }

    #[test]
    fn machine_formats_print_the_object() {
        let me = WhoAmI {
            token_id: 3,
            tenant: "city".to_owned(),
            role: Role::Operations,
            description: "ops".to_owned(),
            expires_at: None,
        };
        let mut out = Vec::new();
        emit(&mut out, OutputFormat::Json, &me, || unreachable!()).expect("json");
        let value: serde_json::Value = serde_json::from_slice(&out).expect("parse");
        assert_eq!(value["role"], "operations");
        let mut out = Vec::new();
        emit(&mut out, OutputFormat::Yaml, &me, || unreachable!()).expect("yaml");
        assert!(
            String::from_utf8(out)
                .expect("utf-8")
                .contains("tenant: city\n")
        );
        let mut out = Vec::new();
        emit(&mut out, OutputFormat::Table, &me, || whoami(&me)).expect("table");
        assert!(
            String::from_utf8(out)
                .expect("utf-8")
                .contains("Expires:  never\n")
        );
    }
}
