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
    /// Log filter, in `tracing` syntax (e.g. `info,govcloud_controller=debug`).
    #[arg(long, global = true, env = "GOVCLOUD_LOG", default_value = "info")]
    pub log: String,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole control plane on this machine: an embedded Kubernetes-compatible API server
    /// on SQLite, the CRDs, an optional seed directory and every controller, until Ctrl-C.
    Local(LocalArgs),
    /// Print the CustomResourceDefinitions as one YAML stream (for `kubectl apply -f -`).
    Crds,
    /// Create or upgrade the controller's database and report its schema version.
    Migrate(DatabaseOptions),
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
}

/// Where the controller keeps its SQL state.
#[derive(Debug, Args)]
pub struct DatabaseOptions {
    /// Database URL: `sqlite://PATH` (created on first use) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DB`.
    #[arg(
        long,
        env = "GOVCLOUD_DATABASE_URL",
        default_value = "sqlite://govcloud.db"
    )]
    pub database_url: String,
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
            Command::Migrate(options) => assert_eq!(options.database_url, "sqlite://x.db"),
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
