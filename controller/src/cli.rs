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
    /// Print the CustomResourceDefinitions as one YAML stream (for `kubectl apply -f -`).
    Crds,
    /// Create or upgrade the controller's database and report its schema version.
    Migrate(DatabaseOptions),
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
            Command::Crds => panic!("parsed the wrong subcommand"),
        }
    }
}
