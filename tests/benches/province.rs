//! Benchmark of a whole province in local mode: `--cities` generated cities
//! (`govcloud_tests::province`) applied to the release `govcloud-controller local`, run as a
//! child process, two ways — `kubectl apply --server-side -f DIR` against a running local mode,
//! and local mode's own seed path (`local --seed DIR`) — measuring for each city count:
//!
//! - apply throughput (objects/s) and the time to local mode's ready line;
//! - convergence: from the start of the apply until every object of a reconciled kind has a
//!   current `status.observedGeneration` and no govcloud object changed for `--settle` seconds,
//!   detected with one kube-rs watch per govcloud kind (never by listing in a loop);
//! - the controller's peak RSS (`VmHWM`) and CPU time (`/proc/PID/stat`), and the size of its
//!   data directory (the API server's and the controller's SQLite databases, certificates,
//!   kubeconfig);
//! - after convergence (kubectl run): CPU-seconds per minute over `--steady` seconds, and list
//!   latency (median of 3) of `kubectl get systemmigrations -A` as a table and as JSON, and of
//!   kube-rs `Api::list`.
//!
//! Build the controller first (`cargo build --release -p govcloud-controller`), then run
//! `cargo bench -p govcloud-tests --bench province [-- --cities 1,3,10 --out FILE]`; see
//! `bench/README.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use govcloud_crds::SystemMigration;
use govcloud_tests::province::{CitySize, Province, ProvinceSpec, generate};
use govcloud_tests::workspace_root;
use kube::api::{Api, DynamicObject, GroupVersionKind, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Client, Config, ResourceExt as _};
use serde_json::Value;

const USAGE: &str = "usage: province [--cities 1,3,10] [--size large|small] [--seed N] \
                     [--settle SECS] [--steady SECS] [--controller BIN] [--timeout SECS] [--out FILE]";

/// The govcloud kinds, each watched.
const KINDS: &[&str] = &[
    "Tenant",
    "QuotaRequest",
    "Router",
    "ExtranetLink",
    "AddressPool",
    "DedicatedNetwork",
    "SystemMigration",
    "MigrationPlan",
    "QuotaReview",
    "DisasterRecoveryPlan",
    "DisasterRecoveryDrill",
    "ProvincialReporting",
];

/// What to measure.
#[derive(Debug)]
struct Options {
    cities: Vec<usize>,
    size: CitySize,
    size_name: String,
    seed: u64,
    settle: Duration,
    steady: Duration,
    timeout: Duration,
    controller: PathBuf,
    out: Option<PathBuf>,
}

fn usage_error(message: &str) -> ! {
    eprintln!("{message}\n{USAGE}");
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(arg: &str, text: &str) -> T {
    text.parse()
        .unwrap_or_else(|_| usage_error(&format!("{arg}: {text} is not a number")))
}

/// The release controller under `CARGO_TARGET_DIR`, else the workspace's `target/`.
fn default_controller() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    target.join("release/govcloud-controller")
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Self {
        let mut options = Self {
            cities: vec![1, 3, 10],
            size: CitySize::large(),
            size_name: "large".to_owned(),
            seed: 1,
            settle: Duration::from_secs(30),
            steady: Duration::from_secs(120),
            timeout: Duration::from_secs(3600),
            controller: default_controller(),
            out: None,
        };
        while let Some(arg) = args.next() {
            if arg == "--bench" {
                continue;
            }
            let mut value = || {
                args.next()
                    .unwrap_or_else(|| usage_error(&format!("{arg} needs a value")))
            };
            match arg.as_str() {
                "--cities" => {
                    let list = value();
                    options.cities = list.split(',').map(|n| number(&arg, n.trim())).collect();
                }
                "--size" => match value().as_str() {
                    "large" => {
                        (options.size, options.size_name) = (CitySize::large(), "large".to_owned());
                    }
                    "small" => {
                        (options.size, options.size_name) = (CitySize::small(), "small".to_owned());
                    }
                    other => usage_error(&format!("--size: {other} is neither large nor small")),
                },
                "--seed" => options.seed = number(&arg, &value()),
                "--settle" => options.settle = Duration::from_secs(number(&arg, &value())),
                "--steady" => options.steady = Duration::from_secs(number(&arg, &value())),
                "--timeout" => options.timeout = Duration::from_secs(number(&arg, &value())),
                "--controller" => options.controller = PathBuf::from(value()),
                "--out" => options.out = Some(PathBuf::from(value())),
                other => usage_error(&format!("unknown argument {other}")),
            }
        }
        for &cities in &options.cities {
            let spec = ProvinceSpec {
                seed: options.seed,
                cities,
                city: options.size.clone(),
            };
            if let Err(error) = spec.validate() {
                usage_error(&format!("--cities {cities}: {error}"));
            }
        }
        if !options.controller.is_file() {
            usage_error(&format!(
                "no controller at {} (build it with `cargo build --release -p govcloud-controller`, \
                 or pass --controller BIN)",
                options.controller.display()
            ));
        }
        options
    }
}

