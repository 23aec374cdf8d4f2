//! Benchmark of the controller's HTTPS API under load: `wrk` against `GET /v1/tenants/{tenant}`
//! of the release `govcloud-controller`, on SQLite (local mode) and on PostgreSQL, next to a
//! ceiling (a minimal axum handler behind the same TLS stack) measured the same way.
//!
//! One run measures, on this machine, each server in turn (the others stopped):
//! 1. `govcloud-controller local --seed examples/ankang` (the embedded API server and the
//!    controller on SQLite, one process), with the operations token and CA of its
//!    `govctl.toml`;
//! 2. `govcloud-controller apiserver` and `govcloud-controller run --database-url <PostgreSQL>`
//!    (two processes; the token from `govcloud-controller issue-token`), when `--postgres URL`
//!    or `GOVCLOUD_TEST_DATABASE_URL` names a server (a fresh database is made and dropped);
//! 3. the ceiling: this binary re-executed with `--serve-ceiling FILE`, an axum handler answering
//!    the tenant's response bytes, served by `axum_server` with the rustls configuration of
//!    `govcloud_apiserver::tls::rustls_config` and a certificate of `tls::load_or_create`.
//!
//! Before measuring, one `GET` with an HTTPS client that trusts the server's CA must answer 200
//! with the tenant (a 401 or any other status fails the benchmark), and the server is left to
//! settle; then `wrk --latency` runs with the bearer token, and any non-2xx answer it counted
//! fails the benchmark. Server CPU comes from `/proc/PID/stat`, peak RSS from `VmHWM` (reset
//! through `/proc/PID/clear_refs` before the run).
//!
//! Run with `cargo bench -p govcloud-tests --bench api_load [-- --out FILE]`; see
//! `bench/README.md`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use govcloud_tests::workspace_root;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

/// The tenant every request reads (a department of the Ankang example).
const TENANT: &str = "city-finance";

/// The path of the request.
const TENANT_PATH: &str = "/v1/tenants/city-finance";

/// The root tenant of the Ankang example, which tokens are scoped to (as local mode's own).
const ROOT_TENANT: &str = "ankang";

/// The controller's namespace (its leader lease) in the PostgreSQL setup.
const CONTROLLER_NAMESPACE: &str = "govcloud-system";

/// The variable `.ci/setup-postgres`'s URL is passed in by the tests.
const DATABASE_URL_VARIABLE: &str = "GOVCLOUD_TEST_DATABASE_URL";

/// How long a server may take to answer its first 200.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// How long to wait for the controller to report the tenant `ready`.
const RECONCILED_TIMEOUT: Duration = Duration::from_secs(60);

/// How long to wait for a server's CPU use to fall to [`SETTLED_CPU_SHARE`].
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A server counts as settled when it used less than this share of one core over a second.
const SETTLED_CPU_SHARE: f64 = 0.05;

/// The warm-up `wrk` run before each measured one, not counted.
const WARM_UP_SECONDS: u32 = 2;

/// Targets of the controller's API, relative to the ceiling and absolute.
const TARGET_SHARE_OF_CEILING: f64 = 0.5;
const TARGET_P99: Duration = Duration::from_millis(10);

const USAGE: &str = "usage: api_load [--duration SECONDS] [--connections N] [--threads N] \
                     [--postgres URL] [--controller BIN] [--out FILE]";

/// What to measure.
#[derive(Debug)]
struct Options {
    duration_seconds: u32,
    connections: u32,
    threads: u32,
    postgres: Option<String>,
    controller: Option<PathBuf>,
    out: Option<PathBuf>,
    serve_ceiling: Option<PathBuf>,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Self {
        let mut options = Self {
            duration_seconds: 20,
            connections: 32,
            threads: 2,
            postgres: None,
            controller: None,
            out: None,
            serve_ceiling: None,
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
                "--duration" => {
                    let text = value();
                    options.duration_seconds = number(&arg, text.trim_end_matches('s'));
                }
                "--connections" => options.connections = number(&arg, &value()),
                "--threads" => options.threads = number(&arg, &value()),
                "--postgres" => options.postgres = Some(value()),
                "--controller" => options.controller = Some(value().into()),
                "--out" => options.out = Some(value().into()),
                "--serve-ceiling" => options.serve_ceiling = Some(value().into()),
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
        if options.postgres.is_none() {
            options.postgres = std::env::var(DATABASE_URL_VARIABLE)
                .ok()
                .filter(|url| !url.is_empty());
        }
        assert!(
            options.duration_seconds > 0 && options.threads > 0,
            "--duration and --threads must be positive"
        );
        assert!(
            options.connections >= options.threads,
            "wrk needs at least one connection per thread"
        );
        options
    }

    /// The controller binary: `--controller`, else the release build next to this benchmark.
    fn controller_binary(&self) -> PathBuf {
        let binary = self.controller.clone().unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("the benchmark's own path");
            // target/release/deps/api_load-HASH → target/release/govcloud-controller
            exe.parent()
                .and_then(Path::parent)
                .map(|release| release.join("govcloud-controller"))
                .expect("the target directory")
        });
        assert!(
            binary.is_file(),
            "{} does not exist: build it with `cargo build --release -p govcloud-controller` \
             (same target directory) or pass --controller BIN",
            binary.display()
        );
        binary
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
    if let Some(body) = &options.serve_ceiling {
        runtime.block_on(serve_ceiling(body));
        return;
    }
    let report = runtime.block_on(run(&options));
    print!("{report}");
    if let Some(out) = &options.out {
        std::fs::write(out, &report).expect("write the --out file");
        eprintln!("wrote {}", out.display());
    }
}

