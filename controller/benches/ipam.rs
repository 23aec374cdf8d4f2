//! IPv6 allocation: 100,000 /64 segments in one pool, in memory with the pure
//! allocator (target: under one second on one core) and recorded through the SQL ledger
//! (`Storage::ipam().allocate`, SQLite in a temporary file).
//!
//! The pool is `2001:db8::/40` with lengths city /40, county /48, township /56, segment /64.
//! In memory, median of several runs:
//! - `hierarchy`: the city, 16 counties, 25 townships in each (400), 250 segments in each
//!   township (100,000), each inside its parent, from an empty ledger;
//! - `flat`: 100,000 segments whose parent is the pool itself (one parent, 2^24 candidates);
//! - `restart`: the allocator rebuilt from the hierarchy's 100,417 ledger entries, then every
//!   owner asked again (each gets its prefix back).
//!
//! Then once, on SQLite: each allocation of the hierarchy recorded by `allocate` (one
//! transaction each), by `allocate_all` (one checked transaction, as the `AddressPool` reconciler
//! records a pass), the ledger read back with `list_in_use` into a new allocator (a controller
//! restart), and, for comparison, the same rows as plain `INSERT`s in one transaction.
//!
//! `taskset -c 0 cargo bench -p govcloud-controller --bench ipam [-- --runs 7 --sql N]`
//! (`--sql N` records only the first N allocations on SQLite, `--sql 0` none; default all).

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use govcloud_controller::storage::{DbPool, NewIpamAllocation, Storage};
use govcloud_core::ipam::{
    Allocator, EntryState, LedgerEntry, Level, Outcome, Owner, Prefix, Request, ValidPool,
};
use govcloud_crds::common::{Duration as GoDuration, Prefix as SpecPrefix};
use govcloud_crds::network::address_pool::{AddressPoolSpec, PrefixLengths};

const COUNTIES: usize = 16;
const TOWNSHIPS_PER_COUNTY: usize = 25;
const SEGMENTS_PER_TOWNSHIP: usize = 250;
const SEGMENTS: usize = COUNTIES * TOWNSHIPS_PER_COUNTY * SEGMENTS_PER_TOWNSHIP;

fn pool() -> ValidPool {
    let spec = AddressPoolSpec {
        prefix: SpecPrefix::from("2001:db8::/40"),
        lengths: PrefixLengths {
            city: 40,
            county: 48,
            township: 56,
            segment: 64,
        },
        reserved: Vec::new(),
        release_hold: GoDuration::from("168h"),
    };
    ValidPool::from_spec(&spec).unwrap_or_else(|e| panic!("the benchmark's pool is invalid: {e}"))
}

/// One request of a run, owned so that the timed loop only allocates.
struct Want {
    owner: Owner,
    level: Level,
    /// Index in the run's outcomes of the parent's request; `None` for the pool.
    parent: Option<usize>,
}

/// The city, then each county followed by its townships, each followed by its segments.
fn hierarchy() -> Vec<Want> {
    let want = |kind: &str, name: String, level, parent| Want {
        owner: Owner::new(kind, name),
        level,
        parent,
    };
    let mut wants = vec![want("Router", "city".into(), Level::City, None)];
    for c in 0..COUNTIES {
        let county = wants.len();
        wants.push(want("Router", format!("c{c}"), Level::County, Some(0)));
        for t in 0..TOWNSHIPS_PER_COUNTY {
            let township = wants.len();
            let name = format!("c{c}-t{t}");
            wants.push(want("Router", name, Level::Township, Some(county)));
            for s in 0..SEGMENTS_PER_TOWNSHIP {
                let name = format!("c{c}-t{t}-s{s}");
                wants.push(want("Segment", name, Level::Segment, Some(township)));
            }
        }
    }
    wants
}

fn flat() -> Vec<Want> {
    (0..SEGMENTS)
        .map(|s| Want {
            owner: Owner::new("Segment", format!("s{s}")),
            level: Level::Segment,
            parent: None,
        })
        .collect()
}

