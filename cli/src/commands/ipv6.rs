//! `govctl ipv6 status`: the IPv6 rollout — sites ready over total, by county (tokens of the
//! city).

use std::io::Write;

use anyhow::Context as _;

use crate::cli::{Ipv6Command, OutputFormat};
use crate::client::Client;
use crate::output::{emit, ipv6 as output};

/// Runs one `govctl ipv6` command.
pub fn ipv6(
    client: &Client,
    command: &Ipv6Command,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        Ipv6Command::Status => {
            let status = client
                .ipv6_status()
                .context("failed to read the IPv6 rollout's status")?;
            emit(out, format, &status, || output::ipv6_status(&status))
        }
    }
}
