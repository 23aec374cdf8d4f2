//! Command-line interface of `govctl`: the clap types and the parsers of their values, nothing
//! else. What the options mean together (flags and environment over the settings file) is
//! resolved after parsing, in [`crate::settings`].

use std::path::PathBuf;

use clap::builder::NonEmptyStringValueParser;
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use govcloud_crds::api::Role;
use govcloud_crds::migration::system::MigrationPhase;
use govcloud_crds::network::extranet_link::Compliance;
use govcloud_crds::quantity::Amount;

use crate::settings::Secret;

/// The exit codes, shown at the end of `govctl --help` and in the guides.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (also when the reader of the output goes away, as in `govctl … | head`)
  1  any other failure, including an audit chain found broken
  2  usage error: unknown command or flag, invalid value (quantity, duration, CA file),
     no server configured
  3  authentication or authorisation failure (HTTP 401/403, or no token)
  4  not found, or not visible to your token (HTTP 404)
  5  conflict (HTTP 409)
  6  server error (HTTP 5xx), or the server cannot be reached";

/// Self-service for the municipal government cloud: your tenant's quota and usage, quota
/// requests, migration onto the cloud, API tokens and the audit log, over the controller's
/// HTTPS API.
///
/// Settings come from flags, then environment variables, then the settings file written by
/// `govctl login` (or by local mode as DATA/govctl.toml).
#[derive(Debug, Parser)]
#[command(name = "govctl", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalOptions {
    /// Settings file: TOML with `server`, `ca`, `token` and optionally `namespace`
    /// [default: $XDG_CONFIG_HOME/govctl/config.toml, or ~/.config/govctl/config.toml].
    #[arg(long, global = true, env = "GOVCTL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// URL of the controller's API (HTTPS only), e.g. `https://127.0.0.1:8443`.
    #[arg(long, global = true, env = "GOVCTL_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// API token. Prefer `govctl login` or the environment: other users of the machine can
    /// see command lines.
    #[arg(
        long,
        global = true,
        env = "GOVCTL_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<Secret>,

    /// CA certificate file (PEM) to trust for the server; without one, the well-known public
    /// certificate authorities are trusted.
    #[arg(long, global = true, env = "GOVCTL_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// Output format.
    #[arg(
        short,
        long,
        global = true,
        value_enum,
        default_value_t = OutputFormat::Table,
        value_name = "FORMAT"
    )]
    pub output: OutputFormat,
}

/// How results are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns with units (`64 cores`, `256 GiB`), for people.
    #[default]
    Table,
    /// The API's objects as pretty-printed JSON, for scripts.
    Json,
    /// The API's objects as YAML.
    Yaml,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a server and token, then save them (with the CA) in the settings file (mode 0600).
    ///
    /// Uses `--server`, `--ca` and `--token` (or their environment variables), or the values
    /// of a settings file given with `--from`; without a token, reads it from standard input.
    /// Nothing is saved unless the server accepts the token.
    Login(LoginArgs),
    /// Show who the token says you are: tenant, role, expiry.
    Whoami,
    /// Tenants: quota, usage, namespaces, children.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Quota: show it, request more, follow requests; approve or deny them (operations).
    #[command(subcommand)]
    Quota(QuotaCommand),
    /// API tokens: issue, list and revoke them (operations).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Migration onto the cloud: submit your systems, follow them, confirm manual steps, see
    /// the campaign; approve or deny systems (operations).
    #[command(subcommand)]
    Migration(MigrationCommand),
    /// Routers of the extranet: list and show them with their agents (tokens of the city);
    /// enroll their agents (client certificates), revoke them (operations of the root tenant).
    #[command(subcommand)]
    Router(RouterCommand),
    /// Extranet links (双千兆 city–county, 双百兆 county–township): compliance, members,
    /// utilisation (tokens of the city).
    #[command(subcommand)]
    Link(LinkCommand),
    /// The IPv6 rollout (IPv6应用): sites ready over total, by county, and why the others are
    /// not ready yet (tokens of the city).
    #[command(subcommand)]
    Ipv6(Ipv6Command),
    /// Departments' dedicated networks (业务专网) and their consolidation: disposition, phase,
    /// VLAN/VRF/prefix per site, annual cost and savings (a department sees its own).
    #[command(subcommand)]
    Network(NetworkCommand),
    /// The tamper-evident audit log: verify its chain, export it (auditors, operations).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print a shell completion script to standard output.
    Completions(CompletionsArgs),
}

