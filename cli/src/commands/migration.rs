//! `govctl migration …`: submit systems (manifests or an inventory), list and show them, confirm
//! manual steps, approve or deny (operations), and see the campaign.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use govcloud_crds::api::{MigrationDecision, NewConfirmation, Problem};
use govcloud_crds::common::Decision;
use serde_json::Value;

use super::tenant_or_own;
use crate::cli::{
    ConfirmArgs, MigrationCommand, MigrationDecisionArgs, NamespaceOption, OutputFormat,
    SubmitArgs, SystemArgs,
};
use crate::client::{ApiError, Client};
use crate::exit::UsageError;
use crate::inventory::{self, Defaults};
use crate::manifests::{self, default_runbook};
use crate::output::{emit, migration as output};
use crate::settings::Settings;

/// Runs one `govctl migration` command.
pub fn migration(
    client: &Client,
    settings: &Settings,
    command: MigrationCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let format = settings.output;
    match command {
        MigrationCommand::Submit(args) => submit(client, settings, args, out),
        MigrationCommand::List(args) => {
            let systems = client
                .migrations(args.tenant.as_deref(), args.phase)
                .context("failed to list systems")?;
            emit(out, format, &systems, || output::systems(&systems))
        }
        MigrationCommand::Show(SystemArgs { name, namespace }) => {
            let (namespace, name) = system(client, settings, &name, namespace)?;
            let view = client
                .migration(&namespace, &name)
                .with_context(|| format!("failed to show system {namespace}/{name}"))?;
            emit(out, format, &view, || output::system(&view))
        }
        MigrationCommand::Confirm(args) => confirm(client, settings, args, format, out),
        MigrationCommand::Approve(args) => decide(client, settings, args, Decision::Approved, out),
        MigrationCommand::Deny(args) => decide(client, settings, args, Decision::Denied, out),
        MigrationCommand::Plan { name: None } => {
            let plans = client
                .migration_plans()
                .context("failed to list migration campaigns")?;
            emit(out, format, &plans, || output::plans(&plans))
        }
        MigrationCommand::Plan { name: Some(name) } => {
            let plan = client
                .migration_plan(&name)
                .with_context(|| format!("failed to show migration campaign {name}"))?;
            emit(out, format, &plan, || output::plan(&plan))
        }
    }
}

/// The namespace of a command: `-n`, else the settings file's, else the token's tenant.
fn namespace(
    client: &Client,
    settings: &Settings,
    option: NamespaceOption,
) -> anyhow::Result<String> {
    match option.namespace.or_else(|| settings.namespace.clone()) {
        Some(namespace) => Ok(namespace),
        None => tenant_or_own(client, None),
    }
}

/// `(namespace, name)` of a system given as `NAME` (with the namespace option) or
/// `NAMESPACE/NAME`.
fn system(
    client: &Client,
    settings: &Settings,
    name: &str,
    option: NamespaceOption,
) -> anyhow::Result<(String, String)> {
    match name.split_once('/') {
        Some((namespace, name)) => {
            if option.namespace.as_deref().is_some_and(|n| n != namespace) {
                return Err(UsageError(format!(
                    "the system {namespace}/{name} and -n {} name different namespaces",
                    option.namespace.unwrap_or_default()
                ))
                .into());
            }
            Ok((namespace.to_owned(), name.to_owned()))
        }
        None => Ok((namespace(client, settings, option)?, name.to_owned())),
    }
}

fn confirm(
    client: &Client,
    settings: &Settings,
    args: ConfirmArgs,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let ConfirmArgs {
        name,
        step,
        rollback,
        namespace,
    } = args;
    let (namespace, name) = system(client, settings, &name, namespace)?;
    let confirmation = NewConfirmation {
        step: step.clone(),
        rollback,
    };
    let view = client
        .confirm_step(&namespace, &name, &confirmation)
        .with_context(|| format!("failed to confirm step {step} of system {namespace}/{name}"))?;
    emit(out, format, &view, || {
        output::confirmed(&view, &step, rollback)
    })
}

fn decide(
    client: &Client,
    settings: &Settings,
    args: MigrationDecisionArgs,
    decision: Decision,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let MigrationDecisionArgs {
        name,
        reason,
        namespace,
    } = args;
    let (namespace, name) = system(client, settings, &name, namespace)?;
    let verb = match decision {
        Decision::Approved => "approve",
        Decision::Denied => "deny",
    };
    let view = client
        .decide_migration(&namespace, &name, &MigrationDecision { decision, reason })
        .with_context(|| format!("failed to {verb} system {namespace}/{name}"))?;
    emit(out, settings.output, &view, || output::decided(&view))
}

