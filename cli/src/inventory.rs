//! Migration inventories: a CSV file with one system per row, read into `SystemMigration`s and
//! checked row by row, pure. Every error names the line (the header is line 1) and the column,
//! e.g. `line 4, column "hosts": "three" is not a number`; all bad rows are reported at once.
//!
//! Columns (header row required, in any order; optional columns may be left out, optional
//! cells empty): `name`, `namespace`, `displayName`, `classification`, `sensitivity`, `site`,
//! `platform`, `hosts`, `maintainer`, `cpu`, `memory`, `storage`, `dependsOn` (`;`-separated
//! `name` or `namespace/name`), `notBefore` (`YYYY-MM-DD`).

use std::collections::BTreeMap;
use std::fmt;

use govcloud_crds::SystemMigration;
use govcloud_crds::common::{Classification, IsoDate, ResourceAmounts, Sensitivity};
use govcloud_crds::migration::step::MigrationStep;
use govcloud_crds::migration::system::{
    SourcePlatform, SourceSystem, SystemMigrationSpec, SystemReference,
};
use govcloud_crds::quantity::{Amount, ResourceKind};

/// The columns, in the order of the documentation, and whether each is required.
pub const COLUMNS: &[(&str, bool)] = &[
    ("name", true),
    ("namespace", false),
    ("displayName", true),
    ("classification", true),
    ("sensitivity", false),
    ("site", true),
    ("platform", true),
    ("hosts", true),
    ("maintainer", false),
    ("cpu", true),
    ("memory", true),
    ("storage", false),
    ("dependsOn", false),
    ("notBefore", false),
];

/// Most dependencies one system may list (the CRD's bound).
const MAX_DEPENDENCIES: usize = 64;

/// What is wrong at one place of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// Line of the row (the header is line 1).
    pub line: u64,
    /// The column at fault, if one is.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(
                f,
                "line {}, column \"{column}\": {}",
                self.line, self.message
            ),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// Why an inventory cannot be submitted.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// Rows (or the header) are invalid.
    #[error("has {}:\n{}", count(.0.len()), lines(.0))]
    Invalid(Vec<RowError>),
    /// The file has no rows.
    #[error("lists no systems (the first line is the header)")]
    Empty,
}

fn count(errors: usize) -> String {
    if errors == 1 {
        "1 problem".to_owned()
    } else {
        format!("{errors} problems")
    }
}