/// Serves `wants` in order; the prefixes they got.
fn serve(allocator: &mut Allocator, wants: &[Want]) -> Vec<Prefix> {
    let root = allocator.pool().prefix();
    let mut got: Vec<Prefix> = Vec::with_capacity(wants.len());
    for want in wants {
        let parent = want.parent.map_or(root, |i| got[i]);
        let request = Request {
            owner: &want.owner,
            level: want.level,
            parent,
        };
        match allocator.allocate(&request) {
            Ok(outcome) => got.push(outcome.prefix()),
            Err(e) => panic!("{}: {e}", want.owner),
        }
    }
    got
}

/// The figures are of correct work: the expected first and last prefixes, none twice.
fn check(wants: &[Want], got: &[Prefix]) {
    let text = |i: usize| got[i].to_string();
    assert_eq!(text(0), "2001:db8::/40");
    assert_eq!(text(1), "2001:db8::/48");
    assert_eq!(text(2), "2001:db8::/56");
    assert_eq!(text(wants.len() - 1), "2001:db8:f:18f9::/64");
    let mut sorted: Vec<(Level, Prefix)> = wants
        .iter()
        .map(|w| w.level)
        .zip(got.iter().copied())
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), wants.len(), "a prefix was handed out twice");
}

fn ledger(wants: &[Want], got: &[Prefix]) -> Vec<LedgerEntry> {
    wants
        .iter()
        .zip(got)
        .map(|(w, p)| LedgerEntry {
            prefix: *p,
            level: w.level,
            owner: w.owner.clone(),
            state: EntryState::Active,
        })
        .collect()
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `d` shared out over `count` items.
fn per_item(d: Duration, count: usize) -> Duration {
    d / u32::try_from(count.max(1)).unwrap_or(u32::MAX)
}

fn report(label: &str, count: usize, mut times: Vec<Duration>) {
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = times[times.len() / 2];
    let per = per_item(median, count).as_nanos();
    println!(
        "| {label} | {count} | {:.1} ms | {:.1} – {:.1} ms | {per} ns |",
        ms(median),
        ms(times[0]),
        ms(times[times.len() - 1]),
    );
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn in_memory(runs: usize) -> (Vec<Want>, Vec<Prefix>) {
    let wants = hierarchy();
    let flat_wants = flat();
    println!("| run | allocations | median of {runs} | min – max | per allocation |");
    println!("|---|---:|---:|---:|---:|");
    let mut got = Vec::new();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut allocator = Allocator::new(pool());
        let started = Instant::now();
        got = serve(&mut allocator, &wants);
        times.push(started.elapsed());
    }
    check(&wants, &got);
    report(
        "hierarchy: city, 16 counties, 400 townships, 100,000 segments",
        wants.len(),
        times,
    );
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut allocator = Allocator::new(pool());
        let started = Instant::now();
        let flat_got = serve(&mut allocator, &flat_wants);
        times.push(started.elapsed());
        std::hint::black_box(flat_got);
    }
    report(
        "flat: 100,000 segments in the pool itself",
        flat_wants.len(),
        times,
    );
    let entries = ledger(&wants, &got);
    let (mut rebuild, mut again) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let copy = entries.clone();
        let started = Instant::now();
        let mut allocator = Allocator::from_ledger(pool(), copy, now())
            .unwrap_or_else(|e| panic!("the ledger is inconsistent: {e}"));
        rebuild.push(started.elapsed());
        let started = Instant::now();
        let same = serve(&mut allocator, &wants);
        again.push(started.elapsed());
        assert!(same == got, "a restart changed prefixes");
    }
    report("restart: rebuild from the ledger", entries.len(), rebuild);
    report("restart: every owner asks again", wants.len(), again);
    (wants, got)
}

fn new_row(want: &Want, prefix: Prefix) -> NewIpamAllocation {
    NewIpamAllocation {
        pool: "bench".to_owned(),
        prefix: prefix.to_string(),
        level: want.level.ledger(),
        owner_kind: want.owner.kind.clone(),
        owner_name: want.owner.name.clone(),
        allocated_at: now(),
    }
}

