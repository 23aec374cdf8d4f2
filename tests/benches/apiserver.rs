//! Benchmark of the embedded API server (`govcloud-apiserver`): seeding, listing and watching
//! custom resources at a scale a province's migration campaign reaches.
//!
//! One run measures, against one server:
//! 1. Seeding `--objects` (10,000) `SystemMigration` objects into one namespace with kube-rs
//!    `Api::create`, `--concurrency` (16) requests in flight.
//! 2. Listing them, `--runs` (5) times per way (after one warm-up that is not counted): kube-rs
//!    `Api::list` paginated by 500 as `kube::runtime::watcher` lists, and unpaginated; raw HTTP
//!    `GET`s as JSON and as a `meta.k8s.io/v1` `Table` (the server's own time, without client
//!    decoding); and the real `kubectl get` with `-o name`, `-o json` and the default table.
//! 3. `--watchers` (100) kube-rs `Api::watch` streams receiving `--updates` (1,000) status
//!    updates of distinct objects; every watcher must receive every update. The reference is
//!    the same updates written with no watch open.
//!
//! The server runs in a child process (this binary, re-executed with `--serve DIR`, which starts
//! the server exactly as the tests' `govcloud_tests::local::start_in` does), so that its
//! resident memory (`VmRSS`, and the peak `VmHWM` reset through `/proc/PID/clear_refs` before
//! each measurement) and CPU time (`/proc/PID/stat`) are the server's alone.
//!
//! Run with `cargo bench -p govcloud-tests --bench apiserver [-- --out FILE]`; see
//! `bench/README.md`.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{StreamExt as _, stream};
use govcloud_crds::SystemMigration;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, ResourceExt as _};
use serde_json::{Value, json};

/// The namespace holding the objects.
const NAMESPACE: &str = "bench";

/// The collection listed and watched.
const COLLECTION: &str = "/apis/govcloud.io/v1alpha1/namespaces/bench/systemmigrations";

/// The page size of kube-rs' `watcher` (and of kubectl's default `--chunk-size`).
const PAGE: u32 = 500;

/// The `Accept` header kubectl sends for `kubectl get` without `-o`.
const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

const USAGE: &str = "usage: apiserver [--out FILE] [--objects N] [--runs N] [--watchers N] [--updates N] [--concurrency N] [--namespaces N]";

/// The label selector of the selective list rows: one object in ten (`system` labels wave
/// `i % 10`).
const WAVE_SELECTOR: &str = "govcloud.io/wave=3";

/// Namespaces per tenant label in the namespace rows (`--namespaces`).
const NAMESPACES_PER_TENANT: u32 = 10;

/// What to measure.
#[derive(Debug)]
struct Options {
    objects: u32,
    runs: usize,
    watchers: u32,
    updates: u32,
    concurrency: usize,
    /// Labelled namespaces created for the tenant-selector row (0: none).
    namespaces: u32,
    out: Option<PathBuf>,
    serve: Option<PathBuf>,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Self {
        let mut options = Self {
            objects: 10_000,
            runs: 5,
            watchers: 100,
            updates: 1_000,
            concurrency: 16,
            namespaces: 0,
            out: None,
            serve: None,
        };
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next().unwrap_or_else(|| {
                    eprintln!("{arg} needs a value\n{USAGE}");
                    std::process::exit(2)
                })
            };
            match arg.as_str() {
                // `cargo bench` passes `--bench` to every benchmark binary.
                "--bench" => {}
                "--out" => options.out = Some(value().into()),
                "--serve" => options.serve = Some(value().into()),
                "--objects" => options.objects = number(&arg, &value()),
                "--runs" => options.runs = number(&arg, &value()),
                "--watchers" => options.watchers = number(&arg, &value()),
                "--updates" => options.updates = number(&arg, &value()),
                "--concurrency" => options.concurrency = number(&arg, &value()),
                "--namespaces" => options.namespaces = number(&arg, &value()),
                "--help" | "-h" => {
                    println!("{USAGE}");
                    std::process::exit(0)
                }
                other => {
                    eprintln!("unknown argument {other}\n{USAGE}");
                    std::process::exit(2)
                }
            }
        }
        assert!(
            options.updates <= options.objects,
            "--updates cannot exceed --objects (each update changes a distinct object)"
        );
        assert!(options.runs > 0 && options.concurrency > 0);
        options
    }
}

fn number<T: std::str::FromStr>(arg: &str, text: &str) -> T {
    text.parse().unwrap_or_else(|_| {
        eprintln!("{arg}: {text} is not a number\n{USAGE}");
        std::process::exit(2)
    })
}