fn main() {
    let options = Options::parse(std::env::args().skip(1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let report = runtime.block_on(run(&options));
    print!("{report}");
    if let Some(out) = &options.out {
        std::fs::write(out, &report).expect("write the --out file");
        eprintln!("wrote {}", out.display());
    }
}

// ---------------------------------------------------------------------------------------------
// The machine and the processes: /proc.

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

/// A field of `/proc/PID/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The sum of numbered fields (1-based, as `proc(5)` numbers them) of a `/proc/…/stat` file.
fn process_ticks(path: &str, fields: &[usize]) -> Option<u64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The fields after the command name (which may contain spaces) start with field 3.
    let rest: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    fields
        .iter()
        .map(|&field| rest.get(field.checked_sub(3)?)?.parse::<u64>().ok())
        .sum()
}

#[allow(clippy::cast_precision_loss)]
fn ticks_to_seconds(ticks: u64, per_second: f64) -> f64 {
    ticks as f64 / per_second
}

/// User plus system CPU time of a process, all threads (`utime` + `stime`), in seconds.
fn cpu_seconds(pid: u32, ticks: f64) -> Option<f64> {
    process_ticks(&format!("/proc/{pid}/stat"), &[14, 15]).map(|t| ticks_to_seconds(t, ticks))
}

/// CPU of this process and of the children it reaped (the controllers, kubectl).
fn own_cpu_seconds(ticks: f64) -> Option<f64> {
    process_ticks("/proc/self/stat", &[14, 15, 16, 17]).map(|t| ticks_to_seconds(t, ticks))
}

/// CPU seconds the whole machine spent busy (all CPUs), from `/proc/stat`.
fn machine_busy_seconds(ticks: f64) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    let busy: u64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| cpu.get(i)).sum();
    Some(ticks_to_seconds(busy, ticks))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// What the machine did besides this benchmark over the whole run (started with no child).
struct Background {
    ticks: f64,
    busy: Option<f64>,
    ours: Option<f64>,
    load: String,
    started: Instant,
}

impl Background {
    fn start(ticks: f64) -> Self {
        Self {
            ticks,
            busy: machine_busy_seconds(ticks),
            ours: own_cpu_seconds(ticks),
            load: load_average(),
            started: Instant::now(),
        }
    }

