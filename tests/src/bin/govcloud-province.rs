//! `govcloud-province`: writes a synthetic province of generated cities as manifests, for
//! `kubectl apply --server-side -f DIR` or `govcloud-controller local --seed DIR`, and prints
//! the number of objects of each kind.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use govcloud_tests::province::{CitySize, ProvinceSpec, generate};

/// The size of each city.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Size {
    /// About 6,400 objects per city: 501 tenants, 152 routers, 5,000 systems.
    Large,
    /// About 280 objects per city, for tests.
    Small,
}

/// Writes a synthetic province of municipal government clouds as manifests.
#[derive(Debug, Parser)]
#[command(version)]
struct Arguments {
    /// Number of cities.
    #[arg(long, default_value_t = 1)]
    cities: usize,
    /// Seed of every random choice; the same arguments always give the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Size of each city.
    #[arg(long, value_enum, default_value_t = Size::Large)]
    size: Size,
    /// Directory to write the files into (created if missing).
    #[arg(long)]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let spec = ProvinceSpec {
        seed: arguments.seed,
        cities: arguments.cities,
        city: match arguments.size {
            Size::Large => CitySize::large(),
            Size::Small => CitySize::small(),
        },
    };
    spec.validate().context("invalid arguments")?;
    let province = generate(&spec);
    let files = province
        .write_to(&arguments.out)
        .with_context(|| format!("failed to write into {}", arguments.out.display()))?;
    println!("| kind | objects |");
    println!("|---|---:|");
    for (kind, count) in province.counts_by_kind() {
        println!("| {kind} | {count} |");
    }
    println!("| all | {} |", province.object_count());
    eprintln!(
        "wrote {} files into {}",
        files.len(),
        arguments.out.display()
    );
    Ok(())
}
