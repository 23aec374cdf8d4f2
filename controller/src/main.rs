//! `govcloud-controller`: the operator's binary. Parses the command line and runs one subcommand.

mod cli;

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use govcloud_apiserver::server::{self as apiserver, ServerConfig};
use govcloud_apiserver::tls;
use govcloud_controller::agents::AgentCa;
use govcloud_controller::api::{NewBootstrapToken, issue_audited_token};
use govcloud_controller::leader::LeaseSettings;
use govcloud_controller::local::{self, LocalOptions};
use govcloud_controller::operator::{self, OperatorConfig, cluster, host_name};
use govcloud_controller::report::error_chain;
use govcloud_controller::storage::{Role, Storage};
use govcloud_crds::crdgen;
use tracing_subscriber::EnvFilter;

use crate::cli::{
    ApiserverArgs, Cli, Command, DatabaseOptions, IssueTokenArgs, LocalArgs, RunArgs, TokenRole,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.global.log).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: `kubectl logs` and journald show escape codes as text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let result = match cli.command {
        Command::Run(args) => run_async(run(*args)),
        Command::Local(args) => run_async(local(args)),
        Command::Apiserver(args) => run_async(serve_apiserver(args)),
        Command::Crds => print_crds(),
        Command::TenantAdminRole => print_tenant_admin_role(),
        Command::Migrate(options) => run_async(migrate(options)),
        Command::IssueToken(args) => run_async(issue_token(args)),
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

/// Waits for Ctrl-C (SIGINT) or SIGTERM, as a terminal or the kubelet stops the process.
async fn stop_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("failed to wait for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("failed to wait for Ctrl-C")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let kube = cluster::resolve(
        args.cluster.kubeconfig.as_deref(),
        args.cluster.context.as_deref(),
    )
    .await?;
    let namespace = args
        .cluster
        .namespace
        .clone()
        .unwrap_or_else(|| kube.default_namespace.clone());
    let identity = args
        .election
        .identity
        .clone()
        .unwrap_or_else(random_identity);
    let storage = open_storage(&args.database).await?;
    let serving = if let Some(dir) = &args.tls_dir {
        let ca = dir.join("ca.crt");
        tls::load_files(
            &dir.join("tls.crt"),
            &dir.join("tls.key"),
            ca.exists().then_some(ca.as_path()),
        )
        .context("--tls-dir")?
    } else {
        let hosts = serving_hosts(&args);
        let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
        tls::load_or_create(&args.state_dir, &hosts)
            .context("generating the serving certificate under --state-dir")?
    };
    let agent_ca = match &args.agent_ca_dir {
        Some(dir) => {
            AgentCa::load(&dir.join("tls.crt"), &dir.join("tls.key")).context("--agent-ca-dir")?
        }
        None => AgentCa::load_or_create(&args.state_dir.join(tls::PKI_DIR))
            .context("generating the agent CA under --state-dir")?,
    };
    let election = args.election.leader_elect.then(|| LeaseSettings {
        name: args.election.lease_name.clone(),
        lease_duration: args.election.lease_duration,
        renew_deadline: args.election.renew_deadline,
        retry_period: args.election.retry_period,
    });
    let replica = operator::start(OperatorConfig {
        kube,
        namespace,
        identity: identity.clone(),
        storage,
        serving,
        agent_ca,
        agent_server_names: args.agent_server_name.clone(),
        api_address: args.api_address,
        agent_api_address: args.agent_api_address,
        metrics_address: args.metrics_address,
        election,
        telemetry_retention: args.telemetry_retention,
    })
    .await?;
    println!(
        "govcloud-controller running as {identity}: controller-api {} agent-api {} metrics http://{}/metrics",
        replica.controller_api.url, replica.agent_api.url, replica.metrics_address
    );
    stop_signal().await?;
    eprintln!("govcloud-controller: stopping");
    replica.shutdown().await;
    Ok(())
}