/// `govctl login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Take server, CA and token from this settings file (local mode's DATA/govctl.toml, or
    /// one operations sent you); `--server`, `--ca` and `--token` still win.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
}

/// `govctl tenant …`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Show a tenant: level, parent, children, namespaces, quota and usage.
    Show {
        /// The tenant [default: your token's tenant].
        name: Option<String>,
    },
}

/// `govctl quota …`
#[derive(Debug, Subcommand)]
pub enum QuotaCommand {
    /// Show quota, usage and what is free, per resource.
    Show(TenantOption),
    /// Ask operations for a new quota (new totals; resources left out keep their quota).
    #[command(
        after_help = "Example:\n  govctl quota request --cpu 96 --memory 384Gi \
                            --justification 'tax filing season'"
    )]
    Request(QuotaRequestArgs),
    /// List quota requests, pending and decided.
    Requests(TenantOption),
    /// Approve a pending quota request (operations).
    Approve(DecisionArgs),
    /// Deny a pending quota request (operations).
    Deny(DecisionArgs),
}

/// A tenant other than the token's own.
#[derive(Debug, Args)]
pub struct TenantOption {
    /// The tenant [default: your token's tenant].
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
}

/// `govctl quota request`
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("amounts").required(true).multiple(true).args(["cpu", "memory", "storage"])
))]
pub struct QuotaRequestArgs {
    /// New CPU total in cores, e.g. `96` or `1500m`.
    #[arg(long, value_name = "QUANTITY", value_parser = parse_quantity, allow_hyphen_values = true)]
    pub cpu: Option<Amount>,
    /// New memory total, e.g. `384Gi`.
    #[arg(long, value_name = "QUANTITY", value_parser = parse_quantity, allow_hyphen_values = true)]
    pub memory: Option<Amount>,
    /// New storage total, e.g. `10Ti`.
    #[arg(long, value_name = "QUANTITY", value_parser = parse_quantity, allow_hyphen_values = true)]
    pub storage: Option<Amount>,
    /// Why the tenant needs it; operations read this when they decide.
    #[arg(long, value_name = "TEXT", value_parser = NonEmptyStringValueParser::new())]
    pub justification: String,
    /// How long the request stays open, e.g. `720h` [default: the server's, 720h].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub valid_for: Option<String>,
    #[command(flatten)]
    pub tenant: TenantOption,
}

/// `govctl quota approve|deny`
#[derive(Debug, Args)]
pub struct DecisionArgs {
    /// The quota request's name (see `govctl quota requests`).
    pub name: String,
    /// Why; shown to the department and kept in the audit log.
    #[arg(long, value_name = "TEXT", value_parser = NonEmptyStringValueParser::new())]
    pub reason: String,
    /// The requesting tenant [default: your token's tenant].
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
}

/// `govctl token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token; its secret is printed this once (`-o json`: the `token` field).
    Issue(TokenIssueArgs),
    /// List tokens (never their secrets).
    List(TenantFilter),
    /// Revoke a token at once.
    Revoke {
        /// The token's id (see `govctl token list`).
        id: i64,
    },
}

/// `govctl token issue`
#[derive(Debug, Args)]
pub struct TokenIssueArgs {
    /// The tenant the token is scoped to.
    #[arg(long, value_name = "NAME")]
    pub tenant: String,
    /// What the token may do.
    #[arg(long, value_enum, value_name = "ROLE")]
    pub role: RoleArg,
    /// Who holds it and why [default: `ROLE token for TENANT`].
    #[arg(long, value_name = "TEXT", value_parser = NonEmptyStringValueParser::new())]
    pub description: Option<String>,
    /// Lifetime, e.g. `720h` [default: the server's].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub expires_in: Option<String>,
}

