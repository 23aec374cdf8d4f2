//! `govctl link list|show`: the redundant extranet links (双千兆 / 双百兆) and their compliance
//! (tokens of the city).

use std::io::Write;

use anyhow::Context as _;

use crate::cli::{LinkCommand, LinkListArgs, OutputFormat};
use crate::client::Client;
use crate::output::{emit, network as output};

/// Runs one `govctl link` command.
pub fn link(
    client: &Client,
    command: LinkCommand,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        LinkCommand::List(LinkListArgs { compliance, router }) => {
            let links = client
                .links(compliance, router.as_deref())
                .context("failed to list extranet links")?;
            emit(out, format, &links, || output::links(&links))
        }
        LinkCommand::Show { name } => {
            let link = client
                .link(&name)
                .with_context(|| format!("failed to show extranet link {name}"))?;
            emit(out, format, &link, || output::link(&link))
        }
    }
}
