//! The `govctl` binary: parse the command line, run it, and end with the documented exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use govctl::cli::Cli;

fn main() -> ExitCode {
    // clap prints usage errors and exits 2 itself; `--help` and `--version` exit 0.
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = govctl::commands::run(cli, &mut std::io::stdin().lock(), &mut out)
        .and_then(|()| Ok(out.flush()?));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => govctl::exit::report(&error),
    }
}
