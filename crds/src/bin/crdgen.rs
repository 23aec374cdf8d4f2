//! `crdgen`: prints every govcloud CRD as YAML, writes them into a directory (`--out DIR`), or
//! checks a directory for drift (`--check DIR`, non-zero exit when the files differ).

use std::path::PathBuf;
use std::process::ExitCode;

use govcloud_crds::crdgen;

const USAGE: &str = "usage: crdgen [--out DIR | --check DIR]

Renders govcloud's CustomResourceDefinitions.
  (no option)    print every CRD to standard output, as one multi-document YAML stream
  --out DIR      write one file per CRD into DIR (the chart keeps them in charts/govcloud/crds)
  --check DIR    compare DIR with the rendering; exit 1 and list the differences if any";

enum Mode {
    Print,
    Write(PathBuf),
    Check(PathBuf),
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Mode, String> {
    let mode = match (args.next().as_deref(), args.next()) {
        (None, _) => Mode::Print,
        (Some("--out"), Some(dir)) => Mode::Write(dir.into()),
        (Some("--check"), Some(dir)) => Mode::Check(dir.into()),
        (Some("-h" | "--help"), _) => return Err(String::new()),
        (Some(other), _) => return Err(format!("unexpected argument `{other}`")),
    };
    match args.next() {
        Some(extra) => Err(format!("unexpected argument `{extra}`")),
        None => Ok(mode),
    }
}

fn run(mode: Mode) -> Result<ExitCode, crdgen::CrdgenError> {
    match mode {
        Mode::Print => {
            for crd in crdgen::render_all()? {
                println!("---\n{}", crd.yaml.trim_end());
            }
        }
        Mode::Write(dir) => {
            for path in crdgen::write_all(&dir)? {
                println!("wrote {}", path.display());
            }
        }
        Mode::Check(dir) => {
            let drift = crdgen::check(&dir)?;
            if !drift.is_empty() {
                for difference in &drift {
                    eprintln!("{difference}");
                }
                eprintln!(
                    "run `cargo run -p govcloud-crds --bin crdgen -- --out {}`",
                    dir.display()
                );
                return Ok(ExitCode::FAILURE);
            }
            println!("{} matches crdgen", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("crdgen: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Ok(mode) => run(mode).unwrap_or_else(|error| {
            eprintln!("crdgen: {error}");
            ExitCode::FAILURE
        }),
    }
}