fn lines(errors: &[RowError]) -> String {
    errors
        .iter()
        .map(|error| format!("  {error}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a row leaves to the command line: the namespace of rows without one, the runbook, labels.
#[derive(Clone, Debug)]
pub struct Defaults {
    /// Namespace of rows whose `namespace` cell is empty.
    pub namespace: String,
    /// Steps of every system.
    pub steps: Vec<MigrationStep>,
    /// Labels of every system.
    pub labels: BTreeMap<String, String>,
}

/// One system of the inventory and the line it came from.
#[derive(Clone, Debug)]
pub struct Row {
    /// Its line (the header is line 1).
    pub line: u64,
    /// The system.
    pub system: SystemMigration,
}

/// Why `text` is not a DNS label (lowercase letters, digits, `-`; at most 63 characters).
pub fn dns_label_problem(text: &str) -> Option<String> {
    let valid = !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    (!valid).then(|| {
        format!(
            "{text:?} is not a valid name: use lowercase letters, digits and '-', starting and \
             ending with a letter or digit, at most 63 characters"
        )
    })
}

/// The header's column names, checked: each known and once, the required ones present.
fn read_header(header: &csv::StringRecord) -> Result<Vec<&'static str>, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut columns = Vec::new();
    let at_header = |column: Option<&str>, message: String| RowError {
        line: 1,
        column: column.map(str::to_owned),
        message,
    };
    for cell in header {
        let cell = cell.trim_start_matches('\u{feff}');
        match COLUMNS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(cell))
        {
            Some((name, _)) if columns.contains(name) => {
                errors.push(at_header(Some(cell), "the column appears twice".to_owned()));
            }
            Some((name, _)) => columns.push(*name),
            None => {
                let known: Vec<&str> = COLUMNS.iter().map(|(name, _)| *name).collect();
                errors.push(at_header(
                    Some(cell),
                    format!("unknown column; the columns are {}", known.join(", ")),
                ));
                columns.push("");
            }
        }
    }
    for (name, required) in COLUMNS {
        if *required && !columns.contains(name) {
            errors.push(at_header(
                None,
                format!("the required column \"{name}\" is missing"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}

/// The cells of one row by column, and the errors found in them.
struct Cells<'a> {
    line: u64,
    by_column: BTreeMap<&'static str, &'a str>,
    errors: Vec<RowError>,
}

impl<'a> Cells<'a> {
    fn fail(&mut self, column: &str, message: String) {
        self.errors.push(RowError {
            line: self.line,
            column: Some(column.to_owned()),
            message,
        });
    }

    fn optional(&self, column: &str) -> Option<&'a str> {
        self.by_column
            .get(column)
            .copied()
            .filter(|cell| !cell.is_empty())
    }

    fn required(&mut self, column: &str) -> Option<&'a str> {
        let cell = self.optional(column);
        if cell.is_none() {
            self.fail(column, "the cell is empty; a value is required".to_owned());
        }
        cell
    }

    /// Text of at most `max` characters.
    fn text(&mut self, column: &str, required: bool, max: usize) -> Option<String> {
        let cell = if required {
            self.required(column)?
        } else {
            self.optional(column)?
        };
        if cell.chars().count() > max {
            self.fail(
                column,
                format!("at most {max} characters, got {}", cell.chars().count()),
            );
            return None;
        }
        Some(cell.to_owned())
    }

    fn name(&mut self, column: &str, cell: &str) -> Option<String> {
        match dns_label_problem(cell) {
            Some(problem) => {
                self.fail(column, problem);
                None
            }
            None => Some(cell.to_owned()),
        }
    }

    fn choice<T: Copy>(
        &mut self,
        column: &str,
        required: bool,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let cell = if required {
            self.required(column)?
        } else {
            self.optional(column)?
        };
        let found = choices
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(cell))
            .map(|(_, value)| *value);
        if found.is_none() {
            let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
            self.fail(
                column,
                format!("{cell:?} is not one of {}", names.join(", ")),
            );
        }
        found
    }

    fn hosts(&mut self) -> Option<u32> {
        let cell = self.required("hosts")?;
        match cell.parse::<u64>() {
            Ok(hosts) if (1..=10_000).contains(&hosts) => u32::try_from(hosts).ok(),
            Ok(hosts) => {
                self.fail("hosts", format!("{hosts} is not between 1 and 10000"));
                None
            }
            Err(_) => {
                self.fail("hosts", format!("{cell:?} is not a number"));
                None
            }
        }
    }

    fn quantity(&mut self, kind: ResourceKind, required: bool) -> Option<Amount> {
        let column = kind.as_str();
        let cell = if required {
            self.required(column)?
        } else {
            self.optional(column)?
        };
        match Amount::parse(cell) {
            Ok(amount) if amount.is_negative() => {
                self.fail(column, format!("{cell:?} is negative"));
                None
            }
            Ok(amount) => Some(amount),
            Err(error) => {
                self.fail(column, error.to_string());
                None
            }
        }
    }

    fn date(&mut self) -> Option<IsoDate> {
        let cell = self.optional("notBefore")?;
        let well_formed =
            cell.len() == 10 && chrono::NaiveDate::parse_from_str(cell, "%Y-%m-%d").is_ok();
        if well_formed {
            Some(IsoDate::from(cell))
        } else {
            self.fail("notBefore", format!("{cell:?} is not a date (YYYY-MM-DD)"));
            None
        }
    }

    fn dependencies(&mut self, namespace: &str, name: &str) -> Vec<SystemReference> {
        let Some(cell) = self.optional("dependsOn") else {
            return Vec::new();
        };
        let mut references = Vec::new();
        for entry in cell.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (other_namespace, other) = match entry.split_once('/') {
                Some((ns, n)) => (Some(ns), n),
                None => (None, entry),
            };
            let checked =
                other_namespace.map_or(Some(()), |ns| self.name("dependsOn", ns).map(drop));
            if checked.is_none() || self.name("dependsOn", other).is_none() {
                continue;
            }
            if other == name && other_namespace.is_none_or(|ns| ns == namespace) {
                self.fail(
                    "dependsOn",
                    format!("{entry:?} is the system itself; a system cannot depend on itself"),
                );
                continue;
            }
            references.push(SystemReference {
                name: other.to_owned(),
                namespace: other_namespace.map(str::to_owned),
            });
        }
        if references.len() > MAX_DEPENDENCIES {
            self.fail(
                "dependsOn",
                format!(
                    "at most {MAX_DEPENDENCIES} dependencies, got {}",
                    references.len()
                ),
            );
        }
        references
    }
}

const CLASSIFICATIONS: &[(&str, Classification)] = &[
    ("Unclassified", Classification::Unclassified),
    ("Classified", Classification::Classified),
    ("非涉密", Classification::Unclassified),
    ("涉密", Classification::Classified),
];
const SENSITIVITIES: &[(&str, Sensitivity)] = &[
    ("Public", Sensitivity::Public),
    ("Internal", Sensitivity::Internal),
    ("Sensitive", Sensitivity::Sensitive),
];
const PLATFORMS: &[(&str, SourcePlatform)] = &[
    ("PhysicalServer", SourcePlatform::PhysicalServer),
    ("VirtualMachine", SourcePlatform::VirtualMachine),
    ("Container", SourcePlatform::Container),
    ("Other", SourcePlatform::Other),
];

/// The system of one row, or its errors.
fn read_row(mut cells: Cells<'_>, defaults: &Defaults) -> Result<SystemMigration, Vec<RowError>> {
    let name = cells
        .required("name")
        .and_then(|cell| cells.name("name", cell));
    let namespace = match cells.optional("namespace") {
        Some(cell) => cells.name("namespace", cell),
        None => Some(defaults.namespace.clone()),
    };
    let display_name = cells.text("displayName", true, 128);
    let classification = cells.choice("classification", true, CLASSIFICATIONS);
    let sensitivity = cells.choice("sensitivity", false, SENSITIVITIES);
    if sensitivity.is_some() && classification == Some(Classification::Classified) {
        cells.fail(
            "sensitivity",
            "sensitivity applies to unclassified systems only".to_owned(),
        );
    }
    let site = cells.text("site", true, 128);
    let platform = cells.choice("platform", true, PLATFORMS);
    let hosts = cells.hosts();
    let maintainer = cells.text("maintainer", false, 128);
    let cpu = cells.quantity(ResourceKind::Cpu, true);
    let memory = cells.quantity(ResourceKind::Memory, true);
    let storage = cells.quantity(ResourceKind::Storage, false);
    let not_before = cells.date();
    let depends_on = match (&name, &namespace) {
        (Some(name), Some(namespace)) => cells.dependencies(namespace, name),
        _ => Vec::new(),
    };
    let (
        Some(name),
        Some(namespace),
        Some(display_name),
        Some(classification),
        Some(site),
        Some(platform),
        Some(hosts),
        Some(cpu),
        Some(memory),
    ) = (
        name,
        namespace,
        display_name,
        classification,
        site,
        platform,
        hosts,
        cpu,
        memory,
    )
    else {
        return Err(cells.errors);
    };
    if !cells.errors.is_empty() {
        return Err(cells.errors);
    }
    let spec = SystemMigrationSpec {
        display_name,
        classification,
        sensitivity,
        source: SourceSystem {
            site,
            platform,
            hosts,
            maintainer,
        },
        resources: ResourceAmounts {
            cpu: Some(cpu.to_quantity(ResourceKind::Cpu)),
            memory: Some(memory.to_quantity(ResourceKind::Memory)),
            storage: storage.map(|storage| storage.to_quantity(ResourceKind::Storage)),
        },
        depends_on,
        steps: defaults.steps.clone(),
        confirmations: Vec::new(),
        approval: None,
        not_before,
    };
    let mut system = SystemMigration::new(&name, spec);
    system.metadata.namespace = Some(namespace);
    if !defaults.labels.is_empty() {
        system.metadata.labels = Some(defaults.labels.clone());
    }
    Ok(system)
}

/// Line numbers of byte offsets (the csv crate's own line count skips blank lines).
struct Lines<'a> {
    text: &'a str,
    /// Offsets of the line breaks.
    breaks: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            breaks: text.match_indices('\n').map(|(at, _)| at).collect(),
        }
    }

    /// The line (from 1) on which the record at `position` starts: the first line after the
    /// blank ones the reader skipped before it.
    fn line_at(&self, position: &csv::Position) -> u64 {
        let offset = usize::try_from(position.byte()).unwrap_or(usize::MAX);
        let skipped = self.text.get(offset..).map_or(0, |rest| {
            rest.len() - rest.trim_start_matches(['\r', '\n']).len()
        });
        let before = self.breaks.partition_point(|&at| at < offset + skipped);
        u64::try_from(before).map_or(u64::MAX, |before| before + 1)
    }
}