/// The systems of a file and where each comes from (`line 4`, `document 2`).
struct Submission {
    systems: Vec<Value>,
    origins: Vec<String>,
}

/// Reads the systems of `path`: an inventory for a `.csv` name, manifests otherwise.
fn read_submission(
    path: &Path,
    runbook: Option<&Path>,
    namespace: &str,
    labels: BTreeMap<String, String>,
) -> anyhow::Result<Submission> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| UsageError(format!("failed to read {}: {error}", path.display())))?;
    let is_csv = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("csv"));
    let refused = |error: &dyn std::fmt::Display| {
        UsageError(format!("nothing was submitted: {} {error}", path.display()))
    };
    if !is_csv {
        if runbook.is_some() {
            return Err(UsageError(
                "--runbook applies to inventories (.csv); manifests carry their own steps".into(),
            )
            .into());
        }
        let documents =
            manifests::read_systems(&text, namespace, &labels).map_err(|e| refused(&e))?;
        return Ok(Submission {
            origins: documents
                .iter()
                .map(|d| format!("document {}", d.number))
                .collect(),
            systems: documents.into_iter().map(|d| d.value).collect(),
        });
    }
    let steps = match runbook {
        Some(runbook) => {
            let text = std::fs::read_to_string(runbook).map_err(|error| {
                UsageError(format!("failed to read {}: {error}", runbook.display()))
            })?;
            manifests::read_runbook(&text).map_err(|error| {
                UsageError(format!(
                    "nothing was submitted: {} {error}",
                    runbook.display()
                ))
            })?
        }
        None => default_runbook(),
    };
    let defaults = Defaults {
        namespace: namespace.to_owned(),
        steps,
        labels,
    };
    let rows = inventory::read_inventory(&text, &defaults).map_err(|e| refused(&e))?;
    let systems = rows
        .iter()
        .map(|row| serde_json::to_value(&row.system))
        .collect::<Result<_, _>>()
        .context("failed to encode the systems")?;
    Ok(Submission {
        systems,
        origins: rows
            .iter()
            .map(|row| format!("line {}", row.line))
            .collect(),
    })
}

/// The server's refusal of a batch with each item at fault named by where it comes from: a
/// refusal of the input (422) is a usage error, a conflict keeps its status.
fn refusal(error: ApiError, origins: &[String], path: &Path) -> anyhow::Error {
    let ApiError::Status {
        status,
        problem: Some(problem),
        body,
    } = error
    else {
        return anyhow::Error::new(error).context(format!("failed to submit {}", path.display()));
    };
    let items: Vec<String> = problem
        .errors
        .iter()
        .map(|item| {
            let origin = origins
                .get(item.index)
                .cloned()
                .unwrap_or_else(|| format!("item {}", item.index));
            let name = item
                .name
                .as_deref()
                .map_or_else(String::new, |name| format!(" ({name})"));
            let field = item
                .field
                .as_deref()
                .map_or_else(String::new, |field| format!(", field {field}"));
            format!("\n  {origin}{name}{field}: {}", item.detail)
        })
        .collect();
    if status == 422 && !items.is_empty() {
        return UsageError(format!(
            "nothing was submitted: the server refused {}: {}{}",
            path.display(),
            problem.detail,
            items.concat()
        ))
        .into();
    }
    let problem = Problem {
        detail: format!("{}{}", problem.detail, items.concat()),
        ..*problem
    };
    anyhow::Error::new(ApiError::Status {
        status,
        problem: Some(Box::new(problem)),
        body,
    })
    .context(format!("failed to submit {}", path.display()))
}

fn submit(
    client: &Client,
    settings: &Settings,
    args: SubmitArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let namespace = namespace(client, settings, args.namespace)?;
    let labels = args.labels.into_iter().collect();
    let submission = read_submission(&args.file, args.runbook.as_deref(), &namespace, labels)?;
    let created = client
        .submit_migrations(&submission.systems)
        .map_err(|error| refusal(error, &submission.origins, &args.file))?;
    emit(out, settings.output, &created, || {
        output::submitted(&created)
    })
}