async fn open(dir: &std::path::Path, name: &str) -> Storage {
    let url = format!("sqlite://{}", dir.join(name).display());
    Storage::open(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"))
}

async fn on_sqlite(wants: &[Want], got: &[Prefix], count: usize) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"));
    let storage = open(dir.path(), "ipam.db").await;
    let rows: Vec<NewIpamAllocation> = wants
        .iter()
        .zip(got)
        .take(count)
        .map(|(w, p)| new_row(w, *p))
        .collect();
    let started = Instant::now();
    for row in &rows {
        if let Err(e) = storage.ipam().allocate(row).await {
            panic!("allocate {}: {e}", row.prefix);
        }
    }
    let each = started.elapsed();
    let started = Instant::now();
    let stored = storage
        .ipam()
        .list_in_use("bench", now())
        .await
        .unwrap_or_else(|e| panic!("list_in_use: {e}"));
    let listed = started.elapsed();
    let entries: Vec<LedgerEntry> = stored
        .iter()
        .map(|row| LedgerEntry::try_from(row).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let mut allocator = Allocator::from_ledger(pool(), entries, now())
        .unwrap_or_else(|e| panic!("the stored ledger is inconsistent: {e}"));
    let rebuilt = started.elapsed();
    let last = &wants[count - 1];
    let parent = last.parent.map_or(allocator.pool().prefix(), |i| got[i]);
    let request = Request {
        owner: &last.owner,
        level: last.level,
        parent,
    };
    assert_eq!(
        allocator.allocate(&request),
        Ok(Outcome::Existing(got[count - 1]))
    );
    let checked = open(dir.path(), "checked.db").await;
    let started = Instant::now();
    let recorded = checked
        .ipam()
        .allocate_all(&rows)
        .await
        .unwrap_or_else(|e| panic!("allocate_all: {e}"));
    let all_at_once = started.elapsed();
    assert_eq!(recorded.len(), count, "every row recorded");
    checked.close().await;
    let batch = open(dir.path(), "batch.db").await;
    let started = Instant::now();
    insert_in_one_transaction(&batch, &rows).await;
    let batched = started.elapsed();
    let per = |d: Duration| per_item(d, count).as_secs_f64() * 1e6;
    println!();
    println!("| SQLite (WAL, synchronous=NORMAL, temporary file) | rows | wall | per row |");
    println!("|---|---:|---:|---:|");
    let row = |label: &str, d: Duration| {
        println!(
            "| {label} | {count} | {:.2} s | {:.0} µs |",
            d.as_secs_f64(),
            per(d)
        );
    };
    row("`Storage::ipam().allocate`, one transaction each", each);
    row(
        "`Storage::ipam().allocate_all`, one checked transaction (a reconcile's pass)",
        all_at_once,
    );
    row("`list_in_use` (restart: read the ledger)", listed);
    row(
        "`list_in_use` + `from_ledger` (restart: allocator ready)",
        rebuilt,
    );
    row("plain INSERTs in one transaction (batching bound)", batched);
    storage.close().await;
    batch.close().await;
}

/// The rows inserted in one transaction, without the ledger's checks: the floor a batched
/// `allocate` could approach.
async fn insert_in_one_transaction(storage: &Storage, rows: &[NewIpamAllocation]) {
    let DbPool::Sqlite(pool) = storage.pool() else {
        panic!("the benchmark's database is SQLite");
    };
    let result = async {
        let mut tx = pool.begin().await?;
        for row in rows {
            sqlx::query(
                "INSERT INTO ipam_allocations \
                 (pool, prefix, level, owner_kind, owner_name, allocated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&row.pool)
            .bind(&row.prefix)
            .bind(row.level)
            .bind(&row.owner_kind)
            .bind(&row.owner_name)
            .bind(row.allocated_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }
    .await;
    if let Err(e) = result {
        panic!("batched insert: {e}");
    }
}

fn option(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} wants a number, not {v:?}"))
        })
}

fn main() {
    // `cargo bench` passes `--bench`; only our options are read.
    let args: Vec<String> = std::env::args().collect();
    let runs = option(&args, "--runs", 7).max(1);
    let sql = option(&args, "--sql", usize::MAX);
    println!(
        "ipam: pool 2001:db8::/40 (city /40, county /48, township /56, segment /64), {SEGMENTS} segments"
    );
    println!();
    let (wants, got) = in_memory(runs);
    println!();
    println!(
        "peak RSS after the in-memory runs {} KiB",
        peak_rss_kib().unwrap_or_default()
    );
    let count = sql.min(wants.len());
    if count > 0 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("no tokio runtime: {e}"));
        runtime.block_on(on_sqlite(&wants, &got, count));
    }
}