/// The ceiling's child process: serves the bytes of `body_file` as JSON at [`TENANT_PATH`] over
/// HTTPS, as the controller's API serves (axum behind `axum_server` with rustls, the
/// configuration of `govcloud_apiserver::tls::rustls_config`, an ECDSA P-256 certificate of
/// `tls::load_or_create`), prints `ready URL CA-FILE`, and exits when its standard input closes.
async fn serve_ceiling(body_file: &Path) {
    use axum::http::header::CONTENT_TYPE;
    let body = axum::body::Bytes::from(std::fs::read(body_file).expect("the ceiling's body"));
    let dir = tempfile::tempdir().expect("tempdir");
    let certificates =
        govcloud_apiserver::tls::load_or_create(dir.path(), &["127.0.0.1", "localhost"])
            .expect("a serving certificate");
    let rustls = govcloud_apiserver::tls::rustls_config(&certificates)
        .await
        .expect("the TLS configuration");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let address = listener.local_addr().expect("address");
    let router = axum::Router::new().route(
        TENANT_PATH,
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([(CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let server = axum_server::from_tcp_rustls(listener, rustls).expect("serve");
    let serving = tokio::spawn(server.serve(router.into_make_service()));
    let ca = dir
        .path()
        .join(govcloud_apiserver::tls::PKI_DIR)
        .join("ca.crt");
    println!("ready https://{address} {}", ca.display());
    std::io::stdout().flush().expect("flush stdout");
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
    serving.abort();
}

/// A server process whose first line of standard output is its ready line (standard error goes
/// to a log file). Stopped with SIGTERM, then killed, when dropped.
struct ServerProcess {
    role: &'static str,
    child: Child,
    ready: String,
    log: PathBuf,
}

impl ServerProcess {
    fn start(role: &'static str, mut command: Command, log: &Path) -> Self {
        let log_file = File::create(log).expect("log file");
        command
            .env_remove("KUBECONFIG")
            .env_remove("POD_NAME")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start the {role}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let Some(Ok(ready)) = lines.next() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the {role} printed no ready line; its standard error:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        // Keep draining standard output so that the process never blocks on it.
        std::thread::spawn(move || lines.for_each(drop));
        eprintln!("{role} ready: {ready}");
        Self {
            role,
            child,
            ready,
            log: log.to_owned(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The word after `name` in the ready line.
    fn field(&self, name: &str) -> String {
        let words: Vec<&str> = self.ready.split_whitespace().collect();
        words
            .iter()
            .position(|word| *word == name)
            .and_then(|at| words.get(at + 1))
            .map_or_else(
                || {
                    panic!(
                        "no `{name}` in the {}'s ready line {:?}",
                        self.role, self.ready
                    )
                },
                |word| (*word).to_owned(),
            )
    }

    /// The last lines of its log, for failure messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
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

/// The sum of numbered fields (1-based, as `proc(5)` numbers them) of a `/proc/…/stat` file,
/// in clock ticks.
fn process_ticks(path: &str, fields: &[usize]) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The fields after the command name (which may contain spaces) start with field 3.
    let rest: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    fields
        .iter()
        .map(|&field| rest.get(field.checked_sub(3)?)?.parse::<f64>().ok())
        .sum()
}

/// User plus system CPU time of a process, all threads, in seconds.
fn cpu_seconds(pid: u32, ticks_per_second: f64) -> Option<f64> {
    // `utime` and `stime` are fields 14 and 15.
    process_ticks(&format!("/proc/{pid}/stat"), &[14, 15]).map(|t| t / ticks_per_second)
}

/// CPU seconds of this process and of the children it has waited for (`wrk`, `issue-token`).
fn own_cpu_seconds(ticks_per_second: f64) -> Option<f64> {
    process_ticks("/proc/self/stat", &[14, 15, 16, 17]).map(|t| t / ticks_per_second)
}

/// CPU seconds of every PostgreSQL server process of this machine (its backends included).
fn postgres_cpu_seconds(ticks_per_second: f64) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|entry| {
            std::fs::read_to_string(entry.path().join("comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .filter_map(|entry| process_ticks(&entry.path().join("stat").to_string_lossy(), &[14, 15]))
        .sum::<f64>()
        / ticks_per_second
}

/// CPU seconds the whole machine spent busy (all CPUs), from `/proc/stat`.
fn machine_busy_seconds(ticks_per_second: f64) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    let busy: f64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| cpu.get(i)).sum();
    Some(busy / ticks_per_second)
}

fn ticks_per_second() -> f64 {
    command_line("getconf", &["CLK_TCK"])
        .and_then(|t| t.parse::<u32>().ok())
        .map_or(100.0, f64::from)
}

fn cpu_count() -> u32 {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .try_into()
        .unwrap_or(1)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The first line a command prints (on standard output, else standard error), if it runs.
fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    [output.stdout, output.stderr].iter().find_map(|bytes| {
        String::from_utf8_lossy(bytes)
            .lines()
            .next()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
    })
}

/// The CPU the whole machine used over the run, less this benchmark's: this process and every
/// child it waited for (the servers, wrk, `issue-token`), and the PostgreSQL server.
struct Background {
    ticks: f64,
    busy: Option<f64>,
    ours: Option<f64>,
    started: Instant,
    load: String,
}

impl Background {
    fn ours(ticks: f64) -> Option<f64> {
        own_cpu_seconds(ticks).map(|own| own + postgres_cpu_seconds(ticks))
    }

    fn start(ticks: f64) -> Self {
        Self {
            ticks,
            busy: machine_busy_seconds(ticks),
            ours: Self::ours(ticks),
            started: Instant::now(),
            load: load_average(),
        }
    }

    /// A sentence on the other processes' CPU use and the load average; call it once every
    /// child has been waited for.
    fn finish(self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let available = elapsed * f64::from(cpu_count());
        let ours = Self::ours(self.ticks)
            .zip(self.ours)
            .map(|(after, before)| after - before);
        let others = machine_busy_seconds(self.ticks)
            .zip(self.busy)
            .zip(ours)
            .map(|((after, before), ours)| (after - before - ours).max(0.0));
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

/// What `wrk --latency` reported.
#[derive(Clone, Debug, Default)]
struct WrkFigures {
    requests: u64,
    seconds: f64,
    requests_per_second: f64,
    p50: Duration,
    p75: Duration,
    p90: Duration,
    p99: Duration,
    /// Answers whose status was not 2xx or 3xx.
    non_success: u64,
    /// connect, read, write, timeout.
    socket_errors: [u64; 4],
}

/// A wrk duration: `830.00us`, `1.10ms`, `2.00s`, `1.00m`, `1.00h`.
fn wrk_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse().ok()?;
    let seconds = match unit {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

fn parse_wrk(output: &str) -> Result<WrkFigures, String> {
    let mut figures = WrkFigures::default();
    let mut percentiles = 0;
    for line in output.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [percent, value] if percent.ends_with('%') => {
                let value = wrk_duration(value).ok_or_else(|| format!("bad latency `{line}`"))?;
                let slot = match *percent {
                    "50%" => &mut figures.p50,
                    "75%" => &mut figures.p75,
                    "90%" => &mut figures.p90,
                    "99%" => &mut figures.p99,
                    _ => continue,
                };
                *slot = value;
                percentiles += 1;
            }
            [requests, "requests", "in", seconds, ..] => {
                figures.requests = requests
                    .parse()
                    .map_err(|_| format!("bad request count `{line}`"))?;
                figures.seconds = wrk_duration(seconds.trim_end_matches(','))
                    .ok_or_else(|| format!("bad duration `{line}`"))?
                    .as_secs_f64();
            }
            ["Requests/sec:", rate] => {
                figures.requests_per_second =
                    rate.parse().map_err(|_| format!("bad rate `{line}`"))?;
            }
            ["Non-2xx", "or", "3xx", "responses:", count] => {
                figures.non_success = count.parse().map_err(|_| format!("bad count `{line}`"))?;
            }
            ["Socket", "errors:", rest @ ..] => {
                // connect N, read N, write N, timeout N
                let counts: Vec<u64> = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse().ok())
                    .collect();
                for (slot, count) in figures.socket_errors.iter_mut().zip(counts) {
                    *slot = count;
                }
            }
            _ => {}
        }
    }
    if percentiles != 4 || figures.requests_per_second <= 0.0 {
        return Err("no latency distribution or request rate in wrk's output".to_owned());
    }
    Ok(figures)
}

/// Runs `wrk` with the bearer token and returns its output.
fn run_wrk(url: &str, token: &str, options: &Options, seconds: u32) -> String {
    let output = Command::new("wrk")
        .arg(format!("-t{}", options.threads))
        .arg(format!("-c{}", options.connections))
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        .arg("-H")
        .arg(format!("Authorization: Bearer {token}"))
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("run wrk (Debian's `wrk` package): {e}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "wrk failed ({}): {text}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// An HTTPS client that trusts `ca_pem` only, on rustls with the ring provider.
fn https_client(ca_pem: &str) -> reqwest::Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes())
        .unwrap_or_else(|e| panic!("the server's CA certificate does not parse: {e}"));
    roots.add(ca).expect("a usable CA certificate");
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTPS client")
}

/// The tenant as the server answers it once the controller reports it ready (or after
/// [`RECONCILED_TIMEOUT`] of 200s saying it is not): the response body, and a note on how long
/// that took. Any status but 200 and 503 (tenants not read yet) fails the benchmark.
async fn checked_tenant(role: &str, base: &str, ca_pem: &str, token: &str) -> (Vec<u8>, String) {
    let client = https_client(ca_pem);
    let url = format!("{base}{TENANT_PATH}");
    let started = Instant::now();
    let mut last;
    let mut first_ok: Option<Instant> = None;
    loop {
        let answer = client.get(&url).bearer_auth(token).send().await;
        match answer {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response
                    .bytes()
                    .await
                    .map(|b| b.to_vec())
                    .unwrap_or_default();
                match status {
                    200 => {
                        let view: Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
                            panic!("{role}: GET {url} answered 200 with no JSON: {e}")
                        });
                        assert_eq!(
                            view["name"].as_str(),
                            Some(TENANT),
                            "{role}: GET {url} answered another object: {view}"
                        );
                        let first = *first_ok.get_or_insert_with(Instant::now);
                        if view["ready"] == json!(true) {
                            let note = format!(
                                "first 200 after {:.1} s, tenant ready after {:.1} s",
                                (first - started).as_secs_f64(),
                                started.elapsed().as_secs_f64()
                            );
                            return (body, note);
                        }
                        if first.elapsed() > RECONCILED_TIMEOUT {
                            let note = format!(
                                "first 200 after {:.1} s; the tenant was still not ready after \
                                 {} s more: {}",
                                (first - started).as_secs_f64(),
                                RECONCILED_TIMEOUT.as_secs(),
                                view["message"]
                            );
                            return (body, note);
                        }
                        last = "200, tenant not ready yet".to_owned();
                    }
                    503 => last = format!("503 {}", String::from_utf8_lossy(&body)),
                    other => panic!(
                        "{role}: GET {url} with the token answered {other}, not 200: {}",
                        String::from_utf8_lossy(&body)
                    ),
                }
            }
            Err(error) => last = format!("{error}"),
        }
        assert!(
            started.elapsed() < READY_TIMEOUT + RECONCILED_TIMEOUT,
            "{role}: GET {url} did not answer 200 in time; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until the processes use less than [`SETTLED_CPU_SHARE`] of a core over a second;
/// says how long that took.
async fn settle(pids: &[u32], ticks: f64) -> String {
    let started = Instant::now();
    let used = || {
        pids.iter()
            .filter_map(|&pid| cpu_seconds(pid, ticks))
            .sum::<f64>()
    };
    loop {
        let before = used();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let share = used() - before;
        if share < SETTLED_CPU_SHARE {
            return format!(
                "settled after {:.0} s ({:.0} % of a core)",
                started.elapsed().as_secs_f64(),
                share * 100.0
            );
        }
        if started.elapsed() > SETTLE_TIMEOUT {
            return format!(
                "not settled after {} s (still {:.0} % of a core)",
                SETTLE_TIMEOUT.as_secs(),
                share * 100.0
            );
        }
    }
}

/// One server's figures.
#[derive(Debug)]
struct Measured {
    label: String,
    wrk: WrkFigures,
    body_bytes: usize,
    /// Each server process over the run.
    processes: Vec<ServerUsage>,
    /// The server processes' CPU seconds together.
    server_cpu_seconds: Option<f64>,
    wrk_cpu_seconds: Option<f64>,
    postgres_cpu_seconds: Option<f64>,
    notes: String,
}

/// What one server process used over a run.
#[derive(Debug)]
struct ServerUsage {
    role: &'static str,
    rss_before_kib: Option<u64>,
    peak_kib: Option<u64>,
    cpu_seconds: Option<f64>,
}

/// What to load: the server processes, where they answer, with which token.
struct Target<'a> {
    label: &'a str,
    processes: &'a [&'a ServerProcess],
    base: &'a str,
    token: &'a str,
    body_bytes: usize,
    notes: String,
}

/// Lets the servers settle, warms up, then measures them with wrk.
async fn measure(target: Target<'_>, options: &Options, ticks: f64) -> Measured {
    let Target {
        label,
        processes,
        base,
        token,
        body_bytes,
        notes,
    } = target;
    let pids: Vec<u32> = processes.iter().map(|p| p.pid()).collect();
    let settled = settle(&pids, ticks).await;
    let url = format!("{base}{TENANT_PATH}");
    eprintln!("{label}: {settled}; warming up for {WARM_UP_SECONDS} s");
    let warm = run_wrk(&url, token, options, WARM_UP_SECONDS);
    let warm = parse_wrk(&warm).unwrap_or_else(|e| panic!("{label}: {e}\n{warm}"));
    assert!(
        warm.non_success == 0,
        "{label}: {} of wrk's warm-up requests answered other than 2xx (a wrong token?)",
        warm.non_success
    );
    for &pid in &pids {
        reset_peak(pid);
    }
    let rss_before: Vec<Option<u64>> = pids.iter().map(|&pid| status_kib(pid, "VmRSS")).collect();
    let server_cpu = || {
        pids.iter()
            .map(|&pid| cpu_seconds(pid, ticks))
            .collect::<Vec<_>>()
    };
    let (server_before, own_before, postgres_before) = (
        server_cpu(),
        own_cpu_seconds(ticks),
        postgres_cpu_seconds(ticks),
    );
    eprintln!(
        "{label}: wrk -t{} -c{} -d{}s --latency {url}",
        options.threads, options.connections, options.duration_seconds
    );
    let output = run_wrk(&url, token, options, options.duration_seconds);
    let (server_after, own_after, postgres_after) = (
        server_cpu(),
        own_cpu_seconds(ticks),
        postgres_cpu_seconds(ticks),
    );
    eprintln!("{output}");
    let figures = parse_wrk(&output).unwrap_or_else(|e| panic!("{label}: {e}\n{output}"));
    assert!(
        figures.non_success == 0,
        "{label}: {} of {} requests answered other than 2xx; nothing measured counts",
        figures.non_success,
        figures.requests
    );
    for process in processes {
        assert!(
            status_kib(process.pid(), "VmRSS").is_some(),
            "{label}: the {} died during the run; its log ends:\n{}",
            process.role,
            process.log_tail()
        );
    }
    let server_processes: Vec<_> = processes
        .iter()
        .zip(rss_before)
        .zip(server_after.iter().zip(&server_before))
        .map(|((process, before), (after, start))| ServerUsage {
            role: process.role,
            rss_before_kib: before,
            peak_kib: status_kib(process.pid(), "VmHWM"),
            cpu_seconds: after.zip(*start).map(|(a, b)| a - b),
        })
        .collect();
    let server_cpu_seconds = server_processes
        .iter()
        .map(|usage| usage.cpu_seconds)
        .sum::<Option<f64>>();
    // This process's own CPU in the window is small (it waits for wrk); the rest is wrk's.
    let wrk_cpu_seconds = own_after.zip(own_before).map(|(a, b)| a - b);
    let postgres_cpu = postgres_after - postgres_before;
    Measured {
        label: label.to_owned(),
        wrk: figures,
        body_bytes,
        processes: server_processes,
        server_cpu_seconds,
        wrk_cpu_seconds,
        postgres_cpu_seconds: (postgres_cpu > 0.0).then_some(postgres_cpu),
        notes: format!("{notes}; {settled}"),
    }
}

/// `govctl.toml` as local mode writes it.
#[derive(serde::Deserialize)]
struct GovctlSettings {
    server: String,
    ca: PathBuf,
    token: String,
}

/// Row 1: `govcloud-controller local` on SQLite with the Ankang seed; also returns the tenant's
/// response body, which the ceiling serves.
async fn local_mode(binary: &Path, options: &Options, ticks: f64) -> (Measured, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(binary);
    command
        .arg("local")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--seed")
        .arg(workspace_root().join("examples/ankang"))
        .args(["--api-address", "127.0.0.1:0"])
        .args(["--controller-api-address", "127.0.0.1:0"])
        .args(["--metrics-address", "127.0.0.1:0"])
        .args(["--agent-api-address", "127.0.0.1:0"]);
    let server = ServerProcess::start(
        "local mode (govcloud-controller local)",
        command,
        &dir.path().join("local.log"),
    );
    let settings_path = PathBuf::from(server.field("govctl-config"));
    let text = std::fs::read_to_string(&settings_path)
        .unwrap_or_else(|e| panic!("read {}: {e}", settings_path.display()));
    let settings: GovctlSettings = toml::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not govctl's settings: {e}", settings_path.display()));
    let ca_pem = std::fs::read_to_string(&settings.ca)
        .unwrap_or_else(|e| panic!("read the CA {}: {e}", settings.ca.display()));
    let (body, notes) =
        checked_tenant("local mode", &settings.server, &ca_pem, &settings.token).await;
    let target = Target {
        label: "`govcloud-controller local` (SQLite, one process)",
        processes: &[&server],
        base: &settings.server,
        token: &settings.token,
        body_bytes: body.len(),
        notes,
    };
    let measured = measure(target, options, ticks).await;
    drop(server);
    (measured, body)
}

/// A database made on the PostgreSQL server for this run, dropped at the end.
struct PostgresDatabase {
    server: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    async fn create(server: &str) -> Self {
        let name = format!("govcloud_api_load_{}", std::process::id());
        let mut admin = PgConnection::connect(server)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the PostgreSQL server: {e}"));
        sqlx::query(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create the database {name}: {e}"));
        let _ = admin.close().await;
        let mut url = url::Url::parse(server)
            .unwrap_or_else(|e| panic!("the PostgreSQL URL does not parse: {e}"));
        url.set_path(&name);
        Self {
            server: server.to_owned(),
            name,
            url: url.to_string(),
        }
    }

    async fn remove(self) {
        let dropped = async {
            let mut admin = PgConnection::connect(&self.server).await?;
            sqlx::query(AssertSqlSafe(format!(
                r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#,
                self.name
            )))
            .execute(&mut admin)
            .await?;
            admin.close().await
        };
        if let Err(error) = dropped.await {
            eprintln!("the database {} was not dropped: {error}", self.name);
        }
    }
}

async fn kube_client(kubeconfig: &Path) -> Client {
    let file = Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
        .await
        .expect("client config");
    Client::try_from(config).expect("client")
}

/// Row 2: `govcloud-controller apiserver` standing in for the cluster, the Ankang seed applied
/// to it, and `govcloud-controller run` on PostgreSQL with a token from `issue-token`.
async fn postgres_mode(binary: &Path, server_url: &str, options: &Options, ticks: f64) -> Measured {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(binary);
    command
        .arg("apiserver")
        .arg("--data-dir")
        .arg(dir.path().join("cluster"))
        .args(["--address", "127.0.0.1:0"]);
    let apiserver = ServerProcess::start(
        "API server (govcloud-controller apiserver)",
        command,
        &dir.path().join("apiserver.log"),
    );
    let kubeconfig = PathBuf::from(apiserver.field("kubeconfig"));
    let client = kube_client(&kubeconfig).await;
    govcloud_controller::local::install(&client)
        .await
        .expect("install the CRDs and the tenant-admin role");
    let namespace: Namespace =
        serde_json::from_value(json!({ "metadata": { "name": CONTROLLER_NAMESPACE } }))
            .expect("a namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .expect("the controller's namespace");
    govcloud_controller::local::apply_seed(
        &client,
        &workspace_root().join("examples/ankang"),
        "api-load-benchmark",
    )
    .await
    .expect("apply the Ankang seed");

    let database = PostgresDatabase::create(server_url).await;
    let issued = Command::new(binary)
        .arg("issue-token")
        .args(["--database-url", &database.url])
        .args(["--tenant", ROOT_TENANT, "--role", "operations"])
        .args(["--name", "api_load benchmark", "--days", "1"])
        .output()
        .expect("run issue-token");
    assert!(
        issued.status.success(),
        "issue-token failed: {}",
        String::from_utf8_lossy(&issued.stderr)
    );
    let token = String::from_utf8_lossy(&issued.stdout).trim().to_owned();
    assert!(token.starts_with("gct_"), "issue-token printed no token");

    let state_dir = dir.path().join("state");
    let mut command = Command::new(binary);
    command
        .arg("run")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--namespace", CONTROLLER_NAMESPACE])
        .args(["--database-url", &database.url])
        .arg("--state-dir")
        .arg(&state_dir)
        .args(["--api-address", "127.0.0.1:0"])
        .args(["--agent-api-address", "127.0.0.1:0"])
        .args(["--metrics-address", "127.0.0.1:0"]);
    let controller = ServerProcess::start(
        "controller (govcloud-controller run)",
        command,
        &dir.path().join("controller.log"),
    );
    let base = controller.field("controller-api");
    let ca_path = state_dir
        .join(govcloud_apiserver::tls::PKI_DIR)
        .join("ca.crt");
    let ca_pem = std::fs::read_to_string(&ca_path)
        .unwrap_or_else(|e| panic!("read the CA {}: {e}", ca_path.display()));
    let (body, notes) = checked_tenant("run on PostgreSQL", &base, &ca_pem, &token).await;
    let target = Target {
        label: "`govcloud-controller run` (PostgreSQL) + `apiserver`",
        processes: &[&controller, &apiserver],
        base: &base,
        token: &token,
        body_bytes: body.len(),
        notes,
    };
    let measured = measure(target, options, ticks).await;
    drop(controller);
    drop(apiserver);
    database.remove().await;
    measured
}

/// Row 3: the ceiling, serving `body` (the tenant's response) from a minimal handler.
async fn ceiling(body: &[u8], options: &Options, ticks: f64) -> Measured {
    let dir = tempfile::tempdir().expect("tempdir");
    let body_path = dir.path().join("tenant.json");
    std::fs::write(&body_path, body).expect("write the ceiling's body");
    let mut command = Command::new(std::env::current_exe().expect("current exe"));
    command.arg("--serve-ceiling").arg(&body_path);
    let server = ServerProcess::start(
        "ceiling (axum + axum_server + rustls)",
        command,
        &dir.path().join("ceiling.log"),
    );
    let words: Vec<&str> = server.ready.split_whitespace().collect();
    let ["ready", base, ca] = words.as_slice() else {
        panic!("the ceiling's ready line is {:?}", server.ready)
    };
    let ca_pem = std::fs::read_to_string(ca).expect("the ceiling's CA");
    // The ceiling ignores the token; sending one keeps wrk's requests the same size.
    let token = "gct_the-ceiling-ignores-the-token";
    let url = format!("{base}{TENANT_PATH}");
    let response = https_client(&ca_pem)
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(response.status().as_u16(), 200, "the ceiling answers 200");
    let answered = response.bytes().await.expect("the ceiling's body");
    assert_eq!(
        answered.as_ref(),
        body,
        "the ceiling answers the tenant's bytes"
    );
    let target = Target {
        label: "ceiling: minimal axum handler, same TLS stack",
        processes: &[&server],
        base,
        token,
        body_bytes: body.len(),
        notes: "a fixed body, no token lookup, no Kubernetes read".to_owned(),
    };
    measure(target, options, ticks).await
}

async fn run(options: &Options) -> String {
    let binary = options.controller_binary();
    let wrk = command_line("wrk", &["-v"]).expect("wrk on PATH (Debian: apt-get install wrk)");
    let ticks = ticks_per_second();
    let background = Background::start(ticks);
    eprintln!("measuring local mode with {}", binary.display());
    let (local, body) = local_mode(&binary, options, ticks).await;
    let postgres = match &options.postgres {
        Some(url) => {
            eprintln!("measuring run on PostgreSQL");
            Ok(postgres_mode(&binary, url, options, ticks).await)
        }
        None => Err(format!(
            "skipped: no PostgreSQL server (pass --postgres URL or set {DATABASE_URL_VARIABLE}; \
             .ci/setup-postgres prints one)"
        )),
    };
    if let Err(reason) = &postgres {
        eprintln!("PostgreSQL row {reason}");
    }
    eprintln!("measuring the ceiling");
    let ceiling = ceiling(&body, options, ticks).await;
    let background = background.finish();

    let mut out = String::new();
    write_machine(&mut out, &binary, &wrk, &background, options);
    write_table(&mut out, &ceiling, &local, &postgres, options);
    out
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".to_owned(),
        |kib| format!("{}.{} MiB", kib / 1024, (kib % 1024) * 10 / 1024),
    )
}

fn write_machine(out: &mut String, binary: &Path, wrk: &str, background: &str, options: &Options) {
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
    let built = binary
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map_or_else(
            || "unknown".to_owned(),
            |age| format!("{} min ago", age.as_secs() / 60),
        );
    let unknown = || "unknown".to_owned();
    let _ = writeln!(
        out,
        "## Controller API under load (wrk)\n\n\
         - date: {}\n- machine: {} CPUs ({model}), {memory} memory, Linux {}\n\
         - rustc: {}\n- wrk: {wrk}\n- controller: {} (built {built})\n- {background}\n\
         - load: `wrk -t{} -c{} -d{}s --latency -H 'Authorization: Bearer …' \
         https://127.0.0.1:PORT{TENANT_PATH}`, after a {WARM_UP_SECONDS} s warm-up with the same \
         settings; wrk, the servers and PostgreSQL share the machine's cores\n\
         - server CPU and RSS from `/proc/PID/stat` and `/proc/PID/status` (peak = `VmHWM` after \
         a reset through `/proc/PID/clear_refs`); cores = CPU-seconds per second of the run\n",
        command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(unknown),
        cpu_count(),
        kernel.trim(),
        command_line("rustc", &["--version"]).unwrap_or_else(unknown),
        binary.display(),
        options.threads,
        options.connections,
        options.duration_seconds,
    );
}

fn ratio(value: f64, reference: f64) -> String {
    if reference > 0.0 {
        format!("{:.0} %", 100.0 * value / reference)
    } else {
        "n/a".to_owned()
    }
}

fn times(value: Duration, reference: Duration) -> String {
    if reference.is_zero() {
        return "n/a".to_owned();
    }
    format!("{:.1}×", value.as_secs_f64() / reference.as_secs_f64())
}

fn write_row(out: &mut String, row: &Measured, ceiling: &Measured) {
    let seconds = row.wrk.seconds.max(f64::EPSILON);
    let cores =
        |cpu: Option<f64>| cpu.map_or_else(|| "n/a".to_owned(), |s| format!("{:.2}", s / seconds));
    let requests = u32::try_from(row.wrk.requests.max(1)).map_or(f64::from(u32::MAX), f64::from);
    let per_request = |cpu: Option<f64>| {
        cpu.map_or_else(
            || "n/a".to_owned(),
            |s| format!("{:.0} µs", s * 1e6 / requests),
        )
    };
    // Several server processes: each by the first word of its role.
    let each = |figure: &dyn Fn(&ServerUsage) -> String| {
        row.processes
            .iter()
            .map(|usage| {
                let name = usage.role.split_whitespace().next().unwrap_or(usage.role);
                format!("{name}: {}", figure(usage))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let memory_of =
        |usage: &ServerUsage| format!("{} → {}", mib(usage.rss_before_kib), mib(usage.peak_kib));
    let (cpu_per_request, memory) = match row.processes.as_slice() {
        [one] => (per_request(row.server_cpu_seconds), memory_of(one)),
        _ => (
            format!(
                "{} ({})",
                per_request(row.server_cpu_seconds),
                each(&|usage| per_request(usage.cpu_seconds))
            ),
            each(&memory_of),
        ),
    };
    let [connect, read, write, timeout] = row.wrk.socket_errors;
    let errors = if row.wrk.socket_errors.iter().all(|&e| e == 0) {
        "0".to_owned()
    } else {
        format!("connect {connect}, read {read}, write {write}, timeout {timeout}")
    };
    let _ = writeln!(
        out,
        "| {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        row.label,
        row.wrk.requests_per_second,
        ratio(row.wrk.requests_per_second, ceiling.wrk.requests_per_second),
        ms(row.wrk.p50),
        times(row.wrk.p50, ceiling.wrk.p50),
        ms(row.wrk.p99),
        times(row.wrk.p99, ceiling.wrk.p99),
        cores(row.server_cpu_seconds),
        cpu_per_request,
        memory,
        cores(row.wrk_cpu_seconds),
        cores(row.postgres_cpu_seconds),
        row.body_bytes,
        errors,
    );
}

fn write_table(
    out: &mut String,
    ceiling: &Measured,
    local: &Measured,
    postgres: &Result<Measured, String>,
    options: &Options,
) {
    let _ = writeln!(
        out,
        "### `GET {TENANT_PATH}`, {} connections, {} wrk threads, {} s\n\n\
         | server | requests/s | of ceiling | p50 | × ceiling | p99 | × ceiling | server CPU (cores) | server CPU / request | server RSS before → peak | wrk CPU (cores) | PostgreSQL CPU (cores) | body (bytes) | socket errors |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        options.connections, options.threads, options.duration_seconds,
    );
    write_row(out, ceiling, ceiling);
    write_row(out, local, ceiling);
    match postgres {
        Ok(row) => write_row(out, row, ceiling),
        Err(reason) => {
            let _ = writeln!(
                out,
                "| `govcloud-controller run` (PostgreSQL) + `apiserver` | {reason} | | | | | | | | | | | | |"
            );
        }
    }
    out.push('\n');
    let rows: Vec<&Measured> = std::iter::once(local)
        .chain(postgres.as_ref().ok())
        .collect();
    let _ = writeln!(
        out,
        "Targets for the controller's API: at least {:.0} % of the ceiling's requests/s and a p99 \
         under {}.\n",
        TARGET_SHARE_OF_CEILING * 100.0,
        ms(TARGET_P99)
    );
    for row in std::iter::once(ceiling).chain(rows.iter().copied()) {
        let verdict = if std::ptr::eq(row, ceiling) {
            String::new()
        } else {
            let share = row.wrk.requests_per_second / ceiling.wrk.requests_per_second;
            let rate = if share >= TARGET_SHARE_OF_CEILING {
                "meets the rate target"
            } else {
                "misses the rate target"
            };
            let p99 = if row.wrk.p99 < TARGET_P99 {
                "meets the p99 target"
            } else {
                "misses the p99 target"
            };
            format!("{rate}, {p99}; ")
        };
        let _ = writeln!(
            out,
            "- {}: {verdict}{} requests in {:.1} s, latency p50 / p75 / p90 / p99 {} / {} / \
             {} / {}; {}",
            row.label,
            row.wrk.requests,
            row.wrk.seconds,
            ms(row.wrk.p50),
            ms(row.wrk.p75),
            ms(row.wrk.p90),
            ms(row.wrk.p99),
            row.notes,
        );
    }
}
