//! Benchmark: the agent's route collection over 100,000 IPv6 routes in a network namespace,
//! against `ip -6 route show` in the same run, and the agent's peak RSS. Not a timed test: it
//! prints a markdown table (docs/benchmarks.md, "Router agent"). Needs root; makes and deletes
//! its own namespace.
//!
//! `cargo bench -p govcloud-agent --bench routes [-- --runs N --size ROUTES --out FILE]`

mod support;

use std::fmt::Write as _;
use std::net::Ipv6Addr;
use std::time::Instant;

use futures::TryStreamExt as _;
use govcloud_agent::netlink::{Netlink, Operation, request};
use govcloud_agent::observe::route_summary;
use netlink_packet_route::AddressFamily;
use rtnetlink::RouteMessageBuilder;
use support::netns::Namespace;
use support::{Options, Row};

fn main() {
    let options = Options::parse(21, 100_000);
    if options.child {
        child();
    } else if options.inner {
        inner(&options);
    } else if support::is_root() {
        outer(&options);
    } else {
        eprintln!("skipping the routes benchmark: making a network namespace needs root");
    }
}

/// `--child`: one collection as the agent runs it, then the routes seen and `VmHWM`.
fn child() {
    let summaries = route_summary().expect("route summary");
    let routes: u64 = summaries.iter().map(|summary| summary.routes).sum();
    println!("{routes} {}", support::own_peak_rss_kib());
}

/// Makes the namespace, fills it with `--size` IPv6 routes, and measures inside it.
fn outer(options: &Options) {
    let namespace = Namespace::create("govcloud-bench");
    namespace.ip(&["link", "add", "r0", "type", "veth", "peer", "name", "r1"]);
    // No link-local addresses: they would add routes while the benchmark counts.
    for device in ["r0", "r1"] {
        namespace.ip(&["link", "set", device, "addrgenmode", "none"]);
        namespace.ip(&["link", "set", device, "up"]);
    }
    namespace.ip(&[
        "-6",
        "address",
        "add",
        "2001:db8::1/64",
        "dev",
        "r0",
        "nodad",
    ]);
    let mut batch = String::new();
    for route in 0..options.size {
        let _ = writeln!(
            batch,
            "route add 2001:db8:{:x}:{:x}::/64 dev r0",
            (route >> 16) + 1,
            route & 0xffff
        );
    }
    let file = std::env::temp_dir().join(format!("govcloud-bench-routes-{}", std::process::id()));
    std::fs::write(&file, batch).expect("write the batch file");
    let start = Instant::now();
    namespace.ip(&["-6", "-batch", file.to_str().expect("UTF-8 path")]);
    eprintln!(
        "{} routes added in {:.1} s",
        options.size,
        start.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_file(&file);
    support::run_inside(&namespace, options);
}

/// The IPv6 routes of every table as the kernel dumps them to the agent's socket, unparsed.
fn kernel_dump() -> u64 {
    let mut netlink = Netlink::route().expect("socket");
    let mut messages = 0;
    let operation = Operation("bench: dump IPv6 routes");
    netlink
        .exchange(
            operation,
            &request::route_dump(AddressFamily::Inet6),
            |_, _| {
                messages += 1;
                Ok(())
            },
        )
        .expect("dump");
    messages
}

/// A plain rtnetlink 0.24 dump loop (one connection per run), for reference.
fn rtnetlink_loop(runtime: &tokio::runtime::Runtime) -> u64 {
    runtime.block_on(async {
        let (connection, handle, _) = rtnetlink::new_connection().expect("rtnetlink connection");
        let task = tokio::spawn(connection);
        let mut routes = handle
            .route()
            .get(RouteMessageBuilder::<Ipv6Addr>::new().build())
            .execute();
        let mut count = 0;
        while routes.try_next().await.expect("route").is_some() {
            count += 1;
        }
        task.abort();
        count
    })
}

/// Inside the namespace: every row `--runs` times, interleaved; checks every count.
fn inner(options: &Options) {
    let ip_lines = support::count_lines(&["ip", "-6", "route", "show"]);
    let all_v6 = kernel_dump();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let me = std::env::current_exe().expect("current executable");
    let me = me.to_str().expect("UTF-8 path");
    let mut rows = vec![
        Row::command(
            "`ip -6 route show` (output to /dev/null)",
            &["ip", "-6", "route", "show"],
        ),
        Row::call(
            "agent: `observe::route_summary()`, in process (both families, all tables)",
            || {
                let summaries = route_summary().expect("route summary");
                let main = summaries
                    .iter()
                    .find(|summary| summary.family == "inet6" && summary.table == 254);
                assert_eq!(
                    main.map(|summary| summary.routes),
                    Some(ip_lines),
                    "agent and ip disagree"
                );
            },
        ),
        Row::command(
            "agent: the same in a fresh process (`--child`)",
            &[me, "--child"],
        ),
        Row::call(
            "kernel's dump alone: the agent's socket, IPv6, messages not read",
            || {
                assert_eq!(kernel_dump(), all_v6);
            },
        ),
        Row::call(
            "plain rtnetlink 0.24 `route().get()` loop (reference)",
            || {
                assert_eq!(rtnetlink_loop(&runtime), all_v6);
            },
        ),
    ];
    support::measure(&mut rows, options.runs);
    rows[0].peak_rss_kib = support::peak_rss_kib(&["ip", "-6", "route", "show"]);
    rows[2].peak_rss_kib = child_peak_rss(me);
    let mut text = format!(
        "### Route inventory: {ip_lines} IPv6 routes in table main ({all_v6} in all IPv6 tables)\n\n{}\n",
        support::machine()
    );
    text.push_str("Ratios are to `ip -6 route show`'s median. CPU is from `/proc/self/stat` (10 ms ticks summed over the runs).\n\n");
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
