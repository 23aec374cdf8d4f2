//! `govctl network list|show`: the departments' dedicated networks (业务专网) and their
//! consolidation onto the e-government networks (a department sees its own; the city all).

use std::io::Write;

use anyhow::Context as _;

use crate::cli::{NetworkCommand, OutputFormat};
use crate::client::Client;
use crate::output::{dedicated_network as output, emit};

/// Runs one `govctl network` command.
pub fn network(
    client: &Client,
    command: NetworkCommand,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        NetworkCommand::List => {
            let networks = client
                .dedicated_networks()
                .context("failed to list dedicated networks")?;
            emit(out, format, &networks, || output::networks(&networks))
        }
        NetworkCommand::Show { name } => {
            let network = client
                .dedicated_network(&name)
                .with_context(|| format!("failed to show dedicated network {name}"))?;
            emit(out, format, &network, || output::network(&network))
        }
    }
}
