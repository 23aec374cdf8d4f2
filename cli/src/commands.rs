//! What each command does: resolve the settings, call the API, print the answer. Errors carry
//! a "failed to …" context naming what was being done; their exit codes come from the causes.

use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, bail};
use clap::CommandFactory;
use govcloud_crds::api::{AuditRecordView, DecisionRequest, NewQuotaRequest, NewToken, Role};
use govcloud_crds::common::{Decision, ResourceAmounts};
use govcloud_crds::quantity::ResourceKind;
use serde::Serialize;

use crate::cli::{
    AuditCommand, AuditExportArgs, Cli, Command, DecisionArgs, GlobalOptions, OutputFormat,
    QuotaCommand, QuotaRequestArgs, RouterCommand, TenantCommand, TokenCommand, TokenIssueArgs,
};
use crate::client::{ApiError, Client};
use crate::exit::UsageError;
use crate::output::{self, QuotaView, emit};
use crate::settings::{ConfigFile, Secret, Settings, SettingsError};

mod dedicated_network;
mod ipv6;
mod link;
mod migration;
mod router_enrollment;
mod router_view;

/// Runs one parsed command line: reads standard input only for `login` without a token, and
/// writes its results to `out` (diagnostics go to standard error through the returned error).
pub fn run(cli: Cli, stdin: &mut dyn BufRead, out: &mut dyn Write) -> anyhow::Result<()> {
    let Cli { global, command } = cli;
    // Only `login` may name a settings file that does not exist yet (it creates it).
    let settings = |for_login| Settings::resolve(&global, |name| std::env::var_os(name), for_login);
    match command {
        // Needs no settings: a broken settings file must not keep completions from working.
        Command::Completions(args) => completions(args.shell, out),
        Command::Login(args) => login(&global, &settings(true)?, args.from.as_deref(), stdin, out),
        Command::Whoami => {
            let settings = settings(false)?;
            let me = connect(&settings)?
                .whoami()
                .context("failed to ask the server who you are")?;
            emit(out, settings.output, &me, || output::whoami(&me))
        }
        Command::Tenant(TenantCommand::Show { name }) => {
            let settings = settings(false)?;
            let client = connect(&settings)?;
            let name = tenant_or_own(&client, name)?;
            let tenant = client
                .tenant(&name)
                .with_context(|| format!("failed to show tenant {name}"))?;
            emit(out, settings.output, &tenant, || output::tenant(&tenant))
        }
        Command::Quota(command) => {
            let settings = settings(false)?;
            quota(&connect(&settings)?, command, settings.output, out)
        }
        Command::Token(command) => {
            let settings = settings(false)?;
            token(&connect(&settings)?, command, settings.output, out)
        }
        Command::Migration(command) => {
            let settings = settings(false)?;
            migration::migration(&connect(&settings)?, &settings, command, out)
        }
        Command::Router(command) => {
            let settings = settings(false)?;
            let client = connect(&settings)?;
            let format = settings.output;
            match command {
                RouterCommand::Enroll(args) => {
                    router_enrollment::enroll(&client, args, format, out)
                }
                RouterCommand::Certificates { name } => {
                    router_enrollment::certificates(&client, &name, format, out)
                }
                RouterCommand::Revoke { name, serial } => {
                    router_enrollment::revoke(&client, &name, &serial, format, out)
                }
                RouterCommand::List => router_view::list(&client, format, out),
                RouterCommand::Show { name } => router_view::show(&client, &name, format, out),
            }
        }
        Command::Link(command) => {
            let settings = settings(false)?;
            link::link(&connect(&settings)?, command, settings.output, out)
        }
        Command::Ipv6(command) => {
            let settings = settings(false)?;
            ipv6::ipv6(&connect(&settings)?, &command, settings.output, out)
        }
        Command::Network(command) => {
            let settings = settings(false)?;
            dedicated_network::network(&connect(&settings)?, command, settings.output, out)
        }
        Command::Audit(command) => {
            let settings = settings(false)?;
            audit(&connect(&settings)?, command, settings.output, out)
        }
    }
}