/// Which tenant's tokens to list.
#[derive(Debug, Args)]
pub struct TenantFilter {
    /// Only this tenant's tokens [default: every token visible to you].
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
}

/// A token's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Reads the tenant's quota, usage and requests.
    Viewer,
    /// Also requests quota.
    Editor,
    /// Also decides quota requests and administers tokens.
    Operations,
    /// Reads, exports and verifies the audit log.
    Auditor,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Viewer => Self::Viewer,
            RoleArg::Editor => Self::Editor,
            RoleArg::Operations => Self::Operations,
            RoleArg::Auditor => Self::Auditor,
        }
    }
}

/// What `govctl migration submit --help` says about inventories.
pub const INVENTORY_HELP: &str = "\
Inventories (-f FILE.csv): one system per row, a header row first (line 1). Columns:
  required: name, displayName, classification (Unclassified|Classified), site,
            platform (PhysicalServer|VirtualMachine|Container|Other), hosts, cpu, memory
  optional: namespace, sensitivity (Public|Internal|Sensitive), maintainer, storage,
            dependsOn (`;`-separated `name` or `namespace/name`), notBefore (YYYY-MM-DD)
Every system gets the steps of --runbook, or one Manual step `migrate`. Errors name the line
and column; a file with any bad row submits nothing.

Examples:
  govctl migration submit -f systems.yaml
  govctl migration submit -f inventory.csv -n city-finance --runbook runbook.yaml";

/// `govctl migration …`
#[derive(Debug, Subcommand)]
pub enum MigrationCommand {
    /// Submit systems for migration, all or nothing: SystemMigration manifests (YAML, `---`
    /// between documents) or an inventory (a `.csv` file, one system per row).
    #[command(after_help = INVENTORY_HELP)]
    Submit(SubmitArgs),
    /// List the systems you see: phase, wave, current step, window.
    List(MigrationListArgs),
    /// Show a system: steps and their progress, wave, window, blockers, manual instructions.
    Show(SystemArgs),
    /// Confirm that a manual step (or, with --rollback, its manual rollback) is done.
    Confirm(ConfirmArgs),
    /// Approve a system so that its campaign schedules it (operations).
    Approve(MigrationDecisionArgs),
    /// Deny a system; it is not migrated (operations).
    Deny(MigrationDecisionArgs),
    /// Show a campaign: deadline and projection, waves and windows, blockers, counts per tenant,
    /// and your systems in it; without NAME, list the campaigns.
    Plan {
        /// The campaign (see `govctl migration plan`).
        name: Option<String>,
    },
}

/// The namespace of a system.
#[derive(Debug, Args)]
pub struct NamespaceOption {
    /// The system's namespace (for `submit`, of the systems that name none) [default:
    /// `namespace` in the settings file, else your token's tenant].
    #[arg(short, long, env = "GOVCTL_NAMESPACE", value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// `govctl migration submit`
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The systems: YAML manifests, or an inventory when the name ends in `.csv`.
    #[arg(short, long, value_name = "FILE")]
    pub file: PathBuf,
    /// For an inventory: the steps of every system, a YAML list of steps as in a
    /// SystemMigration's `spec.steps` [default: one Manual step `migrate`].
    #[arg(long, value_name = "FILE")]
    pub runbook: Option<PathBuf>,
    /// A label for every system, e.g. `govcloud.io/campaign=ankang-2025` (repeatable).
    #[arg(short, long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    #[command(flatten)]
    pub namespace: NamespaceOption,
}

/// `govctl migration list`
#[derive(Debug, Args)]
pub struct MigrationListArgs {
    /// Only this tenant's systems.
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// Only the systems in this phase (Pending, Assessed, Approved, Scheduled, Migrating,
    /// Verifying, Completed, Rejected, Failed, RollingBack, RolledBack).
    #[arg(long, value_name = "PHASE", value_parser = parse_phase)]
    pub phase: Option<MigrationPhase>,
}

