//! Benchmark: the agent's link telemetry of 2,000 interfaces (1,000 veth pairs) in a network
//! namespace, against `ip -s link show` in the same run. Not a timed test: it prints a markdown
//! table (docs/benchmarks.md, "Router agent"). Needs root; makes and deletes its own namespace.
//!
//! `cargo bench -p govcloud-agent --bench links [-- --runs N --size PAIRS --out FILE]`

mod support;

use std::fmt::Write as _;
use std::time::Instant;

use futures::TryStreamExt as _;
use govcloud_agent::netlink::{LinkDetail, Netlink, Operation, request};
use govcloud_agent::observe::{ObserveOptions, SpeedSource, link_telemetry, observe};
use govcloud_crds::api::LinkObservation;
use support::netns::Namespace;
use support::{Options, Row};
use tokio::runtime::Runtime;

fn main() {
    let options = Options::parse(31, 1_000);
    if options.child {
        child();
    } else if options.inner {
        inner(&options);
    } else if support::is_root() {
        outer(&options);
    } else {
        eprintln!("skipping the links benchmark: making a network namespace needs root");
    }
}

/// `--child`: one link telemetry collection as the agent runs it, then the links and `VmHWM`.
fn child() {
    let links = link_telemetry(LinkDetail::WithStats).expect("link telemetry");
    println!("{} {}", links.len(), support::own_peak_rss_kib());
}

/// Makes the namespace with `--size` veth pairs and measures inside it.
fn outer(options: &Options) {
    let namespace = Namespace::create("govcloud-bench");
    let mut batch = String::new();
    for pair in 0..options.size {
        let _ = writeln!(batch, "link add va{pair} type veth peer name vb{pair}");
    }
    let file = std::env::temp_dir().join(format!("govcloud-bench-links-{}", std::process::id()));
    std::fs::write(&file, batch).expect("write the batch file");
    let start = Instant::now();
    namespace.ip(&["-batch", file.to_str().expect("UTF-8 path")]);
    eprintln!(
        "{} veth pairs added in {:.1} s",
        options.size,
        start.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_file(&file);
    support::run_inside(&namespace, options);
}

/// A link dump as the kernel sends it to the agent's socket, messages not read.
fn kernel_dump(detail: LinkDetail) -> usize {
    let mut netlink = Netlink::route().expect("socket");
    let mut messages = 0;
    let operation = Operation("bench: dump links");
    netlink
        .exchange(operation, &request::link_dump(detail), |_, _| {
            messages += 1;
            Ok(())
        })
        .expect("dump");
    if detail == LinkDetail::WithoutStats {
        netlink
            .exchange(operation, &request::stats_dump(), |_, _| Ok(()))
            .expect("stats dump");
    }
    messages
}

/// A plain rtnetlink 0.24 `link().get()` loop (one connection per run), for reference.
fn rtnetlink_loop(runtime: &Runtime) -> usize {
    runtime.block_on(async {
        let (connection, handle, _) = rtnetlink::new_connection().expect("rtnetlink connection");
        let task = tokio::spawn(connection);
        let mut links = handle.link().get().execute();
        let mut count = 0;
        while links.try_next().await.expect("link").is_some() {
            count += 1;
        }
        task.abort();
        count
    })
}

/// What is measured: `ip`, the agent's ways, the kernel's share, and references.
fn rows<'a>(
    count: usize,
    me: &'a str,
    runtime: &'a Runtime,
    speed: &'a mut SpeedSource,
    template: &'a [LinkObservation],
) -> Vec<Row<'a>> {
    let no_routes = ObserveOptions {
        routes: false,
        ..ObserveOptions::default()
    };
    vec![
        Row::command(
            "`ip -s link show` (output to /dev/null)",
            &["ip", "-s", "link", "show"],
        ),
        Row::call(
            "agent: link telemetry as `observe` collects it (one `RTM_GETLINK` dump with counters), in process",
            move || {
                assert_eq!(
                    link_telemetry(LinkDetail::WithStats).expect("links").len(),
                    count
                );
            },
        ),
        Row::call(
            "agent, alternative: links without counters (`RTEXT_FILTER_SKIP_STATS`) + an `RTM_GETSTATS` dump of 64-bit counters",
            move || {
                assert_eq!(
                    link_telemetry(LinkDetail::WithoutStats)
                        .expect("links")
                        .len(),
                    count
                );
            },
        ),
        Row::command(
            "agent: link telemetry in a fresh process (`--child`)",
            &[me, "--child"],
        ),
        Row::call(
            "kernel's share: the one dump, messages not read",
            move || {
                assert_eq!(kernel_dump(LinkDetail::WithStats), count);
            },
        ),
        Row::call(
            "kernel's share of the alternative: both dumps, messages not read",
            move || {
                assert_eq!(kernel_dump(LinkDetail::WithoutStats), count);
            },
        ),
        Row::call(
            "plain rtnetlink 0.24 `link().get()` loop (reference)",
            move || {
                assert_eq!(rtnetlink_loop(runtime), count);
            },
        ),
        Row::command(
            "`ip -s address show` (links, counters and addresses)",
            &["ip", "-s", "address", "show"],
        ),
        Row::call(
            "agent: `observe` without routes (links, counters, addresses, speeds), in process",
            move || {
                assert_eq!(observe(&no_routes).expect("observe").links.len(), count);
            },
        ),
        Row::call(
            "agent: speeds alone (one ethtool `LINKMODES_GET` dump on an open socket)",
            move || {
                let mut links = template.to_vec();
                speed.attach(&mut links, true);
                let veths = links
                    .iter()
                    .filter(|link| link.speed_mbps == Some(10_000))
                    .count();
                assert_eq!(veths + 1, count, "every veth reports 10000 Mb/s");
            },
        ),
    ]
}

/// Inside the namespace: every row `--runs` times, interleaved; checks every count.
fn inner(options: &Options) {
    let links = support::count_lines(&["ip", "-o", "link", "show"]);
    let count = usize::try_from(links).expect("link count");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let me = std::env::current_exe().expect("current executable");
    let me = me.to_str().expect("UTF-8 path");
    let mut speed = SpeedSource::open().expect("ethtool");
    let template = link_telemetry(LinkDetail::WithStats).expect("links");
    let mut rows = rows(count, me, &runtime, &mut speed, &template);
    support::measure(&mut rows, options.runs);
    rows[0].peak_rss_kib = support::peak_rss_kib(&["ip", "-s", "link", "show"]);
    rows[3].peak_rss_kib = child_peak_rss(me);
    let mut text = format!(
        "### Link telemetry: {links} interfaces ({} veth pairs and lo)\n\n{}\n",
        options.size,
        support::machine()
    );
    text.push_str("Ratios are to `ip -s link show`'s median. CPU is from `/proc/self/stat` (10 ms ticks summed over the runs).\n\n");
    text.push_str(&support::table(&rows, 0));
    support::emit(options, &text);
}

/// `VmHWM` the child reports after one collection.
fn child_peak_rss(me: &str) -> Option<u64> {
    let output = std::process::Command::new(me)
        .arg("--child")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace().nth(1)?.parse().ok()
}