/// The completion script for `shell`, written whole (clap_complete panics on a failed write,
/// so it writes to memory first and a closed pipe stays an ordinary error).
fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "govctl", &mut script);
    out.write_all(&script)?;
    Ok(())
}

/// A client from the settings: a server (HTTPS), the CA to trust and a token.
pub fn connect(settings: &Settings) -> anyhow::Result<Client> {
    Ok(Client::new(
        settings.server()?,
        settings.ca.as_deref(),
        settings.token()?,
    )?)
}

/// The tenant named, or the token's own.
fn tenant_or_own(client: &Client, tenant: Option<String>) -> anyhow::Result<String> {
    match tenant {
        Some(tenant) => Ok(tenant),
        None => Ok(client
            .whoami()
            .context("failed to find your token's tenant")?
            .tenant),
    }
}

/// Checks the server and token with `whoami`, then writes the settings file. Server, CA and
/// token come from flags and environment, then the `from` file if given, else the settings file
/// already there; a token from nowhere else is read from standard input.
fn login(
    global: &GlobalOptions,
    settings: &Settings,
    from: Option<&Path>,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let (source, token) = match from {
        Some(path) => {
            let file = ConfigFile::load(path)?.ok_or_else(|| SettingsError::Missing {
                path: path.to_owned(),
                named_by: "--from",
            })?;
            let source = Settings::merge(global, file, path.to_owned());
            let token = source.token.clone();
            (source, token)
        }
        None => (settings.clone(), global.token.clone()),
    };
    let server = source.server()?.to_owned();
    // Saved absolute, so that the settings work from any directory.
    let ca = source
        .ca
        .as_deref()
        .map(std::path::absolute)
        .transpose()
        .context("failed to locate the CA file")?;
    let token = match token {
        Some(token) => token,
        None => read_token(stdin)?,
    };
    let me = Client::new(&server, ca.as_deref(), &token)?
        .whoami()
        .context("failed to log in")?;
    let file = ConfigFile {
        server: Some(server.clone()),
        ca,
        token: Some(token),
        namespace: source.namespace.clone(),
    };
    file.save(&settings.config_path)?;
    emit(out, settings.output, &me, || {
        format!(
            "Logged in to {server} as {} of tenant {} (token {}, {}).\nSettings saved to {}.\n",
            me.role.as_str(),
            me.tenant,
            me.token_id,
            me.description,
            settings.config_path.display()
        )
    })
}

/// The token from standard input (its first line), asking for it on a terminal.
fn read_token(stdin: &mut dyn BufRead) -> anyhow::Result<Secret> {
    if std::io::stdin().is_terminal() {
        eprint!("Token for govctl (input is shown; press Enter when done): ");
    }
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .context("failed to read the token from standard input")?;
    line.parse::<Secret>().map_err(|reason| {
        UsageError(format!(
            "no token: pass --token, set GOVCTL_TOKEN, or write the token to standard input ({reason})"
        ))
        .into()
    })
}

fn quota(
    client: &Client,
    command: QuotaCommand,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        QuotaCommand::Show(args) => {
            let name = tenant_or_own(client, args.tenant)?;
            let tenant = client
                .tenant(&name)
                .with_context(|| format!("failed to show the quota of tenant {name}"))?;
            let view = QuotaView::of(&tenant);
            emit(out, format, &view, || output::quota(&view))
        }
        QuotaCommand::Request(args) => request_quota(client, args, format, out),
        QuotaCommand::Requests(args) => {
            let tenant = tenant_or_own(client, args.tenant)?;
            let requests = client
                .quota_requests(&tenant)
                .with_context(|| format!("failed to list the quota requests of tenant {tenant}"))?;
            emit(out, format, &requests, || {
                output::quota_requests(&tenant, &requests)
            })
        }
        QuotaCommand::Approve(args) => decide(client, args, Decision::Approved, format, out),
        QuotaCommand::Deny(args) => decide(client, args, Decision::Denied, format, out),
    }
}

