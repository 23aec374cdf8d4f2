//! Command-line interface of `govcloud-controller`: the clap types, and nothing else.

use clap::{Args, Parser, Subcommand};

/// The govcloud operator: tenants, migration, quota reviews, extranet links, IPv6, dedicated
/// networks, disaster recovery and provincial reporting for a municipal government cloud.
#[derive(Debug, Parser)]
#[command(name = "govcloud-controller", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand understands.
#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// Log filter, in `tracing` syntax (e.g. `info,govcloud_controller=debug`). The default
    /// leaves out kube-client's own record of each failed request: the controller reports
    /// every failure it meets once, with what it was doing.
    #[arg(
        long,
        global = true,
        env = "GOVCLOUD_LOG",
        default_value = "info,kube_client::client::builder=off"
    )]
    pub log: String,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the operator against a Kubernetes cluster: the reconcilers (on the elected leader),
    /// the controller's HTTPS API, the agent listener, metrics and health, until SIGTERM.
    Run(Box<RunArgs>),
    /// Run the whole control plane on this machine: an embedded Kubernetes-compatible API server
    /// on SQLite, the CRDs, an optional seed directory and one replica of the operator, until
    /// Ctrl-C.
    Local(LocalArgs),
    /// Run the embedded Kubernetes-compatible API server alone (SQLite, HTTPS on loopback), for
    /// running controllers against it as separate processes, until Ctrl-C or SIGTERM.
    Apiserver(ApiserverArgs),
    /// Print the CustomResourceDefinitions as one YAML stream (for `kubectl apply -f -`).
    Crds,
    /// Print the `govcloud-tenant-admin` ClusterRole that tenants' role bindings refer to (the
    /// Helm chart ships it; the controller only binds it).
    TenantAdminRole,
    /// Create or upgrade the controller's database and report its schema version.
    Migrate(DatabaseOptions),
    /// Issue an API token straight into the database and print it once: a cluster's first
    /// operations token, from which `govctl` issues the others.
    IssueToken(IssueTokenArgs),
}

/// How to reach the Kubernetes API server, as kubectl resolves it.
#[derive(Debug, Args)]
#[command(next_help_heading = "Kubernetes")]
pub struct ClusterOptions {
    /// The kubeconfig file to use. Without it: the files `KUBECONFIG` lists, else the pod's
    /// service account, else `~/.kube/config`.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The controller's own namespace, where its leader lease lives (default: the service
    /// account's namespace in a pod, else the context's namespace).
    #[arg(long, env = "GOVCLOUD_NAMESPACE", value_name = "NS")]
    pub namespace: Option<String>,
}

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub cluster: ClusterOptions,
    #[command(flatten)]
    pub database: DatabaseOptions,
    /// Address of the controller's HTTPS API, which `govctl` uses.
    #[arg(
        long,
        env = "GOVCLOUD_API_ADDRESS",
        default_value = "0.0.0.0:8443",
        help_heading = "Serving"
    )]
    pub api_address: std::net::SocketAddr,
    /// Address of the agent listener (mutual TLS with the agent CA), which routers report to.
    #[arg(
        long,
        env = "GOVCLOUD_AGENT_API_ADDRESS",
        default_value = "0.0.0.0:8444",
        help_heading = "Serving"
    )]
    pub agent_api_address: std::net::SocketAddr,
    /// Address of `/metrics`, `/livez` and `/readyz` (plain HTTP).
    #[arg(
        long,
        env = "GOVCLOUD_METRICS_ADDRESS",
        default_value = "0.0.0.0:9464",
        help_heading = "Serving"
    )]
    pub metrics_address: std::net::SocketAddr,
    /// Directory holding the controller API's serving certificate as a `kubernetes.io/tls`
    /// Secret mounts it: `tls.crt`, `tls.key`, optionally `ca.crt`. Without it, a CA and a
    /// certificate are generated under `--state-dir` on first start.
    #[arg(
        long,
        env = "GOVCLOUD_TLS_DIR",
        value_name = "DIR",
        help_heading = "TLS"
    )]
    pub tls_dir: Option<std::path::PathBuf>,
    /// Directory holding the agent CA (`tls.crt`, `tls.key`), which signs router certificates;
    /// every replica must have the same. Without it, one is generated under `--state-dir`
    /// (fit for a single replica only).
    #[arg(
        long,
        env = "GOVCLOUD_AGENT_CA_DIR",
        value_name = "DIR",
        help_heading = "TLS"
    )]
    pub agent_ca_dir: Option<std::path::PathBuf>,
    /// Writable directory for TLS material generated on first start.
    #[arg(
        long,
        env = "GOVCLOUD_STATE_DIR",
        default_value = ".govcloud-state",
        value_name = "DIR",
        help_heading = "TLS"
    )]
    pub state_dir: std::path::PathBuf,
    /// Names (DNS names or addresses) routers use to reach the agent listener, added to its
    /// serving certificate; repeat or separate with commas.
    #[arg(long, value_delimiter = ',', value_name = "NAME", help_heading = "TLS")]
    pub agent_server_name: Vec<String>,
    #[command(flatten)]
    pub election: ElectionOptions,
    /// How long link telemetry samples are kept: days (`7d`) or a Go duration (`168h`); at
    /// least an hour.
    #[arg(long, default_value = "7d", value_parser = govcloud_controller::network::retention::parse_retention)]
    pub telemetry_retention: std::time::Duration,
}