/// A system: `NAME` with `-n NAMESPACE`, or `NAMESPACE/NAME`.
#[derive(Debug, Args)]
pub struct SystemArgs {
    /// The system, as `NAME` or `NAMESPACE/NAME` (see `govctl migration list`).
    pub name: String,
    #[command(flatten)]
    pub namespace: NamespaceOption,
}

/// `govctl migration confirm`
#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// The system, as `NAME` or `NAMESPACE/NAME`.
    pub name: String,
    /// The step waiting for confirmation (see `govctl migration show`).
    pub step: String,
    /// Confirm the step's manual rollback instead of the step.
    #[arg(long)]
    pub rollback: bool,
    #[command(flatten)]
    pub namespace: NamespaceOption,
}

/// `govctl migration approve|deny`
#[derive(Debug, Args)]
pub struct MigrationDecisionArgs {
    /// The system, as `NAME` or `NAMESPACE/NAME`.
    pub name: String,
    /// Why; shown to the department and kept in the audit log.
    #[arg(long, value_name = "TEXT", value_parser = NonEmptyStringValueParser::new())]
    pub reason: String,
    #[command(flatten)]
    pub namespace: NamespaceOption,
}

/// `govctl router …`
#[derive(Debug, Subcommand)]
pub enum RouterCommand {
    /// Issue a client certificate for a router's agent: writes NAME.crt, NAME.key (mode 0600,
    /// unless --csr) and ca.crt into --out, and prints their paths and the serial.
    #[command(
        after_help = "Examples:\n  govctl router enroll hanyin-core --out /etc/govcloud-agent\n  \
                            govctl router enroll hanyin-core --csr hanyin-core.csr"
    )]
    Enroll(RouterEnrollArgs),
    /// List a router's certificates: serial, issued, expiry, revocation.
    Certificates {
        /// The router (a Router object).
        name: String,
    },
    /// Revoke a router's certificate; the agent listener refuses it from its next request.
    Revoke {
        /// The router.
        name: String,
        /// The certificate's serial number (see `govctl router certificates NAME`).
        serial: String,
    },
    /// List the routers: site, upstream, whether the agent reports, its version, last report.
    List,
    /// Show a router: site, interfaces (declared and reported), agent, links, conditions.
    Show {
        /// The router.
        name: String,
    },
}

/// `govctl link …`
#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// List the links: tier, ends, members up, compliance, utilisation p95.
    List(LinkListArgs),
    /// Show a link: contract, each member at each end, why it is not compliant, conditions.
    Show {
        /// The link (an ExtranetLink object).
        name: String,
    },
}

/// `govctl ipv6 …`
#[derive(Debug, Subcommand)]
pub enum Ipv6Command {
    /// Sites ready over total, by county; a site is ready once its router applied its
    /// addresses and routes, reports no drift, and reaches the city over IPv6.
    Status,
}

/// `govctl network …`
#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// List the dedicated networks: department, class, disposition, phase, sites, annual cost,
    /// savings, and the total savings.
    List,
    /// Show a dedicated network: each site's VLAN, VRF and /64, decommission, conditions.
    Show {
        /// The network (a DedicatedNetwork object).
        name: String,
    },
}

/// `govctl link list`
#[derive(Debug, Args)]
pub struct LinkListArgs {
    /// Only the links with this compliance (Compliant, Degraded, Down, Unknown).
    #[arg(long, value_name = "COMPLIANCE", value_parser = parse_compliance)]
    pub compliance: Option<Compliance>,
    /// Only the links with an end at this router.
    #[arg(long, value_name = "ROUTER")]
    pub router: Option<String>,
}

/// `govctl router enroll`
#[derive(Debug, Args)]
pub struct RouterEnrollArgs {
    /// The router (a Router object); the certificate's subject.
    pub name: String,
    /// Directory to write the files into (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// A certificate signing request (PEM) made on the router, so that its key never leaves
    /// it; only NAME.crt and ca.crt are written then.
    #[arg(long, value_name = "FILE")]
    pub csr: Option<PathBuf>,
    /// Replace NAME.crt, NAME.key and ca.crt if they exist.
    #[arg(long)]
    pub force: bool,
}