fn request_quota(
    client: &Client,
    args: QuotaRequestArgs,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let tenant = tenant_or_own(client, args.tenant.tenant)?;
    let request = NewQuotaRequest {
        requested: ResourceAmounts {
            cpu: args.cpu.map(|cpu| cpu.to_quantity(ResourceKind::Cpu)),
            memory: args
                .memory
                .map(|memory| memory.to_quantity(ResourceKind::Memory)),
            storage: args
                .storage
                .map(|storage| storage.to_quantity(ResourceKind::Storage)),
        },
        justification: args.justification,
        valid_for: args.valid_for,
    };
    let created = client
        .create_quota_request(&tenant, &request)
        .with_context(|| format!("failed to request quota for tenant {tenant}"))?;
    emit(out, format, &created, || {
        format!(
            "Quota request {} sent; operations will approve or deny it.\n\n{}",
            created.name,
            output::quota_request(&created)
        )
    })
}

fn decide(
    client: &Client,
    args: DecisionArgs,
    decision: Decision,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let DecisionArgs {
        name,
        reason,
        tenant,
    } = args;
    let tenant = tenant_or_own(client, tenant)?;
    let verb = match decision {
        Decision::Approved => "approve",
        Decision::Denied => "deny",
    };
    let decided = client
        .decide_quota_request(&tenant, &name, decision, &DecisionRequest { reason })
        .with_context(|| format!("failed to {verb} quota request {name} of tenant {tenant}"))?;
    emit(out, format, &decided, || output::quota_request(&decided))
}

/// What `govctl token revoke -o json` prints.
#[derive(Debug, Serialize)]
struct Revoked {
    id: i64,
    revoked: bool,
}

fn token(
    client: &Client,
    command: TokenCommand,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        TokenCommand::Issue(TokenIssueArgs {
            tenant,
            role,
            description,
            expires_in,
        }) => {
            let role = Role::from(role);
            let description =
                description.unwrap_or_else(|| format!("{} token for {tenant}", role.as_str()));
            let new = NewToken {
                tenant,
                role,
                description,
                expires_in,
            };
            let issued = client.issue_token(&new).with_context(|| {
                format!(
                    "failed to issue a {} token for tenant {}",
                    role.as_str(),
                    new.tenant
                )
            })?;
            emit(out, format, &issued, || output::issued_token(&issued))
        }
        TokenCommand::List(filter) => {
            let tokens = client
                .tokens(filter.tenant.as_deref())
                .context("failed to list tokens")?;
            emit(out, format, &tokens, || {
                output::tokens(&tokens, chrono::Utc::now())
            })
        }
        TokenCommand::Revoke { id } => {
            client
                .revoke_token(id)
                .with_context(|| format!("failed to revoke token {id}"))?;
            emit(out, format, &Revoked { id, revoked: true }, || {
                format!("Token {id} revoked.\n")
            })
        }
    }
}

fn audit(
    client: &Client,
    command: AuditCommand,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify => {
            let result = client
                .audit_verify()
                .context("failed to verify the audit log")?;
            if result.intact {
                return emit(out, format, &result, || output::verification(&result));
            }
            if format != OutputFormat::Table {
                emit(out, format, &result, String::new)?;
            }
            let reason = result.reason.as_deref().unwrap_or("no reason given");
            match result.first_broken_seq {
                Some(seq) => bail!(
                    "the audit chain is broken at record {seq}: {reason} ({} records checked)",
                    result.records
                ),
                None => bail!(
                    "the audit chain is broken: {reason} ({} records checked)",
                    result.records
                ),
            }
        }
        AuditCommand::Export(args) => export(client, &args, out),
    }
}

/// Copies the records to `out` as they arrive, one JSON object a line, each checked to be an
/// audit record.
fn export(client: &Client, args: &AuditExportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let records = client
        .audit_export(args.from, args.to)
        .context("failed to export the audit log")?;
    let mut out = BufWriter::new(out);
    for (index, line) in BufReader::new(records).lines().enumerate() {
        let line = line
            .map_err(|error| ApiError::Unreachable {
                server: client.server().to_owned(),
                reason: format!("the connection broke during the export: {error}"),
            })
            .context("failed to export the audit log")?;
        if line.trim().is_empty() {
            continue;
        }
        serde_json::from_str::<AuditRecordView>(&line).with_context(|| {
            format!(
                "failed to export the audit log: line {} of the server's answer is not an audit record",
                index + 1
            )
        })?;
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