    /// A sentence on the other processes' CPU use and the load average; call with every child
    /// reaped, so that their CPU counts as ours.
    fn finish(self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let available = elapsed * cpus() as f64;
        let others = machine_busy_seconds(self.ticks)
            .zip(self.busy)
            .zip(own_cpu_seconds(self.ticks).zip(self.ours))
            .map(|((busy, busy0), (ours, ours0))| ((busy - busy0) - (ours - ours0)).max(0.0));
        let others = others.map_or_else(
            || "unknown".to_owned(),
            |s| {
                format!(
                    "{s:.0} CPU-seconds of {available:.0} available ({:.0} %)",
                    100.0 * s / available
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

/// Bytes of every file under `dir`.
fn directory_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => directory_bytes(&entry.path()),
            Ok(_) => entry.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// Bytes of the SQLite files (`*.db`, `*.db-wal`, `*.db-shm`, `*.sqlite*`) under `dir`, by name.
fn sqlite_files(dir: &Path, base: &Path, out: &mut BTreeMap<String, u64>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sqlite_files(&path, base, out);
            continue;
        }
        let name = path
            .strip_prefix(base)
            .unwrap_or(&path)
            .display()
            .to_string();
        if name.contains(".db") || name.contains(".sqlite") {
            out.insert(name, entry.metadata().map_or(0, |m| m.len()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The controller: `govcloud-controller local` as a child process.

struct Controller {
    child: Child,
    pid: u32,
    kubeconfig: PathBuf,
    data_dir: PathBuf,
    /// From the spawn to the ready line.
    ready_after: Duration,
    spawned: Instant,
}

impl Controller {
    /// Starts local mode in `work/data`, logging into `work/controller.log`, and waits for its
    /// ready line.
    fn start(binary: &Path, work: &Path, seed: Option<&Path>) -> Self {
        let data_dir = work.join("data");
        let log = File::create(work.join("controller.log")).expect("create the controller log");
        let mut command = Command::new(binary);
        command
            .args(["local", "--data-dir"])
            .arg(&data_dir)
            .args([
                "--api-address",
                "127.0.0.1:0",
                "--controller-api-address",
                "127.0.0.1:0",
                "--metrics-address",
                "127.0.0.1:0",
                "--agent-api-address",
                "127.0.0.1:0",
                "--operations-tenant",
                "c01",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        if let Some(seed) = seed {
            command.arg("--seed").arg(seed);
        }
        let spawned = Instant::now();
        let mut child = command.spawn().expect("start govcloud-controller local");
        let pid = child.id();
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let Some(Ok(ready)) = lines.next() else {
            let log = std::fs::read_to_string(work.join("controller.log")).unwrap_or_default();
            panic!("local mode exited before its ready line:\n{log}");
        };
        let ready_after = spawned.elapsed();
        assert!(ready.starts_with("govcloud local mode ready:"), "{ready}");
        let words: Vec<&str> = ready.split_whitespace().collect();
        let kubeconfig = words
            .iter()
            .position(|w| *w == "kubeconfig")
            .and_then(|at| words.get(at + 1))
            .map(PathBuf::from)
            .expect("the kubeconfig in the ready line");
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            pid,
            kubeconfig,
            data_dir,
            ready_after,
            spawned,
        }
    }

    async fn client(&self) -> Client {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .expect("client config");
        Client::try_from(config).expect("client")
    }

    fn cpu(&self, ticks: f64) -> Option<f64> {
        cpu_seconds(self.pid, ticks)
    }

    /// Stops it with SIGTERM (SIGKILL after 20 s) and reaps it.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Convergence: one watch per govcloud kind, into one table of what each object last showed.

#[derive(Debug, PartialEq)]
struct Seen {
    generation: Option<i64>,
    observed: Option<i64>,
    status: Value,
}

#[derive(Debug)]
struct Tracker {
    objects: BTreeMap<(String, String, String), Seen>,
    synced: BTreeMap<String, bool>,
    last_change: Instant,
    changes: u64,
}

impl Tracker {
    fn record(&mut self, kind: &str, object: &DynamicObject) {
        let key = (
            kind.to_owned(),
            object.namespace().unwrap_or_default(),
            object.name_any(),
        );
        let status = object.data.get("status").cloned().unwrap_or(Value::Null);
        let seen = Seen {
            generation: object.metadata.generation,
            observed: status.get("observedGeneration").and_then(Value::as_i64),
            status,
        };
        if self.objects.get(&key) != Some(&seen) {
            self.objects.insert(key, seen);
            self.last_change = Instant::now();
            self.changes += 1;
        }
    }

    /// Why the cluster has not converged yet, or `None`.
    fn unconverged(
        &self,
        expected: &BTreeMap<String, usize>,
        reconciled: &[&str],
    ) -> Option<String> {
        if let Some((kind, _)) = self.synced.iter().find(|(_, synced)| !**synced) {
            return Some(format!("the {kind} watch has not listed yet"));
        }
        for (kind, &count) in expected {
            let present = self.objects.keys().filter(|(k, _, _)| k == kind).count();
            if present < count {
                return Some(format!("{present} of {count} {kind} objects"));
            }
        }
        let behind = self
            .objects
            .iter()
            .filter(|((kind, _, _), seen)| {
                reconciled.contains(&kind.as_str()) && seen.observed != seen.generation
            })
            .count();
        if behind > 0 {
            let first = self
                .objects
                .iter()
                .find(|((kind, _, _), seen)| {
                    reconciled.contains(&kind.as_str()) && seen.observed != seen.generation
                })
                .map(|((kind, namespace, name), _)| format!("{kind} {namespace}/{name}"))
                .unwrap_or_default();
            return Some(format!(
                "{behind} objects not observed at their generation (e.g. {first})"
            ));
        }
        None
    }
}

/// Watches every govcloud kind into a shared tracker.
async fn watch_all(client: &Client) -> (Arc<Mutex<Tracker>>, Vec<tokio::task::JoinHandle<()>>) {
    let tracker = Arc::new(Mutex::new(Tracker {
        objects: BTreeMap::new(),
        synced: KINDS.iter().map(|k| ((*k).to_owned(), false)).collect(),
        last_change: Instant::now(),
        changes: 0,
    }));
    let mut tasks = Vec::new();
    for kind in KINDS {
        let gvk = GroupVersionKind::gvk("govcloud.io", "v1alpha1", kind);
        let (resource, _) = kube::discovery::pinned_kind(client, &gvk)
            .await
            .unwrap_or_else(|error| panic!("discover {kind}: {error}"));
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let tracker = tracker.clone();
        tasks.push(tokio::spawn(async move {
            let mut events = watcher(api, watcher::Config::default()).boxed();
            while let Some(event) = events.next().await {
                let Ok(event) = event else { continue };
                let Ok(mut tracker) = tracker.lock() else {
                    return;
                };
                match event {
                    watcher::Event::Apply(object) | watcher::Event::InitApply(object) => {
                        tracker.record(kind, &object);
                    }
                    watcher::Event::Delete(object) => {
                        let key = (
                            (*kind).to_owned(),
                            object.namespace().unwrap_or_default(),
                            object.name_any(),
                        );
                        tracker.objects.remove(&key);
                        tracker.last_change = Instant::now();
                    }
                    watcher::Event::InitDone => {
                        tracker.synced.insert((*kind).to_owned(), true);
                    }
                    watcher::Event::Init => {}
                }
            }
        }));
    }
    (tracker, tasks)
}

/// How a run converged.
#[derive(Debug)]
struct Convergence {
    /// From the start of the apply to the last change, when it converged.
    after: Option<Duration>,
    /// Why not, when it did not within the timeout.
    problem: Option<String>,
    /// Status changes the watches saw.
    changes: u64,
}

/// Waits until every expected object is there, observed at its generation, and nothing
/// changed for `settle`.
async fn converge(
    tracker: &Arc<Mutex<Tracker>>,
    province: &Province,
    started: Instant,
    options: &Options,
) -> Convergence {
    let expected: BTreeMap<String, usize> = province
        .counts_by_kind()
        .into_iter()
        .filter(|(kind, _)| KINDS.contains(&kind.as_str()))
        .collect();
    let mut reconciled: Vec<&str> = govcloud_controller::controllers::CONTROLLERS
        .iter()
        .map(|c| c.reconciles)
        .collect();
    reconciled.sort_unstable();
    reconciled.dedup();
    let deadline = started + options.timeout;
    let mut last_report = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (problem, quiet_since, changes) = {
            let tracker = tracker.lock().expect("tracker");
            (
                tracker.unconverged(&expected, &reconciled),
                tracker.last_change,
                tracker.changes,
            )
        };
        if problem.is_none() && quiet_since.elapsed() >= options.settle {
            return Convergence {
                after: Some(quiet_since.saturating_duration_since(started)),
                problem: None,
                changes,
            };
        }
        if Instant::now() > deadline {
            return Convergence {
                after: None,
                problem: Some(problem.unwrap_or_else(|| "statuses still changing".to_owned())),
                changes,
            };
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            eprintln!(
                "  … {:.0} s: {}",
                started.elapsed().as_secs_f64(),
                problem.unwrap_or_else(|| "settling".to_owned())
            );
            last_report = Instant::now();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// kubectl.

struct Kubectl {
    path: PathBuf,
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn find(controller: &Controller, work: &Path) -> Option<Self> {
        let path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("kubectl"))
                .find(|path| path.is_file())
        })?;
        Some(Self {
            path,
            kubeconfig: controller.kubeconfig.clone(),
            cache: work.join("kubectl-cache"),
        })
    }

    fn run(&self, args: &[&str]) -> (Duration, std::process::Output) {
        let started = Instant::now();
        let output = Command::new(&self.path)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .output()
            .expect("run kubectl");
        let took = started.elapsed();
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        (took, output)
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

// ---------------------------------------------------------------------------------------------
// One city count.

/// One way of applying, measured.
#[derive(Debug, Default)]
struct ApplyRun {
    ready_after: Duration,
    apply: Option<Duration>,
    convergence: Option<Convergence>,
    cpu_until_converged: Option<f64>,
    peak_kib: Option<u64>,
    rss_kib: Option<u64>,
    data_bytes: u64,
    sqlite: BTreeMap<String, u64>,
}

/// What only the kubectl run measures, after convergence.
#[derive(Debug, Default)]
struct AfterConvergence {
    steady_cpu_per_minute: Option<f64>,
    kubectl_table: Option<Duration>,
    kubectl_json: Option<Duration>,
    kube_list: Option<Duration>,
}

#[derive(Debug)]
struct CityCount {
    cities: usize,
    objects: usize,
    counts: BTreeMap<String, usize>,
    kubectl: Option<ApplyRun>,
    seed: ApplyRun,
    after: AfterConvergence,
}

fn finish_run(run: &mut ApplyRun, controller: &Controller) {
    run.peak_kib = status_kib(controller.pid, "VmHWM");
    run.rss_kib = status_kib(controller.pid, "VmRSS");
    run.data_bytes = directory_bytes(&controller.data_dir);
    sqlite_files(&controller.data_dir, &controller.data_dir, &mut run.sqlite);
}

async fn kubectl_run(
    options: &Options,
    province: &Province,
    manifests: &Path,
    ticks: f64,
) -> Option<(ApplyRun, AfterConvergence)> {
    let work = tempfile::tempdir().expect("tempdir");
    let controller = Controller::start(&options.controller, work.path(), None);
    let Some(kubectl) = Kubectl::find(&controller, work.path()) else {
        eprintln!("  kubectl is not on PATH: the kubectl run is skipped");
        controller.stop();
        return None;
    };
    let client = controller.client().await;
    let mut run = ApplyRun {
        ready_after: controller.ready_after,
        ..ApplyRun::default()
    };
    let (tracker, watches) = watch_all(&client).await;
    let cpu_before = controller.cpu(ticks);
    eprintln!(
        "  kubectl apply --server-side of {} objects …",
        province.object_count()
    );
    let started = Instant::now();
    let directory = manifests.to_string_lossy().into_owned();
    let (took, output) =
        tokio::task::block_in_place(|| kubectl.run(&["apply", "--server-side", "-f", &directory]));
    let applied = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.ends_with(" serverside-applied"))
        .count();
    assert_eq!(
        applied,
        province.object_count(),
        "kubectl applied every object"
    );
    run.apply = Some(took);
    eprintln!("  applied in {:.1} s; converging …", took.as_secs_f64());
    let convergence = converge(&tracker, province, started, options).await;
    run.cpu_until_converged = controller.cpu(ticks).zip(cpu_before).map(|(a, b)| a - b);
    finish_run(&mut run, &controller);
    let converged = convergence.after.is_some();
    run.convergence = Some(convergence);
    let mut after = AfterConvergence::default();
    if converged {
        eprintln!("  steady state for {} s …", options.steady.as_secs());
        let before = controller.cpu(ticks);
        tokio::time::sleep(options.steady).await;
        after.steady_cpu_per_minute = controller
            .cpu(ticks)
            .zip(before)
            .map(|(a, b)| (a - b) * 60.0 / options.steady.as_secs_f64());
    }
    for handle in &watches {
        handle.abort();
    }
    eprintln!("  list latency …");
    let systems = province.objects_of("SystemMigration").count();
    let _warm_up =
        tokio::task::block_in_place(|| kubectl.run(&["get", "namespaces", "-o", "name"]));
    let mut table = Vec::new();
    let mut json = Vec::new();
    let mut listed = Vec::new();
    let api: Api<SystemMigration> = Api::all(client.clone());
    for _ in 0..3 {
        let (took, output) =
            tokio::task::block_in_place(|| kubectl.run(&["get", "systemmigrations", "-A"]));
        let rows = String::from_utf8_lossy(&output.stdout).lines().count();
        assert_eq!(
            rows,
            systems + 1,
            "the table lists every system and a header"
        );
        table.push(took);
        let (took, output) = tokio::task::block_in_place(|| {
            kubectl.run(&["get", "systemmigrations", "-A", "-o", "json"])
        });
        let items: Value = serde_json::from_slice(&output.stdout).expect("kubectl's JSON");
        assert_eq!(items["items"].as_array().map_or(0, Vec::len), systems);
        json.push(took);
        let started = Instant::now();
        let list = api
            .list(&ListParams::default())
            .await
            .expect("list systems");
        listed.push(started.elapsed());
        assert_eq!(list.items.len(), systems);
    }
    after.kubectl_table = Some(median(table));
    after.kubectl_json = Some(median(json));
    after.kube_list = Some(median(listed));
    controller.stop();
    Some((run, after))
}

async fn seed_run(
    options: &Options,
    province: &Province,
    manifests: &Path,
    ticks: f64,
) -> ApplyRun {
    let work = tempfile::tempdir().expect("tempdir");
    eprintln!("  local --seed of {} objects …", province.object_count());
    let controller = Controller::start(&options.controller, work.path(), Some(manifests));
    eprintln!(
        "  ready after {:.1} s; converging …",
        controller.ready_after.as_secs_f64()
    );
    let client = controller.client().await;
    let mut run = ApplyRun {
        ready_after: controller.ready_after,
        ..ApplyRun::default()
    };
    let (tracker, watches) = watch_all(&client).await;
    let convergence = converge(&tracker, province, controller.spawned, options).await;
    run.cpu_until_converged = controller.cpu(ticks);
    finish_run(&mut run, &controller);
    run.convergence = Some(convergence);
    for handle in &watches {
        handle.abort();
    }
    controller.stop();
    run
}

async fn city_count(options: &Options, cities: usize, ticks: f64) -> CityCount {
    let province = generate(&ProvinceSpec {
        seed: options.seed,
        cities,
        city: options.size.clone(),
    });
    let manifests = tempfile::tempdir().expect("tempdir");
    province
        .write_to(manifests.path())
        .expect("write the province");
    eprintln!(
        "{cities} × {} city: {} objects",
        options.size_name,
        province.object_count()
    );
    let kubectl = kubectl_run(options, &province, manifests.path(), ticks).await;
    let seed = seed_run(options, &province, manifests.path(), ticks).await;
    let (kubectl, after) = kubectl.map_or((None, AfterConvergence::default()), |(run, after)| {
        (Some(run), after)
    });
    CityCount {
        cities,
        objects: province.object_count(),
        counts: province.counts_by_kind(),
        kubectl,
        seed,
        after,
    }
}

async fn run(options: &Options) -> String {
    let ticks = ticks_per_second();
    let background = Background::start(ticks);
    let mut results = Vec::new();
    for &cities in &options.cities {
        results.push(city_count(options, cities, ticks).await);
    }
    let background = background.finish();
    let mut out = String::new();
    write_machine(&mut out, options, &background);
    for result in &results {
        write_city_count(&mut out, options, result);
    }
    write_summary(&mut out, &results);
    out
}

// ---------------------------------------------------------------------------------------------
// Output.

fn seconds(duration: Option<Duration>) -> String {
    duration.map_or_else(|| "n/a".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()))
}

fn ms(duration: Option<Duration>) -> String {
    duration.map_or_else(
        || "n/a".to_owned(),
        |d| format!("{:.0} ms", d.as_secs_f64() * 1000.0),
    )
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".to_owned(),
        |kib| format!("{}.{} MiB", kib / 1024, (kib % 1024) * 10 / 1024),
    )
}

fn megabytes(bytes: u64) -> String {
    if bytes < 1_000_000 {
        return format!("{}.{} kB", bytes / 1_000, (bytes % 1_000) / 100);
    }
    format!("{}.{} MB", bytes / 1_000_000, (bytes % 1_000_000) / 100_000)
}

#[allow(clippy::cast_precision_loss)]
fn rate(objects: usize, duration: Option<Duration>) -> String {
    duration.map_or_else(
        || "n/a".to_owned(),
        |d| format!("{:.0}", objects as f64 / d.as_secs_f64()),
    )
}

fn cpu_text(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "n/a".to_owned(), |s| format!("{s:.1} s"))
}

fn converged_text(run: &ApplyRun) -> String {
    match &run.convergence {
        Some(Convergence {
            after: Some(after), ..
        }) => format!("{:.1} s", after.as_secs_f64()),
        Some(Convergence {
            problem: Some(problem),
            ..
        }) => format!("not converged: {problem}"),
        _ => "n/a".to_owned(),
    }
}

fn write_machine(out: &mut String, options: &Options, background: &str) {
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
    let unknown = || "unknown".to_owned();
    let kubectl =
        command_line("kubectl", &["version", "--client"]).unwrap_or_else(|| "not found".to_owned());
    let _ = writeln!(
        out,
        "## govcloud province benchmark\n\n\
         - date: {}\n- machine: {} CPUs ({model}), {memory} memory, Linux {}\n\
         - rustc: {}\n- kubectl: {kubectl}\n- {background}\n\
         - controller: `{}` (`local`, a child process; peak RSS = `VmHWM`, CPU = utime + stime \
         from `/proc/PID/stat`)\n\
         - province: `--size {}` cities (`govcloud_tests::province`), seed {}; settle {} s, steady state {} s\n",
        command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(unknown),
        cpus(),
        kernel.trim(),
        command_line("rustc", &["--version"]).unwrap_or_else(unknown),
        options.controller.display(),
        options.size_name,
        options.seed,
        options.settle.as_secs(),
        options.steady.as_secs(),
    );
}

/// The rows comparing the two ways of applying: (measure, (kubectl, seed)).
fn apply_rows(result: &CityCount) -> Vec<(&'static str, (String, String))> {
    let seed = &result.seed;
    // The seed path's apply is its time to ready less the kubectl run's (an empty start).
    let seed_apply = result
        .kubectl
        .as_ref()
        .map(|k| seed.ready_after.saturating_sub(k.ready_after));
    let column = |f: &dyn Fn(&ApplyRun) -> String| -> (String, String) {
        (
            result
                .kubectl
                .as_ref()
                .map_or_else(|| "skipped (no kubectl)".to_owned(), f),
            f(seed),
        )
    };
    vec![
        (
            "time to the ready line",
            column(&|r| seconds(Some(r.ready_after))),
        ),
        (
            "apply time",
            (
                result
                    .kubectl
                    .as_ref()
                    .map_or_else(|| "n/a".to_owned(), |r| seconds(r.apply)),
                format!("{} (ready line less an empty start)", seconds(seed_apply)),
            ),
        ),
        (
            "apply throughput (objects/s)",
            (
                result
                    .kubectl
                    .as_ref()
                    .map_or_else(|| "n/a".to_owned(), |r| rate(result.objects, r.apply)),
                rate(result.objects, seed_apply),
            ),
        ),
        (
            "converged (from the start of the apply)",
            column(&converged_text),
        ),
        (
            "status changes seen by the watches",
            column(&|r| {
                r.convergence
                    .as_ref()
                    .map_or_else(|| "n/a".to_owned(), |c| c.changes.to_string())
            }),
        ),
        (
            "controller CPU until converged",
            column(&|r| cpu_text(r.cpu_until_converged)),
        ),
        ("controller peak RSS (VmHWM)", column(&|r| mib(r.peak_kib))),
        ("controller RSS once converged", column(&|r| mib(r.rss_kib))),
        ("data directory", column(&|r| megabytes(r.data_bytes))),
        (
            "of which SQLite",
            column(&|r| {
                r.sqlite
                    .iter()
                    .map(|(name, bytes)| format!("{name} {}", megabytes(*bytes)))
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
        ),
    ]
}

fn write_city_count(out: &mut String, options: &Options, result: &CityCount) {
    let kinds: Vec<String> = result
        .counts
        .iter()
        .map(|(kind, count)| format!("{count} {kind}"))
        .collect();
    let _ = writeln!(
        out,
        "### {} {}: {} objects\n\n{}\n",
        result.cities,
        if result.cities == 1 { "city" } else { "cities" },
        result.objects,
        kinds.join(", ")
    );
    let rows = apply_rows(result);
    let _ = writeln!(
        out,
        "| measure | `kubectl apply --server-side -f DIR` | `local --seed DIR` |\n|---|---:|---:|"
    );
    for (measure, (kubectl, seed)) in rows {
        let _ = writeln!(out, "| {measure} | {kubectl} | {seed} |");
    }
    let after = &result.after;
    let _ = writeln!(
        out,
        "\nAfter convergence (the kubectl run):\n\n| measure | value |\n|---|---:|\n\
         | steady state: controller CPU-seconds per minute over {} s | {} |\n\
         | `kubectl get systemmigrations -A` (table), median of 3 | {} |\n\
         | `kubectl get systemmigrations -A -o json`, median of 3 | {} |\n\
         | kube-rs `Api::<SystemMigration>::all().list()`, median of 3 | {} |\n",
        options.steady.as_secs(),
        after
            .steady_cpu_per_minute
            .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.2}")),
        ms(after.kubectl_table),
        ms(after.kubectl_json),
        ms(after.kube_list),
    );
}

fn write_summary(out: &mut String, results: &[CityCount]) {
    if results.len() < 2 {
        return;
    }
    let _ = writeln!(
        out,
        "### Summary\n\n| cities | objects | kubectl apply | converged (kubectl) | seed: ready | converged (seed) | peak RSS (seed) | data directory (seed) | steady CPU-s/min | kubectl table |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for result in results {
        let kubectl = result.kubectl.as_ref();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            result.cities,
            result.objects,
            seconds(kubectl.and_then(|k| k.apply)),
            kubectl.map_or_else(|| "n/a".to_owned(), converged_text),
            seconds(Some(result.seed.ready_after)),
            converged_text(&result.seed),
            mib(result.seed.peak_kib),
            megabytes(result.seed.data_bytes),
            result
                .after
                .steady_cpu_per_minute
                .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.2}")),
            ms(result.after.kubectl_table),
        );
    }
    out.push('\n');
}