fn main() {
    let options = Options::parse(std::env::args().skip(1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Some(dir) = &options.serve {
        runtime.block_on(serve(dir));
        return;
    }
    let report = runtime.block_on(run(&options));
    print!("{report}");
    if let Some(out) = &options.out {
        std::fs::write(out, &report).expect("write the --out file");
        eprintln!("wrote {}", out.display());
    }
}

/// The child: serves until its standard input closes.
async fn serve(dir: &Path) {
    let server = govcloud_tests::local::start_in(dir, "127.0.0.1:0").await;
    println!("ready {}", server.kubeconfig.display());
    std::io::stdout().flush().expect("flush stdout");
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
    server.shutdown().await;
}

/// The server in a child process, stopped (and its data directory removed) on drop.
struct ServerProcess {
    child: Child,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl ServerProcess {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(std::env::current_exe().expect("current exe"))
            .arg("--serve")
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the server's ready line");
        let kubeconfig = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the server did not start: {line:?}"))
            .into();
        Self {
            child,
            kubeconfig,
            dir,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of `/proc/PID/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the peak resident set size (`VmHWM`) to the current one.
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// User plus system CPU time of a process, all threads, in seconds.
fn cpu_seconds(pid: u32, ticks_per_second: f64) -> Option<f64> {
    // `utime` and `stime` are fields 14 and 15.
    process_ticks(&format!("/proc/{pid}/stat"), &[14, 15]).map(|t| f64::from(t) / ticks_per_second)
}

/// The sum of numbered fields (1-based, as `proc(5)` numbers them) of a `/proc/…/stat` file.
fn process_ticks(path: &str, fields: &[usize]) -> Option<u32> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The fields after the command name (which may contain spaces) start with field 3.
    let rest: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    fields
        .iter()
        .map(|&field| rest.get(field.checked_sub(3)?)?.parse::<u32>().ok())
        .sum()
}

/// CPU seconds the whole machine spent busy (all CPUs), from `/proc/stat`.
fn machine_busy_seconds(ticks_per_second: f64) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<u32> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    let busy: u32 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| cpu.get(i)).sum();
    Some(f64::from(busy) / ticks_per_second)
}

/// What the machine did besides this benchmark, over the run.
struct Background {
    ticks: f64,
    server: u32,
    busy: Option<f64>,
    ours: Option<f64>,
    load: String,
    started: Instant,
}

impl Background {
    /// CPU seconds of this process, the server and every child waited for (kubectl).
    fn ours(ticks: f64, server: u32) -> Option<f64> {
        Some(client_cpu_seconds(ticks)? + cpu_seconds(server, ticks)?)
    }

    fn start(ticks: f64, server: u32) -> Self {
        Self {
            ticks,
            server,
            busy: machine_busy_seconds(ticks),
            ours: Self::ours(ticks, server),
            load: load_average(),
            started: Instant::now(),
        }
    }

    /// A sentence on the other processes' CPU use and the load average.
    fn finish(self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let cpus = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .try_into()
            .map_or(1.0, |n: u32| f64::from(n));
        let others = machine_busy_seconds(self.ticks)
            .zip(self.busy)
            .zip(Self::ours(self.ticks, self.server).zip(self.ours))
            .map(|((busy, busy0), (ours, ours0))| (busy - busy0) - (ours - ours0));
        let others = others.map_or_else(
            || "unknown".to_owned(),
            |s| {
                format!(
                    "{:.0} CPU-seconds of {:.0} available ({:.0} %)",
                    s.max(0.0),
                    elapsed * cpus,
                    100.0 * s.max(0.0) / (elapsed * cpus)
                )
            },
        );
        format!(
            "run took {elapsed:.0} s; other processes used {others}; load average (1, 5, 15 min) \
             at start {}, at end {}",
            self.load,
            load_average()
        )
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn ticks_per_second() -> f64 {
    command_line("getconf", &["CLK_TCK"])
        .and_then(|t| t.parse::<u32>().ok())
        .map_or(100.0, f64::from)
}

/// The first line a command prints, if it runs.
fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .next()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
}

/// Server memory and CPU over a measurement.
struct Window {
    pid: u32,
    ticks: f64,
    peak_reset: bool,
    rss_before: Option<u64>,
    cpu_before: Option<f64>,
    client_cpu_before: Option<f64>,
}

/// What a [`Window`] saw.
#[derive(Clone, Copy)]
struct Usage {
    rss_before_kib: Option<u64>,
    rss_after_kib: Option<u64>,
    peak_kib: Option<u64>,
    cpu_seconds: Option<f64>,
    /// CPU of the clients: this process and the children it waited for (kubectl).
    client_cpu_seconds: Option<f64>,
}

/// CPU seconds of this process and of the children it has waited for.
fn client_cpu_seconds(ticks: f64) -> Option<f64> {
    process_ticks("/proc/self/stat", &[14, 15, 16, 17]).map(|t| f64::from(t) / ticks)
}

impl Window {
    fn open(pid: u32, ticks: f64) -> Self {
        let peak_reset = reset_peak(pid);
        Self {
            pid,
            ticks,
            peak_reset,
            rss_before: status_kib(pid, "VmRSS"),
            cpu_before: cpu_seconds(pid, ticks),
            client_cpu_before: client_cpu_seconds(ticks),
        }
    }

    fn close(self) -> Usage {
        Usage {
            rss_before_kib: self.rss_before,
            rss_after_kib: status_kib(self.pid, "VmRSS"),
            peak_kib: self
                .peak_reset
                .then(|| status_kib(self.pid, "VmHWM"))
                .flatten(),
            cpu_seconds: cpu_seconds(self.pid, self.ticks)
                .zip(self.cpu_before)
                .map(|(after, before)| after - before),
            client_cpu_seconds: client_cpu_seconds(self.ticks)
                .zip(self.client_cpu_before)
                .map(|(after, before)| after - before),
        }
    }
}

/// One run of one way of listing.
struct RunFacts {
    wall: Duration,
    /// Time to response headers summed over the run's requests (the server builds a whole
    /// response before sending headers, so this is server time plus loopback latency).
    server_time: Option<Duration>,
    requests: u32,
    bytes: usize,
    items: usize,
    /// Time to response headers of the first and of the last page, when paginated and timed.
    first_last_page: Option<(Duration, Duration)>,
}

/// A row of the list table.
struct Row {
    label: String,
    requests: Option<u32>,
    median: Duration,
    min: Duration,
    max: Duration,
    server_time: Option<Duration>,
    bytes: usize,
    runs: u32,
    usage: Usage,
    /// Medians over the runs of the server time of the first and of the last page.
    first_last_page: Option<(Duration, Duration)>,
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Runs `run` once to warm up, then `runs` times inside a [`Window`].
async fn measure(
    label: &str,
    options: &Options,
    server: &ServerProcess,
    ticks: f64,
    expected: usize,
    mut run: impl AsyncFnMut() -> RunFacts,
) -> Row {
    eprintln!("measuring: {label}");
    let warm = run().await;
    assert_eq!(warm.items, expected, "{label}: items listed (warm-up)");
    let window = Window::open(server.pid(), ticks);
    let mut facts = Vec::new();
    for _ in 0..options.runs {
        let f = run().await;
        assert_eq!(f.items, expected, "{label}: items listed");
        facts.push(f);
    }
    let usage = window.close();
    let server_times: Option<Vec<Duration>> = facts.iter().map(|f| f.server_time).collect();
    let walls: Vec<Duration> = facts.iter().map(|f| f.wall).collect();
    let pages: Option<Vec<(Duration, Duration)>> =
        facts.iter().map(|f| f.first_last_page).collect();
    let first_last_page = pages.map(|pages| {
        (
            median(pages.iter().map(|p| p.0).collect()),
            median(pages.iter().map(|p| p.1).collect()),
        )
    });
    Row {
        label: label.to_owned(),
        requests: Some(facts[0].requests),
        median: median(walls.clone()),
        min: walls.iter().copied().min().unwrap_or_default(),
        max: walls.iter().copied().max().unwrap_or_default(),
        server_time: server_times.map(median),
        bytes: facts[0].bytes,
        runs: u32::try_from(options.runs).unwrap_or(u32::MAX),
        usage,
        first_last_page,
    }
}

/// `kubectl` with the server's kubeconfig and a discovery cache of its own.
struct Kubectl {
    path: PathBuf,
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn find(server: &ServerProcess) -> Option<Self> {
        let path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("kubectl"))
                .find(|p| p.is_file())
        })?;
        Some(Self {
            path,
            kubeconfig: server.kubeconfig.clone(),
            cache: server.dir.path().join("kubectl-cache"),
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.path);
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args);
        command
    }

    /// Runs kubectl with `-v=6` and sums the times it logs for requests whose URL contains
    /// `url_part`; `count` says how many items the output shows.
    fn run(&self, args: &[&str], url_part: &str, count: fn(&[u8]) -> usize) -> RunFacts {
        let start = Instant::now();
        let output = self
            .command(args)
            .arg("-v=6")
            .output()
            .expect("run kubectl");
        let wall = start.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "kubectl {args:?} failed: {stderr}");
        let mut requests = 0;
        let mut server_time = Duration::ZERO;
        for line in stderr.lines().filter(|l| l.contains(url_part)) {
            if let Some(ms) = logged_milliseconds(line) {
                requests += 1;
                server_time += Duration::from_millis(ms);
            }
        }
        RunFacts {
            wall,
            server_time: (requests > 0).then_some(server_time),
            requests,
            bytes: output.stdout.len(),
            items: count(&output.stdout),
            first_last_page: None,
        }
    }
}

/// The milliseconds client-go's round tripper logs at `-v=6`, in either format:
/// `GET https://… 200 OK in 12 milliseconds` or `"Response" … milliseconds=12`.
fn logged_milliseconds(line: &str) -> Option<u64> {
    if let Some((_, rest)) = line.split_once("milliseconds=") {
        return rest
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok();
    }
    let (before, _) = line.split_once(" milliseconds")?;
    before.rsplit(' ').next()?.parse().ok()
}

fn count_lines(output: &[u8]) -> usize {
    String::from_utf8_lossy(output).lines().count()
}

fn count_table_rows(output: &[u8]) -> usize {
    count_lines(output).saturating_sub(1)
}

fn count_json_items(output: &[u8]) -> usize {
    serde_json::from_slice::<Value>(output)
        .ok()
        .and_then(|v| v.get("items").and_then(Value::as_array).map(Vec::len))
        .unwrap_or_default()
}

/// The part of a list response the raw client reads: items are skipped, not decoded.
#[derive(serde::Deserialize)]
struct ListHead {
    metadata: ListMeta,
    #[serde(default)]
    items: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    rows: Vec<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct ListMeta {
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

/// Raw `GET`s of the collection with `accept`, following `continue` when `page` is given.
async fn raw_list(client: &Client, accept: &str, page: Option<u32>) -> RunFacts {
    raw_list_of(client, COLLECTION, "", accept, page).await
}

/// Raw `GET`s of `collection` with the query `selection` (`labelSelector=…`, empty for none).
async fn raw_list_of(
    client: &Client,
    collection: &str,
    selection: &str,
    accept: &str,
    page: Option<u32>,
) -> RunFacts {
    let start = Instant::now();
    let mut server_time = Duration::ZERO;
    let (mut requests, mut bytes, mut items) = (0, 0, 0);
    let mut token: Option<String> = None;
    let mut page_times = Vec::new();
    loop {
        let mut uri = format!("{collection}?{selection}");
        if let Some(limit) = page {
            write!(uri, "&limit={limit}").expect("write");
            if let Some(token) = &token {
                write!(uri, "&continue={token}").expect("write");
            }
        }
        let request = http::Request::get(uri)
            .header(http::header::ACCEPT, accept)
            .body(kube::client::Body::from(Vec::new()))
            .expect("request");
        let sent = Instant::now();
        let response = client.send(request).await.expect("GET the collection");
        page_times.push(sent.elapsed());
        server_time += sent.elapsed();
        assert_eq!(response.status(), http::StatusCode::OK);
        let body = response.into_body().collect_bytes().await.expect("body");
        let head: ListHead = serde_json::from_slice(&body).expect("a list or a table");
        requests += 1;
        bytes += body.len();
        items += head.items.len() + head.rows.len();
        token = head.metadata.continue_token.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    RunFacts {
        wall: start.elapsed(),
        server_time: Some(server_time),
        requests,
        bytes,
        items,
        first_last_page: page.and_then(|_| Some((*page_times.first()?, *page_times.last()?))),
    }
}

/// kube-rs `Api::list`, decoded into `SystemMigration`s, following `continue` when `page`.
async fn kube_list(api: &Api<SystemMigration>, page: Option<u32>) -> RunFacts {
    let start = Instant::now();
    let mut params = ListParams::default();
    if let Some(limit) = page {
        params = params.limit(limit);
    }
    let (mut requests, mut items) = (0, 0);
    loop {
        let list = api.list(&params).await.expect("list");
        requests += 1;
        items += list.items.len();
        match list.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    RunFacts {
        wall: start.elapsed(),
        server_time: None,
        requests,
        bytes: 0,
        items,
        first_last_page: None,
    }
}

/// The `SystemMigration` number `i`: a realistic three-step runbook, about 1.5 KB of JSON.
fn system(i: u32) -> SystemMigration {
    let name = format!("system-{i:05}");
    serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "SystemMigration",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"govcloud.io/campaign": "bench", "govcloud.io/wave": (i % 10).to_string()},
        },
        "spec": {
            "displayName": format!("基准测试系统 {i}"),
            "classification": "Unclassified",
            "sensitivity": "Internal",
            "resources": {"cpu": "8", "memory": "32Gi", "storage": "1Ti"},
            "source": {"site": "市行政中心机房（3 楼）", "platform": "VirtualMachine", "hosts": 1 + i % 12, "maintainer": "示例软件有限公司"},
            "steps": [
                {
                    "name": "announce",
                    "run": {"type": "Manual", "manual": {"instructions": "在门户网站发布停机迁移公告（提前 3 个工作日），通知业务科室和服务对象；完成后确认。"}},
                    "rollback": {"type": "Manual", "manual": {"instructions": "发布恢复服务公告，撤下停机迁移公告。"}},
                },
                {
                    "name": "sync-database",
                    "pointOfNoReturn": true,
                    "run": {"type": "Job", "job": {
                        "image": "registry.example.org/migration/db-sync:2.4",
                        "args": ["--source-engine=oracle", "--target-engine=dameng", "--verify=rowcount,checksum"],
                        "env": [{"name": "SYSTEM", "value": name}, {"name": "PARALLELISM", "value": "4"}],
                        "secretEnvFrom": format!("{name}-db"),
                        "activeDeadlineSeconds": 14_400,
                        "backoffLimit": 1,
                    }},
                },
                {
                    "name": "deploy",
                    "run": {"type": "Webhook", "webhook": {
                        "url": format!("https://deploy.ankang.example.org/api/v1/releases/{name}"),
                        "statusUrl": format!("https://deploy.ankang.example.org/api/v1/releases/{name}/status"),
                        "credentialsSecret": "migration-tool-token",
                        "timeoutSeconds": 60,
                        "pollIntervalSeconds": 30,
                        "retries": 3,
                    }},
                },
            ],
        },
    }))
    .expect("a valid SystemMigration")
}

/// Figures of the seeding.
struct Seeding {
    objects: u32,
    concurrency: usize,
    wall: Duration,
    object_bytes: usize,
    usage: Usage,
}

async fn seed(client: &Client, options: &Options, server: &ServerProcess, ticks: f64) -> Seeding {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace =
        serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).expect("namespace");
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .expect("create the namespace");
    let api: Api<SystemMigration> = Api::namespaced(client.clone(), NAMESPACE);
    eprintln!("seeding {} objects", options.objects);
    let window = Window::open(server.pid(), ticks);
    let start = Instant::now();
    stream::iter(0..options.objects)
        .map(|i| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &system(i))
                    .await
                    .unwrap_or_else(|e| panic!("create system {i}: {e}"));
            }
        })
        .buffer_unordered(options.concurrency)
        .collect::<Vec<()>>()
        .await;
    let wall = start.elapsed();
    let usage = window.close();
    Seeding {
        objects: options.objects,
        concurrency: options.concurrency,
        wall,
        object_bytes: serde_json::to_vec(&system(0)).expect("json").len(),
        usage,
    }
}