/// `govctl audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; exit 1 naming the first broken record if it is broken.
    Verify,
    /// Print audit records as JSON lines (one object per line, whatever `--output` says).
    Export(AuditExportArgs),
}

/// `govctl audit export`
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// First record (sequence number, from 1) [default: the first].
    #[arg(long, value_name = "SEQ", value_parser = clap::value_parser!(i64).range(1..))]
    pub from: Option<i64>,
    /// Last record [default: the last].
    #[arg(long, value_name = "SEQ", value_parser = clap::value_parser!(i64).range(1..))]
    pub to: Option<i64>,
}

/// `govctl completions`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// A Kubernetes quantity that is not negative (`96`, `500m`, `384Gi`).
pub fn parse_quantity(text: &str) -> Result<Amount, String> {
    let amount = Amount::parse(text).map_err(|error| error.to_string())?;
    if amount.is_negative() {
        return Err(format!("quantity \"{text}\" is negative"));
    }
    Ok(amount)
}

/// A label, `KEY=VALUE`.
pub fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() && !text.contains(char::is_whitespace) => {
            Ok((key.to_owned(), value.to_owned()))
        }
        _ => Err(format!("label \"{text}\" is not KEY=VALUE")),
    }
}

/// A phase of a system's migration (`Scheduled`, `Migrating`, …).
pub fn parse_phase(text: &str) -> Result<MigrationPhase, String> {
    serde_json::from_value(serde_json::Value::from(text)).map_err(|_| {
        format!(
            "\"{text}\" is not a phase: Pending, Assessed, Approved, Scheduled, Migrating, \
             Verifying, Completed, Rejected, Failed, RollingBack or RolledBack"
        )
    })
}

/// A link's compliance (`Compliant`, `Degraded`, `Down`, `Unknown`).
pub fn parse_compliance(text: &str) -> Result<Compliance, String> {
    serde_json::from_value(serde_json::Value::from(text)).map_err(|_| {
        format!("\"{text}\" is not a compliance: Compliant, Degraded, Down or Unknown")
    })
}

/// A duration in Go notation (`720h`, `1h30m`, `90s`), as the API takes it.
pub fn parse_duration(text: &str) -> Result<String, String> {
    govcloud_crds::common::parse_go_duration(text)
        .map(|_| text.to_owned())
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn quantities_are_checked_and_the_flag_named() {
        let error = Cli::try_parse_from([
            "govctl",
            "quota",
            "request",
            "--cpu",
            "lots",
            "--justification",
            "x",
        ])
        .expect_err("not a quantity");
        assert_eq!(error.exit_code(), 2);
        let message = error.to_string();
        assert!(message.contains("--cpu"), "{message}");
        assert!(message.contains("failed to parse quantity"), "{message}");
        assert!(parse_quantity("-4").is_err());
        assert_eq!(
            parse_quantity("384Gi"),
            Ok(Amount::parse("384Gi").expect("384Gi"))
        );
    }

    #[test]
    fn a_quota_request_names_at_least_one_resource() {
        let error = Cli::try_parse_from(["govctl", "quota", "request", "--justification", "x"])
            .expect_err("no amounts");
        assert_eq!(error.exit_code(), 2);
    }

    #[test]
    fn durations_in_go_notation() {
        for good in ["720h", "1h30m", "90s", "1.5h", "250ms", "10us", "3µs"] {
            assert_eq!(parse_duration(good).as_deref(), Ok(good), "{good}");
        }
        for bad in ["", "720", "h", "30 days", "1.h", ".5h", "5d", "-1h", "1h-"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn global_options_follow_subcommands() {
        let cli = Cli::try_parse_from([
            "govctl",
            "quota",
            "show",
            "-o",
            "json",
            "--server",
            "https://x",
        ])
        .expect("parse");
        assert_eq!(cli.global.output, OutputFormat::Json);
        assert_eq!(cli.global.server.as_deref(), Some("https://x"));
    }
}