/// Reads an inventory: every row a system with the defaults' steps and labels. All errors of
/// all rows are reported; a file with any is refused whole.
pub fn read_inventory(text: &str, defaults: &Defaults) -> Result<Vec<Row>, InventoryError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader.headers().cloned().map_err(|error| {
        InventoryError::Invalid(vec![RowError {
            line: 1,
            column: None,
            message: format!("not a CSV header: {error}"),
        }])
    })?;
    let columns = read_header(&header).map_err(InventoryError::Invalid)?;
    let lines = Lines::new(text);
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |p| lines.line_at(p));
                errors.push(RowError {
                    line,
                    column: None,
                    message: format!("not valid CSV: {error}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| lines.line_at(p));
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != columns.len() {
            errors.push(RowError {
                line,
                column: None,
                message: format!(
                    "{} cells, but the header has {} columns",
                    record.len(),
                    columns.len()
                ),
            });
            continue;
        }
        let cells = Cells {
            line,
            by_column: columns.iter().copied().zip(record.iter()).collect(),
            errors: Vec::new(),
        };
        match read_row(cells, defaults) {
            Ok(system) => {
                let key = format!(
                    "{}/{}",
                    system.metadata.namespace.as_deref().unwrap_or_default(),
                    system.metadata.name.as_deref().unwrap_or_default()
                );
                if let Some(first) = seen.get(&key) {
                    errors.push(RowError {
                        line,
                        column: Some("name".to_owned()),
                        message: format!("system {key} is also on line {first}"),
                    });
                } else {
                    seen.insert(key, line);
                    rows.push(Row { line, system });
                }
            }
            Err(row_errors) => errors.extend(row_errors),
        }
    }
    if !errors.is_empty() {
        return Err(InventoryError::Invalid(errors));
    }
    if rows.is_empty() {
        return Err(InventoryError::Empty);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifests::default_runbook;

    const HEADER: &str = "name,namespace,displayName,classification,sensitivity,site,platform,hosts,maintainer,cpu,memory,storage,dependsOn,notBefore";

    fn defaults() -> Defaults {
        Defaults {
            namespace: "city-finance".to_owned(),
            steps: default_runbook(),
            labels: BTreeMap::from([("govcloud.io/campaign".to_owned(), "ankang-2025".to_owned())]),
        }
    }

    fn messages(text: &str) -> Vec<String> {
        match read_inventory(text, &defaults()) {
            Err(InventoryError::Invalid(errors)) => {
                errors.iter().map(ToString::to_string).collect()
            }
            other => panic!("expected row errors, got {other:?}"),
        }
    }

    #[test]
    fn good_rows_become_systems() {
        let text = format!(
            "\u{feff}{HEADER}\n\
             payroll,,工资发放系统,Unclassified,Internal,市财政局机房,VirtualMachine,2,示例公司,4,16Gi,1Ti,ledger;city-services/doc-exchange,2025-09-01\n\
             \n\
             ledger,city-finance,\"总账, 系统\",非涉密,,机房,PhysicalServer,1,,500m,2Gi,,,\n\
             notes,,\"two\nlines\",Unclassified,,机房,Other,1,,1,1Gi,,,\n\
             after,,x,Unclassified,,机房,Other,1,,1,1Gi,,,\n"
        );
        let rows = read_inventory(&text, &defaults()).expect("valid");
        let lines: Vec<u64> = rows.iter().map(|row| row.line).collect();
        assert_eq!(lines, [2, 4, 5, 7]);
        let payroll = &rows[0].system;
        assert_eq!(payroll.metadata.namespace.as_deref(), Some("city-finance"));
        assert_eq!(
            payroll.metadata.labels.as_ref().expect("labels")["govcloud.io/campaign"],
            "ankang-2025"
        );
        assert_eq!(payroll.spec.source.hosts, 2);
        assert_eq!(payroll.spec.depends_on.len(), 2);
        assert_eq!(
            payroll.spec.depends_on[1].namespace.as_deref(),
            Some("city-services")
        );
        assert_eq!(payroll.spec.steps[0].name, "migrate");
        assert_eq!(
            payroll.spec.not_before.as_ref().map(IsoDate::as_str),
            Some("2025-09-01")
        );
        let ledger = &rows[1].system;
        assert_eq!(ledger.spec.display_name, "总账, 系统");
        assert_eq!(ledger.spec.classification, Classification::Unclassified);
        assert_eq!(
            ledger.spec.resources.cpu.as_ref().map(|q| q.0.as_str()),
            Some("500m")
        );
        assert_eq!(ledger.spec.resources.storage, None);
    }

    #[test]
    fn every_bad_row_is_named_by_line_and_column() {
        let text = format!(
            "{HEADER}\n\
             payroll,,工资,Unclassified,,机房,VirtualMachine,three,,4,16Gi,,,\n\
             secret,,涉密系统,Secret,,机房,VirtualMachine,1,,4,16Gi,,,\n\
             loop,,环,Unclassified,,机房,VirtualMachine,1,,4,16Gi,,loop,\n\
             Bad_Name,,x,Unclassified,,机房,Mainframe,0,,lots,,,,2025-02-30\n\
             payroll2,,x,Classified,Public,机房,Other,1,,4,16Gi,,city-finance/payroll2,\n\
             short,row\n\
             ok,,x,Unclassified,,机房,Other,1,,4,16Gi,,,\n\
             ok,,y,Unclassified,,机房,Other,1,,4,16Gi,,,\n"
        );
        assert_eq!(
            messages(&text),
            [
                "line 2, column \"hosts\": \"three\" is not a number",
                "line 3, column \"classification\": \"Secret\" is not one of Unclassified, Classified, 非涉密, 涉密",
                "line 4, column \"dependsOn\": \"loop\" is the system itself; a system cannot depend on itself",
                "line 5, column \"name\": \"Bad_Name\" is not a valid name: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
                "line 5, column \"platform\": \"Mainframe\" is not one of PhysicalServer, VirtualMachine, Container, Other",
                "line 5, column \"hosts\": 0 is not between 1 and 10000",
                "line 5, column \"cpu\": failed to parse quantity \"lots\": expected a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, Ti, …)",
                "line 5, column \"memory\": the cell is empty; a value is required",
                "line 5, column \"notBefore\": \"2025-02-30\" is not a date (YYYY-MM-DD)",
                "line 6, column \"sensitivity\": sensitivity applies to unclassified systems only",
                "line 6, column \"dependsOn\": \"city-finance/payroll2\" is the system itself; a system cannot depend on itself",
                "line 7: 2 cells, but the header has 14 columns",
                "line 9, column \"name\": system city-finance/ok is also on line 8",
            ]
        );
    }

    #[test]
    fn the_header_is_checked() {
        assert_eq!(
            messages("name,displayName,owner,site,platform,hosts,cpu,memory,name\n"),
            [
                "line 1, column \"owner\": unknown column; the columns are name, namespace, displayName, classification, sensitivity, site, platform, hosts, maintainer, cpu, memory, storage, dependsOn, notBefore",
                "line 1, column \"name\": the column appears twice",
                "line 1: the required column \"classification\" is missing",
            ]
        );
        assert!(matches!(
            read_inventory(&format!("{HEADER}\n"), &defaults()),
            Err(InventoryError::Empty)
        ));
        let error = InventoryError::Invalid(vec![RowError {
            line: 4,
            column: Some("hosts".to_owned()),
            message: "\"three\" is not a number".to_owned(),
        }]);
        assert_eq!(
            error.to_string(),
            "has 1 problem:\n  line 4, column \"hosts\": \"three\" is not a number"
        );
    }
}