/// The names of a generated serving certificate: loopback, the host's name and the API's
/// listening address when it is not a wildcard.
fn serving_hosts(args: &RunArgs) -> Vec<String> {
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if let Some(host) = host_name() {
        hosts.push(host);
    }
    if !args.api_address.ip().is_unspecified() && !args.api_address.ip().is_loopback() {
        hosts.push(args.api_address.ip().to_string());
    }
    hosts
}

/// client-go's default identity: the host name and a random suffix.
fn random_identity() -> String {
    let suffix = uuid_suffix();
    match host_name() {
        Some(host) => format!("{host}_{suffix}"),
        None => format!("govcloud-controller_{suffix}"),
    }
}

fn uuid_suffix() -> String {
    let mut bytes = [0_u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return std::process::id().to_string();
    }
    bytes.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
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
        audit_log: args.audit_log_path,
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
    stop_signal().await?;
    eprintln!("govcloud-controller: stopping");
    plane.shutdown().await;
    Ok(())
}

async fn serve_apiserver(args: ApiserverArgs) -> anyhow::Result<()> {
    let server = apiserver::start(ServerConfig {
        data_dir: args.data_dir,
        address: args.address,
        audit_log: args.audit_log_path,
    })
    .await
    .context("failed to start the API server")?;
    println!(
        "govcloud apiserver ready: {} kubeconfig {}",
        server.url,
        server.kubeconfig.display()
    );
    stop_signal().await?;
    eprintln!("govcloud-controller apiserver: stopping");
    server.shutdown().await;
    Ok(())
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

fn print_tenant_admin_role() -> anyhow::Result<()> {
    let role = govcloud_core::tenancy::plan::tenant_admin_role();
    let yaml = serde_norway::to_string(&role).context("failed to render the ClusterRole")?;
    println!("{}", yaml.trim_end());
    Ok(())
}

/// Opens (and migrates) the database `--database-url` names, or the one whose URL is in
/// `--database-url-file`; errors name the flag.
async fn open_storage(options: &DatabaseOptions) -> anyhow::Result<Storage> {
    match (&options.database_url, &options.database_url_file) {
        (Some(url), _) => Storage::open(url).await.context("--database-url"),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("--database-url-file {}", file.display()))?;
            let url = text.trim();
            anyhow::ensure!(
                !url.is_empty(),
                "--database-url-file {} is empty: it must hold the database URL",
                file.display()
            );
            Storage::open(url).await.with_context(|| {
                format!("the database URL in --database-url-file {}", file.display())
            })
        }
        (None, None) => anyhow::bail!("pass --database-url or --database-url-file"),
    }
}

async fn migrate(options: DatabaseOptions) -> anyhow::Result<()> {
    let storage = open_storage(&options).await?;
    let version = storage.schema_version().await?;
    println!(
        "{}: schema version {}",
        storage.redacted_url(),
        version.map_or_else(|| "none".to_owned(), |v| v.to_string())
    );
    storage.close().await;
    Ok(())
}

async fn issue_token(args: IssueTokenArgs) -> anyhow::Result<()> {
    let storage = open_storage(&args.database).await?;
    let role = match args.role {
        TokenRole::Viewer => Role::Viewer,
        TokenRole::Editor => Role::Editor,
        TokenRole::Operations => Role::Operations,
        TokenRole::Auditor => Role::Auditor,
    };
    let actor = format!("govcloud-controller issue-token ({})", whoami());
    let secret = issue_audited_token(
        &storage,
        &NewBootstrapToken {
            tenant: &args.tenant,
            role,
            description: &args.name,
            actor: &actor,
            lifetime: chrono::TimeDelta::days(i64::from(args.days)),
        },
    )
    .await?;
    storage.close().await;
    println!("{secret}");
    eprintln!(
        "govcloud-controller: issued a {role} token for tenant {} valid for {} days; it is shown \
         only now: keep it with `GOVCTL_TOKEN=… govctl login --server URL --ca FILE`",
        args.tenant, args.days
    );
    Ok(())
}

/// Who ran the command, for the audit record: the login name, else the user id.
fn whoami() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown user".to_owned())
}
