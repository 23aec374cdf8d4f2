//! `govcloud-agent apply`: converges this router (or the namespace `--netns`) to a desired
//! configuration file, or with `--dry-run` prints the operations as `ip` commands and changes
//! nothing. A file that does not parse is refused before the kernel is even looked at.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use govcloud_agent::apply::{self, DesiredState};
use govcloud_agent::netlink::Netlink;

/// Arguments of `govcloud-agent apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The desired configuration: a RouterConfig JSON document, as the controller serves it.
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
    /// Print the operations as `ip` commands (observing the kernel, read-only) and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Where the agent records what it created (addresses, devices), so it only removes its own.
    #[arg(long, value_name = "DIR", default_value = "/var/lib/govcloud-agent")]
    state_dir: PathBuf,
    /// Apply in the network namespace NAME (`/run/netns/NAME`) or at a path.
    #[arg(long, value_name = "NAME")]
    netns: Option<String>,
    /// An interface never to change, nor any route via it, besides the document's
    /// `protectedInterfaces` (repeatable).
    #[arg(long = "protect", value_name = "NAME")]
    protect: Vec<String>,
}

pub fn apply(args: &ApplyArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let desired = apply::desired::parse(&text, &args.protect).with_context(|| {
        format!(
            "{} is refused; the kernel was not touched",
            args.file.display()
        )
    })?;
    for refusal in &desired.refused {
        eprintln!("govcloud-agent: {refusal}");
    }
    let namespace = args.netns.as_ref().map(|name| {
        if name.contains('/') {
            PathBuf::from(name)
        } else {
            Path::new("/run/netns").join(name)
        }
    });
    let state_dir = args.state_dir.clone();
    let dry_run = args.dry_run;
    govcloud_agent::netns::run_in(namespace.as_deref(), move || {
        let mut netlink = Netlink::route().context("cannot open a netlink socket")?;
        if dry_run {
            dry(&mut netlink, &desired, &state_dir)
        } else {
            converge(&mut netlink, &desired, &state_dir)
        }
    })?
}

fn dry(netlink: &mut Netlink, desired: &DesiredState, state_dir: &Path) -> anyhow::Result<()> {
    let plan = apply::plan(netlink, desired, state_dir)?;
    let mut out = std::io::stdout().lock();
    if plan.is_empty() {
        writeln!(out, "# generation {}: nothing to do", desired.generation)?;
    }
    for batch in &plan.batches {
        writeln!(out, "# batch {}", batch.name)?;
        for operation in &batch.operations {
            writeln!(out, "{}", operation.ip_command())?;
        }
    }
    for conflict in &plan.conflicts {
        eprintln!("govcloud-agent: {conflict}");
    }
    Ok(())
}

fn converge(netlink: &mut Netlink, desired: &DesiredState, state_dir: &Path) -> anyhow::Result<()> {
    let outcome = apply::converge(netlink, desired, state_dir);
    let mut out = std::io::stdout().lock();
    if outcome.batches.is_empty() {
        writeln!(out, "# generation {}: nothing to do", desired.generation)?;
    }
    for batch in &outcome.batches {
        match &batch.error {
            None => writeln!(out, "# batch {}: applied", batch.name)?,
            Some(_) => writeln!(out, "# batch {}: failed, rolled back", batch.name)?,
        }
        for command in &batch.done {
            writeln!(out, "{command}")?;
        }
        for command in &batch.already_gone {
            writeln!(out, "# already gone: {command}")?;
        }
    }
    for line in &outcome.drift {
        writeln!(out, "# drift: {line}")?;
    }
    drop(out);
    if !outcome.complete() {
        for error in &outcome.errors {
            eprintln!("govcloud-agent: {error}");
        }
        bail!(
            "generation {} was not applied in full ({} error(s))",
            desired.generation,
            outcome.errors.len()
        );
    }
    Ok(())
}
