//! `govcloud-controller`: the operator's binary. Parses the command line and runs one subcommand.

mod cli;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use govcloud_controller::local::{self, LocalOptions};
use govcloud_controller::report::error_chain;
use govcloud_controller::storage::Storage;
use govcloud_crds::crdgen;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, DatabaseOptions, LocalArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.global.log).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Crds => print_crds(),
        Command::Migrate(options) => run_async(migrate(options)),
        Command::Local(args) => run_async(local(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("govcloud-controller: {}", error_chain(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn run_async(future: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?
        .block_on(future)
}

fn print_crds() -> anyhow::Result<()> {
    for crd in crdgen::render_all()? {
        println!("---\n{}", crd.yaml.trim_end());
    }
    eprintln!(
        "govcloud-controller: printed {} CRDs of govcloud.io/v1alpha1; install them with \
         `govcloud-controller crds | kubectl apply --server-side -f -`, then declare tenants, \
         routers and the rest (see examples/ankang/), or run everything on this machine with \
         `govcloud-controller local --seed examples/ankang`.",
        crdgen::all().len()
    );
    Ok(())
}

async fn migrate(options: DatabaseOptions) -> anyhow::Result<()> {
    let storage = Storage::open(&options.database_url).await?;
    let version = storage.schema_version().await?;
    println!(
        "{}: schema version {}",
        storage.redacted_url(),
        version.map_or_else(|| "none".to_owned(), |v| v.to_string())
    );
    storage.close().await;
    Ok(())
}

async fn local(args: LocalArgs) -> anyhow::Result<()> {
    let options = LocalOptions {
        data_dir: args.data_dir,
        seed: args.seed,
        api_address: args.api_address,
        controller_api_address: args.controller_api_address,
        metrics_address: args.metrics_address,
        agent_api_address: args.agent_api_address,
        telemetry_retention: args.telemetry_retention,
        operations_tenant: args.operations_tenant,
    };
    let plane = local::start(&options).await?;
    if let Some(seed) = &plane.seed {
        tracing::info!(
            objects = seed.total(),
            files = seed.files.len(),
            "seed applied"
        );
    }
    println!("{}", plane.ready_line());
    println!(
        "try: kubectl --kubeconfig {} get tenants,routers,extranetlinks",
        plane.api.kubeconfig.display()
    );
    tokio::signal::ctrl_c()
        .await
        .context("failed to wait for Ctrl-C")?;
    eprintln!("govcloud-controller: stopping");
    plane.shutdown().await;
    Ok(())
}
