//! `govctl router list|show`: the routers of the extranet and their agents (tokens of the city).

use std::io::Write;

use anyhow::Context as _;

use crate::cli::OutputFormat;
use crate::client::Client;
use crate::output::{emit, network as output};

/// `govctl router list`
pub fn list(client: &Client, format: OutputFormat, out: &mut dyn Write) -> anyhow::Result<()> {
    let routers = client.routers().context("failed to list routers")?;
    emit(out, format, &routers, || output::routers(&routers))
}

/// `govctl router show NAME`
pub fn show(
    client: &Client,
    name: &str,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let router = client
        .router(name)
        .with_context(|| format!("failed to show router {name}"))?;
    emit(out, format, &router, || output::router(&router))
}