/// Leader election: only the leader reconciles.
#[derive(Debug, Args)]
#[command(next_help_heading = "Leader election")]
pub struct ElectionOptions {
    /// Elect a leader on a Lease; `false` only for a single replica.
    #[arg(long, env = "GOVCLOUD_LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub leader_elect: bool,
    /// Name of the Lease in the controller's namespace.
    #[arg(long, default_value = govcloud_controller::leader::LeaseSettings::NAME, value_name = "NAME")]
    pub lease_name: String,
    /// How long a leader's claim lasts after its last renewal.
    #[arg(long, default_value = "15s", value_parser = parse_duration, value_name = "DURATION")]
    pub lease_duration: std::time::Duration,
    /// How long the leader keeps trying to renew before it stops reconciling; shorter than
    /// `--lease-duration`.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub renew_deadline: std::time::Duration,
    /// How often candidates try to take the lease and the leader renews it.
    #[arg(long, default_value = "2s", value_parser = parse_duration, value_name = "DURATION")]
    pub retry_period: std::time::Duration,
    /// This replica's name in the lease, in events and in its requests' user agent (the pod's
    /// name; default: the host name and a random suffix).
    #[arg(long, env = "POD_NAME", value_name = "NAME")]
    pub identity: Option<String>,
}

/// A Go duration (`15s`, `1m30s`).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    govcloud_crds::common::parse_go_duration(text)
        .map_err(|_| format!("`{text}` is not a duration such as 15s or 1m30s"))
}

/// Options of `apiserver`.
#[derive(Debug, Args)]
pub struct ApiserverArgs {
    /// Directory of the server's state (SQLite, certificates, token, kubeconfig); created if
    /// missing, reused on restart.
    #[arg(long, env = "GOVCLOUD_DATA_DIR", default_value = ".govcloud-apiserver")]
    pub data_dir: std::path::PathBuf,
    /// Address to listen on (loopback; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub address: std::net::SocketAddr,
    /// Append an `audit.k8s.io/v1` event per request to this file (as kube-apiserver's
    /// `--audit-log-path`).
    #[arg(long, value_name = "FILE")]
    pub audit_log_path: Option<std::path::PathBuf>,
}

/// Options of `issue-token`.
#[derive(Debug, Args)]
pub struct IssueTokenArgs {
    #[command(flatten)]
    pub database: DatabaseOptions,
    /// The tenant the token is scoped to (it and its descendants).
    #[arg(long)]
    pub tenant: String,
    /// The token's role.
    #[arg(long, value_enum, default_value_t = TokenRole::Operations)]
    pub role: TokenRole,
    /// What the token is for, shown in token lists (e.g. the person's name).
    #[arg(long)]
    pub name: String,
    /// How many days it is valid.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=365))]
    pub days: u16,
}