/// A `kubectl get` measured: label, arguments after `get systemmigrations -n bench`, and how
/// to count the objects in its output.
type KubectlRow = (&'static str, &'static [&'static str], fn(&[u8]) -> usize);

/// All the list rows.
#[allow(clippy::too_many_lines)] // one row per way of listing, in the order printed
async fn lists(
    client: &Client,
    options: &Options,
    server: &ServerProcess,
    ticks: f64,
) -> (Vec<Row>, Vec<String>) {
    let api: Api<SystemMigration> = Api::namespaced(client.clone(), NAMESPACE);
    let n = usize::try_from(options.objects).expect("objects");
    let mut rows = vec![
        measure(
            "kube-rs `Api::list`, pages of 500 (as `watcher`)",
            options,
            server,
            ticks,
            n,
            async || kube_list(&api, Some(PAGE)).await,
        )
        .await,
        measure(
            "kube-rs `Api::list`, one request",
            options,
            server,
            ticks,
            n,
            async || kube_list(&api, None).await,
        )
        .await,
        measure(
            "raw GET, JSON, pages of 500",
            options,
            server,
            ticks,
            n,
            async || raw_list(client, "application/json", Some(PAGE)).await,
        )
        .await,
        measure(
            "raw GET, JSON, one request",
            options,
            server,
            ticks,
            n,
            async || raw_list(client, "application/json", None).await,
        )
        .await,
        measure(
            "raw GET, Table, one request",
            options,
            server,
            ticks,
            n,
            async || raw_list(client, TABLE_ACCEPT, None).await,
        )
        .await,
    ];
    let selected = (0..options.objects).filter(|i| i % 10 == 3).count();
    let wave = format!("labelSelector={}", WAVE_SELECTOR.replace('=', "%3D"));
    rows.push(
        measure(
            &format!("raw GET, JSON, `{WAVE_SELECTOR}` (one in ten), one request"),
            options,
            server,
            ticks,
            selected,
            async || raw_list_of(client, COLLECTION, &wave, "application/json", None).await,
        )
        .await,
    );
    rows.push(
        measure(
            "raw GET, JSON, `metadata.name=system-00003` (field selector), one request",
            options,
            server,
            ticks,
            1,
            async || {
                raw_list_of(
                    client,
                    COLLECTION,
                    "fieldSelector=metadata.name%3Dsystem-00003",
                    "application/json",
                    None,
                )
                .await
            },
        )
        .await,
    );
    if options.namespaces > 0 {
        rows.push(
            measure(
                &format!(
                    "raw GET, JSON, namespaces `govcloud.io/tenant=tenant-3` ({} of {} namespaces), one request",
                    NAMESPACES_PER_TENANT,
                    options.namespaces + 1
                ),
                options,
                server,
                ticks,
                usize::try_from(NAMESPACES_PER_TENANT).expect("count"),
                async || {
                    raw_list_of(
                        client,
                        "/api/v1/namespaces",
                        "labelSelector=govcloud.io/tenant%3Dtenant-3",
                        "application/json",
                        None,
                    )
                    .await
                },
            )
            .await,
        );
    }
    let mut skipped = Vec::new();
    let kubectl_rows: [KubectlRow; 6] = [
        ("`kubectl get sysm -o name`", &["-o", "name"], count_lines),
        (
            "`kubectl get sysm -o json`",
            &["-o", "json"],
            count_json_items,
        ),
        ("`kubectl get sysm` (Table)", &[], count_table_rows),
        (
            "`kubectl get sysm -o json --chunk-size=0`",
            &["-o", "json", "--chunk-size=0"],
            count_json_items,
        ),
        ("`kubectl get sysm -A` (Table)", &["-A"], count_table_rows),
        (
            "`kubectl get sysm -A -o json`",
            &["-A", "-o", "json"],
            count_json_items,
        ),
    ];
    match Kubectl::find(server) {
        Some(kubectl) => {
            for (label, extra, count) in kubectl_rows {
                let mut args = vec!["get", "systemmigrations", "-n", NAMESPACE];
                args.extend_from_slice(extra);
                rows.push(
                    measure(label, options, server, ticks, n, async || {
                        kubectl.run(&args, "/systemmigrations", count)
                    })
                    .await,
                );
            }
            let fixed = |_: &[u8]| 1;
            let mut one = measure(
                "`kubectl get namespace bench -o name` (kubectl's fixed cost)",
                options,
                server,
                ticks,
                1,
                async || {
                    kubectl.run(
                        &["get", "namespace", NAMESPACE, "-o", "name"],
                        "/namespaces/bench",
                        fixed,
                    )
                },
            )
            .await;
            one.requests = Some(1);
            rows.push(one);
        }
        None => skipped.extend(kubectl_rows.iter().map(|(label, _, _)| (*label).to_owned())),
    }
    (rows, skipped)
}

/// Figures of the watch fan-out.
struct Fanout {
    watchers: u32,
    updates: u32,
    concurrency: usize,
    /// The same number of updates with no watch open: time and server usage.
    reference: (Duration, Usage),
    written: Duration,
    first_done: Duration,
    median_done: Duration,
    last_done: Duration,
    usage: Usage,
}

/// Status merge patches of objects `0..count`, `in_flight` at a time; each changes the status.
async fn write_updates(api: &Api<SystemMigration>, count: u32, in_flight: usize, tag: &str) {
    stream::iter(0..count)
        .map(|i| {
            let api = api.clone();
            let patch =
                json!({"status": {"phase": "Assessed", "reason": format!("{tag} update {i}")}});
            async move {
                api.patch_status(
                    &format!("system-{i:05}"),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .unwrap_or_else(|e| panic!("update {i}: {e}"));
            }
        })
        .buffer_unordered(in_flight)
        .collect::<Vec<()>>()
        .await;
}

async fn watch_fan_out(
    client: &Client,
    options: &Options,
    server: &ServerProcess,
    ticks: f64,
) -> Fanout {
    let api: Api<SystemMigration> = Api::namespaced(client.clone(), NAMESPACE);
    let expected = options.updates;
    let in_flight = options.concurrency.min(8);
    eprintln!("writing {expected} updates with no watcher (reference)");
    let window = Window::open(server.pid(), ticks);
    let start = Instant::now();
    write_updates(&api, expected, in_flight, "reference").await;
    let reference = (start.elapsed(), window.close());
    let version = api
        .list(&ListParams::default().limit(1))
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("list resourceVersion");
    eprintln!(
        "opening {} watches from resourceVersion {version}",
        options.watchers
    );
    let params = WatchParams::default().timeout(290).disable_bookmarks();
    let streams = stream::iter(0..options.watchers)
        .map(|_| {
            let (api, params, version) = (api.clone(), params.clone(), version.clone());
            async move { api.watch(&params, &version).await.expect("watch").boxed() }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let watchers: Vec<_> = streams
        .into_iter()
        .map(|mut events| {
            tokio::spawn(async move {
                let (mut count, mut names) = (0_u32, HashSet::new());
                while count < expected {
                    match events.next().await {
                        Some(Ok(WatchEvent::Modified(object))) => {
                            count += 1;
                            names.insert(object.name_any());
                        }
                        Some(Ok(WatchEvent::Bookmark(_))) => {}
                        Some(Ok(other)) => panic!("unexpected watch event {other:?}"),
                        Some(Err(error)) => panic!("watch failed after {count} events: {error}"),
                        None => panic!("watch ended after {count} of {expected} events"),
                    }
                }
                (count, names.len(), Instant::now())
            })
        })
        .collect();
    eprintln!("writing {expected} updates");
    let window = Window::open(server.pid(), ticks);
    let start = Instant::now();
    write_updates(&api, expected, in_flight, "benchmark").await;
    let written = start.elapsed();
    let all = tokio::time::timeout(
        Duration::from_secs(300),
        futures::future::join_all(watchers),
    )
    .await
    .expect("every watcher receives every update within 300 s");
    let usage = window.close();
    let mut done = Vec::new();
    for result in all {
        let (count, distinct, at) = result.expect("watcher task");
        assert_eq!(count, expected, "events received by a watcher");
        assert_eq!(
            distinct,
            usize::try_from(expected).expect("updates"),
            "objects seen by a watcher"
        );
        done.push(at.duration_since(start));
    }
    Fanout {
        watchers: options.watchers,
        updates: expected,
        concurrency: in_flight,
        reference,
        written,
        first_done: done.iter().copied().min().unwrap_or_default(),
        median_done: median(done.clone()),
        last_done: done.iter().copied().max().unwrap_or_default(),
        usage,
    }
}

async fn client_of(server: &ServerProcess) -> Client {
    let kubeconfig = Kubeconfig::read_from(&server.kubeconfig).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("client config");
    Client::try_from(config).expect("client")
}

async fn run(options: &Options) -> String {
    let ticks = ticks_per_second();
    let server = ServerProcess::start();
    let client = client_of(&server).await;
    govcloud_controller::local::install(&client)
        .await
        .expect("install the CRDs");
    let background = Background::start(ticks, server.pid());
    let idle = status_kib(server.pid(), "VmRSS");
    let seeding = seed(&client, options, &server, ticks).await;
    let seeded_storage = Storage::of(&server);
    seed_namespaces(&client, options).await;
    let (rows, skipped) = lists(&client, options, &server, ticks).await;
    let fanout = watch_fan_out(&client, options, &server, ticks).await;
    let final_storage = Storage::of(&server);
    let background = background.finish();
    let mut out = String::new();
    write_machine(&mut out, &server, &background);
    write_seeding(&mut out, &seeding, idle);
    write_lists(&mut out, options, &rows, &skipped);
    write_fanout(&mut out, &fanout);
    write_storage(
        &mut out,
        &[
            ("after seeding", options.objects, seeded_storage),
            (
                "after the lists and the fan-out's updates",
                options.objects + options.namespaces,
                final_storage,
            ),
        ],
    );
    out
}

/// `--namespaces` namespaces labelled `govcloud.io/tenant=tenant-N`, [`NAMESPACES_PER_TENANT`]
/// per tenant, as tenant reconcilers select them.
async fn seed_namespaces(client: &Client, options: &Options) {
    if options.namespaces == 0 {
        return;
    }
    eprintln!("creating {} labelled namespaces", options.namespaces);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    stream::iter(0..options.namespaces)
        .map(|i| {
            let namespaces = namespaces.clone();
            let namespace: Namespace = serde_json::from_value(json!({"metadata": {
                "name": format!("tenant-{}-ns-{i:06}", i / NAMESPACES_PER_TENANT),
                "labels": {"govcloud.io/tenant": format!("tenant-{}", i / NAMESPACES_PER_TENANT)},
            }}))
            .expect("namespace");
            async move {
                namespaces
                    .create(&PostParams::default(), &namespace)
                    .await
                    .unwrap_or_else(|e| panic!("create namespace {i}: {e}"));
            }
        })
        .buffer_unordered(options.concurrency)
        .collect::<Vec<()>>()
        .await;
}

/// Sizes of the server's SQLite files.
#[derive(Clone, Copy)]
struct Storage {
    database: u64,
    wal: u64,
}

impl Storage {
    fn of(server: &ServerProcess) -> Self {
        let size =
            |name: &str| std::fs::metadata(server.dir.path().join(name)).map_or(0, |m| m.len());
        Self {
            database: size("state.db"),
            wal: size("state.db-wal"),
        }
    }
}

fn write_storage(out: &mut String, storage: &[(&str, u32, Storage)]) {
    let _ = writeln!(
        out,
        "\n### Storage\n\n\
         Sizes of the server's `state.db` and `state.db-wal` files, divided by the objects \
         created by the benchmark (CRDs and system namespaces not counted).\n\n\
         | when | objects | state.db | WAL | bytes per object (both) |\n|---|---:|---:|---:|---:|"
    );
    for (when, objects, sizes) in storage {
        let _ = writeln!(
            out,
            "| {when} | {objects} | {} | {} | {} |",
            megabytes(usize::try_from(sizes.database).unwrap_or(usize::MAX)),
            megabytes(usize::try_from(sizes.wal).unwrap_or(usize::MAX)),
            (sizes.database + sizes.wal) / u64::from(*objects).max(1),
        );
    }
}

fn ms(duration: Duration) -> String {
    let millis = duration.as_secs_f64() * 1000.0;
    if millis < 100.0 {
        format!("{millis:.1} ms")
    } else {
        format!("{millis:.0} ms")
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".to_owned(),
        |kib| format!("{}.{} MiB", kib / 1024, (kib % 1024) * 10 / 1024),
    )
}

fn megabytes(bytes: usize) -> String {
    if bytes == 0 {
        return "—".to_owned();
    }
    if bytes < 1_000_000 {
        return format!("{}.{} kB", bytes / 1_000, (bytes % 1_000) / 100);
    }
    format!(
        "{}.{:02} MB",
        bytes / 1_000_000,
        (bytes % 1_000_000) / 10_000
    )
}

fn cpu(usage: &Usage, runs: u32) -> String {
    per_run(usage.cpu_seconds, runs)
}

fn client_cpu(usage: &Usage, runs: u32) -> String {
    per_run(usage.client_cpu_seconds, runs)
}

fn per_run(seconds: Option<f64>, runs: u32) -> String {
    seconds.map_or_else(
        || "n/a".to_owned(),
        |s| format!("{:.0} ms", s * 1000.0 / f64::from(runs.max(1))),
    )
}

fn rate(count: u32, duration: Duration) -> String {
    format!("{:.0}", f64::from(count) / duration.as_secs_f64())
}

fn write_machine(out: &mut String, server: &ServerProcess, background: &str) {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .map_or("unknown", |l| l.trim_start_matches("MemTotal:").trim());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown", |(_, m)| m.trim());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let kubectl = Kubectl::find(server).map_or_else(
        || "not found".to_owned(),
        |k| {
            let output = k.command(&["version"]).output().ok();
            output.map_or_else(
                || "did not run".to_owned(),
                |o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .filter(|l| !l.starts_with("Kustomize"))
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            )
        },
    );
    let unknown = || "unknown".to_owned();
    let _ = writeln!(
        out,
        "## govcloud-apiserver benchmark\n\n\
         - date: {}\n- machine: {} CPUs ({model}), {memory} memory, Linux {}\n\
         - rustc: {}\n- kubectl: {kubectl}\n- {background}\n\
         - server: a child process of the benchmark (`--serve`, the tests' `start_in`), SQLite \
         in a temporary directory; RSS from `/proc/PID/status` (peak = `VmHWM` after a reset \
         through `/proc/PID/clear_refs`), CPU from `/proc/PID/stat`\n",
        command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(unknown),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        kernel.trim(),
        command_line("rustc", &["--version"]).unwrap_or_else(unknown),
    );
}

fn write_seeding(out: &mut String, seeding: &Seeding, idle: Option<u64>) {
    let _ = writeln!(
        out,
        "### Seeding\n\n\
         | objects | in flight | wall | objects/s | object size | server CPU | client CPU | server RSS idle → after | server peak RSS |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | {} | {} | {} | {} | {} B | {} | {} | {} → {} | {} |\n",
        seeding.objects,
        seeding.concurrency,
        ms(seeding.wall),
        rate(seeding.objects, seeding.wall),
        seeding.object_bytes,
        cpu(&seeding.usage, 1),
        client_cpu(&seeding.usage, 1),
        mib(idle),
        mib(seeding.usage.rss_after_kib),
        mib(seeding.usage.peak_kib),
    );
}

fn write_lists(out: &mut String, options: &Options, rows: &[Row], skipped: &[String]) {
    let _ = writeln!(
        out,
        "### Listing {} SystemMigrations in one namespace (median of {} runs after a warm-up)\n\n\
         Server time: time to response headers summed over the requests (kubectl: as it logs \
         them at `-v=6`); the server builds a whole response before sending headers. Client \
         CPU: the benchmark process, and kubectl for its rows.\n\n\
         | how | requests | wall median | min – max | server time | response | server CPU / list | client CPU / list | server RSS before → peak |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|",
        options.objects, options.runs,
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} – {} | {} | {} | {} | {} | {} → {} |",
            row.label,
            row.requests
                .map_or_else(|| "—".to_owned(), |r| r.to_string()),
            ms(row.median),
            ms(row.min),
            ms(row.max),
            row.server_time.map_or_else(|| "—".to_owned(), ms),
            megabytes(row.bytes),
            cpu(&row.usage, row.runs),
            client_cpu(&row.usage, row.runs),
            mib(row.usage.rss_before_kib),
            mib(row.usage.peak_kib),
        );
    }
    for label in skipped {
        let _ = writeln!(
            out,
            "| {label} | skipped (kubectl not found) | | | | | | | |"
        );
    }
    out.push('\n');
    for row in rows {
        if let Some((first, last)) = row.first_last_page {
            let _ = writeln!(
                out,
                "{}: server time of the first page {}, of the last page {} (medians).\n",
                row.label,
                ms(first),
                ms(last)
            );
        }
    }
}

fn write_fanout(out: &mut String, fanout: &Fanout) {
    let events = fanout.watchers * fanout.updates;
    let (reference, reference_usage) = &fanout.reference;
    let _ = writeln!(
        out,
        "### Watch fan-out\n\n\
         {} kube-rs `Api::watch` streams (typed `SystemMigration`, one connection each) from \
         the current resourceVersion; {} status merge patches of distinct objects, {} in flight; \
         every watcher received exactly {} `MODIFIED` events, one per object. Times from the \
         first update sent. Reference: the same updates with no watch open, just before.\n\n\
         | watchers | updates | updates written in | updates/s | first / median / last watcher complete | events delivered | events/s | server CPU | client CPU | server RSS before → peak |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | 0 (reference) | {} | {} | {} | — | — | — | {} | {} | {} → {} |\n\
         | {} | {} | {} | {} | {} / {} / {} | {} | {} | {} | {} | {} → {} |",
        fanout.watchers,
        fanout.updates,
        fanout.concurrency,
        fanout.updates,
        fanout.updates,
        ms(*reference),
        rate(fanout.updates, *reference),
        cpu(reference_usage, 1),
        client_cpu(reference_usage, 1),
        mib(reference_usage.rss_before_kib),
        mib(reference_usage.peak_kib),
        fanout.watchers,
        fanout.updates,
        ms(fanout.written),
        rate(fanout.updates, fanout.written),
        ms(fanout.first_done),
        ms(fanout.median_done),
        ms(fanout.last_done),
        events,
        rate(events, fanout.last_done),
        cpu(&fanout.usage, 1),
        client_cpu(&fanout.usage, 1),
        mib(fanout.usage.rss_before_kib),
        mib(fanout.usage.peak_kib),
    );
}
