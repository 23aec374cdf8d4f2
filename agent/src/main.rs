//! The `govcloud-agent` binary: subcommands over the library; errors become a message on
//! standard error and exit code 1 (2 for bad usage, from clap).

mod apply_cli;

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use govcloud_agent::inventory::inventory;
use govcloud_agent::observe::ObserveOptions;

/// govcloud's router agent: observes links, addresses and routes through netlink and reports
/// them to the controller.
#[derive(Debug, Parser)]
#[command(name = "govcloud-agent", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the links (state, carrier, MTU, kind, master, address, counters, speed), their
    /// addresses and a route summary per table and family of this network namespace as JSON.
    /// Needs no controller and no configuration.
    Inventory(InventoryArgs),
    /// Report to the controller every interval, over mutual TLS, spooling reports on disk while
    /// it is unreachable; serve the agent's own metrics. Stops on SIGINT or SIGTERM.
    Run(RunArgs),
    /// Converge this router to a desired configuration file (addresses, routes, VLAN and VRF
    /// segments); with --dry-run, print the operations as `ip` commands and change nothing.
    Apply(apply_cli::ApplyArgs),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The configuration file (TOML; see agent/dist/agent.toml).
    #[arg(long, value_name = "FILE", env = "GOVCLOUD_AGENT_CONFIG")]
    config: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
struct InventoryArgs {
    /// Only these interfaces (repeatable); all when absent.
    #[arg(long = "interface", value_name = "NAME")]
    interfaces: Vec<String>,
    /// Leave out the route summary.
    #[arg(long)]
    no_routes: bool,
    /// Leave out link speeds (no ethtool requests).
    #[arg(long)]
    no_speed: bool,
    /// Indent the JSON.
    #[arg(long)]
    pretty: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Inventory(args) => print_inventory(&args),
        Command::Run(args) => run(&args),
        Command::Apply(args) => apply_cli::apply(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("govcloud-agent: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = govcloud_agent::config::Config::load(&args.config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let shutdown = async {
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = async {
                    match terminate.as_mut() {
                        Some(signal) => { signal.recv().await; }
                        None => std::future::pending().await,
                    }
                } => {}
            }
        };
        govcloud_agent::run::run(config, shutdown).await
    })?;
    Ok(())
}

fn print_inventory(args: &InventoryArgs) -> anyhow::Result<()> {
    let options = ObserveOptions {
        interfaces: args.interfaces.clone(),
        speed: !args.no_speed,
        addresses: true,
        routes: !args.no_routes,
    };
    let inventory = inventory(&options).context("cannot observe this network namespace")?;
    if !inventory.missing.is_empty() {
        bail!("no interface named {}", inventory.missing.join(", "));
    }
    let mut out = std::io::stdout().lock();
    if args.pretty {
        serde_json::to_writer_pretty(&mut out, &inventory)?;
    } else {
        serde_json::to_writer(&mut out, &inventory)?;
    }
    writeln!(out).context("cannot write to standard output")?;
    Ok(())
}
