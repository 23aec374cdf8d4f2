//! What the agent's benchmarks share: the namespace they fill (the tests' helper), timing of
//! in-process calls and of commands with their CPU split into user and system time, medians,
//! peak RSS, the machine's facts, and the markdown they print.

#![allow(dead_code)] // each benchmark binary uses a different part

#[path = "../../tests/support/netns.rs"]
pub mod netns;

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/*/stat` (`getconf CLK_TCK`; 100 on Linux/x86-64).
const TICKS_PER_SECOND: u64 = 100;

/// The options every benchmark takes.
#[derive(Debug, Clone)]
pub struct Options {
    pub runs: usize,
    pub size: usize,
    pub out: Option<String>,
    /// Set in the process re-executed inside the namespace.
    pub inner: bool,
    /// Set in the child that only collects once and reports its peak RSS.
    pub child: bool,
}

impl Options {
    /// Parses `--runs N --size N --out FILE --inner --child` (ignoring cargo's `--bench`).
    pub fn parse(default_runs: usize, default_size: usize) -> Self {
        let mut options = Self {
            runs: default_runs,
            size: default_size,
            out: None,
            inner: false,
            child: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            match arg.as_str() {
                "--runs" => options.runs = value().parse().expect("--runs N"),
                "--size" => options.size = value().parse().expect("--size N"),
                "--out" => options.out = Some(value()),
                "--inner" => options.inner = true,
                "--child" => options.child = true,
                _ => {} // `--bench` from cargo
            }
        }
        options
    }

    /// The arguments that re-create these options in a re-executed copy.
    pub fn forward(&self) -> Vec<String> {
        let mut args = vec![
            "--runs".to_owned(),
            self.runs.to_string(),
            "--size".to_owned(),
            self.size.to_string(),
        ];
        if let Some(out) = &self.out {
            args.extend(["--out".to_owned(), out.clone()]);
        }
        args
    }
}

/// User and system CPU of this process and of its waited-for children, in ticks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    pub user: u64,
    pub system: u64,
    pub children_user: u64,
    pub children_system: u64,
}

impl Cpu {
    pub fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
        // Fields after the command name's closing parenthesis, from field 3 (state).
        let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
        let fields: Vec<u64> = rest
            .split(' ')
            .skip(11)
            .take(4)
            .map(|field| field.parse().unwrap_or(0))
            .collect();
        Self {
            user: fields[0],
            system: fields[1],
            children_user: fields[2],
            children_system: fields[3],
        }
    }
}

/// How one measured thing runs.
pub enum Method<'a> {
    /// A call in this process.
    Call(Box<dyn FnMut() + 'a>),
    /// A command, its output discarded.
    Command(Vec<String>),
}

/// One row: a name and its timings.
pub struct Row<'a> {
    pub name: String,
    pub method: Method<'a>,
    pub walls: Vec<Duration>,
    pub user_ticks: u64,
    pub system_ticks: u64,
    pub peak_rss_kib: Option<u64>,
}

impl<'a> Row<'a> {
    pub fn call(name: &str, call: impl FnMut() + 'a) -> Self {
        Self::new(name, Method::Call(Box::new(call)))
    }

    pub fn command(name: &str, argv: &[&str]) -> Self {
        Self::new(
            name,
            Method::Command(argv.iter().map(|arg| (*arg).to_owned()).collect()),
        )
    }

    fn new(name: &str, method: Method<'a>) -> Self {
        Self {
            name: name.to_owned(),
            method,
            walls: Vec::new(),
            user_ticks: 0,
            system_ticks: 0,
            peak_rss_kib: None,
        }
    }

    /// Runs once, recording wall time and CPU (this process's for a call, the child's for a
    /// command).
    pub fn run_once(&mut self) {
        let before = Cpu::now();
        let start = Instant::now();
        match &mut self.method {
            Method::Call(call) => call(),
            Method::Command(argv) => {
                let status = Command::new(&argv[0])
                    .args(&argv[1..])
                    .stdout(Stdio::null())
                    .status()
                    .expect("spawn");
                assert!(status.success(), "{} failed", argv.join(" "));
            }
        }
        self.walls.push(start.elapsed());
        let after = Cpu::now();
        let (user, system) = match self.method {
            Method::Call(_) => (after.user - before.user, after.system - before.system),
            Method::Command(_) => (
                after.children_user - before.children_user,
                after.children_system - before.children_system,
            ),
        };
        self.user_ticks += user;
        self.system_ticks += system;
    }

    pub fn median(&self) -> Duration {
        let mut walls = self.walls.clone();
        walls.sort_unstable();
        walls[walls.len() / 2]
    }
}

/// Runs every row `runs` times after one warm-up run each, interleaved (row 1, row 2, …, row 1,
/// …) so that a burst of load elsewhere on the machine spreads over all rows.
pub fn measure(rows: &mut [Row<'_>], runs: usize) {
    for row in rows.iter_mut() {
        row.run_once();
        row.walls.clear();
        row.user_ticks = 0;
        row.system_ticks = 0;
    }
    for _ in 0..runs {
        for row in rows.iter_mut() {
            row.run_once();
        }
    }
}

/// Peak RSS in KiB of `argv` run once, from GNU time's `%M` (the child's `ru_maxrss`).
pub fn peak_rss_kib(argv: &[&str]) -> Option<u64> {
    let file = std::env::temp_dir().join(format!("govcloud-bench-rss-{}", std::process::id()));
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&file)
        .args(argv)
        .stdout(Stdio::null())
        .status()
        .ok()?;
    let text = std::fs::read_to_string(&file).ok();
    let _ = std::fs::remove_file(&file);
    if !status.success() {
        return None;
    }
    text?.lines().last()?.trim().parse().ok()
}

/// `VmHWM` of this process, in KiB.
pub fn own_peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .expect("VmHWM");
    line.split_whitespace()
        .nth(1)
        .and_then(|kib| kib.parse().ok())
        .expect("VmHWM value")
}

fn milliseconds(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

#[expect(
    clippy::cast_precision_loss,
    reason = "tick and run counts are far below 2^52"
)]
fn per_run(ticks: u64, runs: usize) -> String {
    let runs = runs.max(1) as f64;
    format!("{:.1} ms", (ticks * 1000 / TICKS_PER_SECOND) as f64 / runs)
}

#[expect(
    clippy::cast_precision_loss,
    reason = "memory sizes are far below 2^52 KiB"
)]
fn mebibytes(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The rows as a markdown table; `reference` is the index of the row the ratios are taken to.
pub fn table(rows: &[Row<'_>], reference: usize) -> String {
    let base = rows[reference].median().as_secs_f64();
    let mut text = String::from(
        "| what | runs | wall median | min – max | ratio to reference | user CPU / run | system CPU / run | peak RSS |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let mut sorted = row.walls.clone();
        sorted.sort_unstable();
        let rss = row.peak_rss_kib.map_or_else(|| "—".to_owned(), mebibytes);
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} – {} | {:.2}× | {} | {} | {} |",
            row.name,
            row.walls.len(),
            milliseconds(row.median()),
            milliseconds(sorted[0]),
            milliseconds(sorted[sorted.len() - 1]),
            row.median().as_secs_f64() / base,
            per_run(row.user_ticks, row.walls.len()),
            per_run(row.system_ticks, row.walls.len()),
            rss,
        );
    }
    text
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|output| {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

/// The machine's facts, as a markdown list.
pub fn machine() -> String {
    let memory = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = memory
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .nth(1)
        .unwrap_or("?")
        .to_owned();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "- date: {}\n- machine: {cpus} CPUs, {memory} kB memory, Linux {}\n- {}\n- load average (1, 5, 15 min) at start: {}\n",
        first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        first_line("uname", &["-r"]),
        first_line("ip", &["-V"]),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Prints `text` and, with `--out`, writes it to that file too.
pub fn emit(options: &Options, text: &str) {
    print!("{text}");
    if let Some(out) = &options.out {
        std::fs::write(out, text).unwrap_or_else(|error| panic!("--out {out}: {error}"));
    }
}

/// Whether this process can make namespaces (root); prints why not otherwise.
pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .and_then(|line| line.split_whitespace().nth(2));
    euid == Some("0")
}

/// Re-executes this benchmark inside `namespace` with `--inner`, its output passed through.
pub fn run_inside(namespace: &netns::Namespace, options: &Options) {
    let me = std::env::current_exe().expect("current executable");
    let me = me.to_str().expect("UTF-8 path");
    let mut args = vec!["--inner".to_owned()];
    args.extend(options.forward());
    let status = namespace
        .command(me)
        .args(&args)
        .status()
        .expect("ip netns exec");
    assert!(status.success(), "the measuring run failed");
}

/// The number of lines `argv` prints (which must succeed).
pub fn count_lines(argv: &[&str]) -> u64 {
    let output = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .expect("spawn");
    assert!(output.status.success(), "{} failed", argv.join(" "));
    let lines = String::from_utf8_lossy(&output.stdout).lines().count();
    u64::try_from(lines).expect("line count")
}