/// The role of an API token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenRole {
    /// Read the tenant's quota, usage and objects.
    Viewer,
    /// Also request quota and submit or confirm migrations.
    Editor,
    /// The cloud operations team: approvals, tokens, routers, across the tenant's subtree.
    Operations,
    /// Read-only, including the audit log.
    Auditor,
}

/// Options of local mode.
#[derive(Debug, Args)]
pub struct LocalArgs {
    /// Directory of local mode's state (API server database, certificates, token, kubeconfig);
    /// created if missing, reused on restart.
    #[arg(long, env = "GOVCLOUD_DATA_DIR", default_value = ".govcloud")]
    pub data_dir: std::path::PathBuf,
    /// Directory of manifests to apply at start, like `kubectl apply --server-side -f DIR`
    /// (e.g. `examples/ankang`).
    #[arg(long)]
    pub seed: Option<std::path::PathBuf>,
    /// Address of the embedded API server (loopback; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub api_address: std::net::SocketAddr,
    /// Address of the controller's HTTPS API, which `govctl` uses.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub controller_api_address: std::net::SocketAddr,
    /// Address of the metrics endpoint (`/metrics`, `/healthz`).
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub metrics_address: std::net::SocketAddr,
    /// Address of the agent listener (HTTPS with client certificates of the agent CA,
    /// `DATA_DIR/pki/agents-ca.crt`), which router agents report telemetry to.
    #[arg(long, default_value = "127.0.0.1:8444")]
    pub agent_api_address: std::net::SocketAddr,
    /// How long link telemetry samples are kept: days (`7d`) or a Go duration (`168h`); at
    /// least an hour. Cover the longest `utilisationWindow` of the extranet links.
    #[arg(long, default_value = "7d", value_parser = govcloud_controller::network::retention::parse_retention)]
    pub telemetry_retention: std::time::Duration,
    /// Tenant of the operations token written into `DATA_DIR/govctl.toml`; by default the
    /// single tenant without a parent (the city).
    #[arg(long)]
    pub operations_tenant: Option<String>,
    /// Append an `audit.k8s.io/v1` event per request of the embedded API server to this file.
    #[arg(long, value_name = "FILE")]
    pub audit_log_path: Option<std::path::PathBuf>,
}

/// Where the controller keeps its SQL state: one of the two.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct DatabaseOptions {
    /// Database URL: `postgres://USER:PASSWORD@HOST:PORT/DB` for production (any number of
    /// replicas), or `sqlite://PATH` (created on first use) for a single replica.
    #[arg(long, env = "GOVCLOUD_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// A file holding the database URL, as a Secret mounts it: the password then appears in no
    /// environment variable or command line.
    #[arg(long, env = "GOVCLOUD_DATABASE_URL_FILE", value_name = "FILE")]
    pub database_url_file: Option<std::path::PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn migrate_takes_a_database_url() {
        let cli = Cli::try_parse_from([
            "govcloud-controller",
            "migrate",
            "--database-url",
            "sqlite://x.db",
        ])
        .expect("parse");
        match cli.command {
            Command::Migrate(options) => {
                assert_eq!(options.database_url.as_deref(), Some("sqlite://x.db"));
            }
            other => panic!("parsed the wrong subcommand: {other:?}"),
        }
    }
}

#[cfg(test)]
mod local_tests {
    use clap::Parser as _;

    use super::*;

    #[test]
    fn local_has_loopback_defaults() {
        let cli =
            Cli::try_parse_from(["govcloud-controller", "local", "--seed", "examples/ankang"])
                .expect("parse");
        let Command::Local(args) = cli.command else {
            panic!("parsed the wrong subcommand")
        };
        assert_eq!(args.data_dir, std::path::PathBuf::from(".govcloud"));
        assert!(args.api_address.ip().is_loopback());
        assert!(args.metrics_address.ip().is_loopback());
        assert!(args.agent_api_address.ip().is_loopback());
    }
}
