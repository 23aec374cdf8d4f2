//! The IPv6 rollout in the network lab, end to end: five routers as network
//! namespaces, each with a LAN and a host behind it, local mode with an address pool, one real
//! `govcloud-agent run` per router fetching its desired configuration over mutual TLS and
//! converging its namespace's kernel to it. Once every site is IPv6-ready (addresses, routes and
//! its probe of the city's LAN), a host behind a township router reaches a host behind the city
//! router with `ping -6`, still does with one member of each link on the path down, and the
//! API counts five sites ready of five. The dedicated networks' VLAN and VRF segments are applied
//! where the kernel has the drivers (isolation between two departments' VRFs checked there);
//! where it has not, the failure is reported in the router's status, rolled back, never undoes
//! the base configuration, and goes away with the networks. Needs root (skips with a reason
//! otherwise, fails under `GOVCLOUD_REQUIRE_ALL=1`); touches only its own namespaces.

#![allow(clippy::too_many_lines)]

mod lab_support;

use std::fmt::Write as _;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use govcloud_crds::api::Ipv6Status;
use govcloud_crds::network::dedicated_network::DedicatedNetwork;
use govcloud_crds::{ExtranetLink, Router};
use govcloud_tests::lab::{HOST_INTERFACE, LAN, Lab, Topology};
use govcloud_tests::workspace_root;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use lab_support::{Agents, api_client, enroll, spawn_agent, start_plane};

/// The agents' reporting interval in the lab, in seconds.
const INTERVAL: u64 = 1;

/// The agents' `[config]` table: fetch and converge, long polls of two seconds.
const CONVERGE: &str = "[config]\nenabled = true\npoll_seconds = 2\n";

/// A seed with the city's tenants and one address pool for the lab.
fn seed(dir: &Path) -> PathBuf {
    let seed = dir.join("seed");
    std::fs::create_dir_all(&seed).expect("seed directory");
    for file in ["00-namespaces.yaml", "10-tenants.yaml"] {
        std::fs::copy(
            workspace_root().join("examples/ankang").join(file),
            seed.join(file),
        )
        .expect("copy the seed");
    }
    std::fs::write(
        seed.join("50-address-pool.yaml"),
        "apiVersion: govcloud.io/v1alpha1\nkind: AddressPool\nmetadata:\n  name: lab\nspec:\n  \
         prefix: \"2001:db8:b00::/48\"\n  releaseHold: 2s\n",
    )
    .expect("write the pool");
    seed
}

/// The global IPv6 address (with its length) on `interface` in `namespace`, if any.
fn global_address(namespace: &str, interface: &str) -> Option<(Ipv6Addr, u8)> {
    let shown = govcloud_tests::lab::ip(&[
        "-n", namespace, "-6", "-j", "addr", "show", "dev", interface, "scope", "global",
    ])
    .ok()?;
    let links: serde_json::Value = serde_json::from_str(&shown).ok()?;
    let info = links.get(0)?.get("addr_info")?.as_array()?;
    info.iter().find_map(|a| {
        let address: Ipv6Addr = a.get("local")?.as_str()?.parse().ok()?;
        let length = u8::try_from(a.get("prefixlen")?.as_u64()?).ok()?;
        Some((address, length))
    })
}

/// Gives the host behind `router` the LAN's address after the router's and a default route
/// through the router; returns the host's address.
fn configure_host(lab: &Lab, router: &str) -> Ipv6Addr {
    let namespace = lab.namespace_of(router);
    let (gateway, length) =
        global_address(&namespace, LAN).unwrap_or_else(|| panic!("{router} has no LAN address"));
    let host = Ipv6Addr::from(u128::from(gateway) + 1);
    let ns = lab.host_of(router);
    let ip = govcloud_tests::lab::ip;
    ip(&[
        "-n",
        &ns,
        "-6",
        "addr",
        "add",
        &format!("{host}/{length}"),
        "dev",
        HOST_INTERFACE,
        "nodad",
    ])
    .expect("the host's address");
    ip(&[
        "-n",
        &ns,
        "-6",
        "route",
        "add",
        "default",
        "via",
        &gateway.to_string(),
    ])
    .expect("the host's default route");
    host
}

/// Pings `target` from the host behind `router` until it answers or `seconds` pass.
fn reaches(lab: &Lab, router: &str, target: Ipv6Addr, seconds: u64) -> Result<Duration, String> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        match lab.exec(
            &lab.host_of(router),
            "ping",
            &["-6", "-c", "1", "-W", "1", &target.to_string()],
        ) {
            Ok(_) => return Ok(started.elapsed()),
            Err(error) => last = error.to_string(),
        }
    }
    Err(last)
}

/// Every router's IPv6 routes and addresses, for a failure's message.
fn routes_of(lab: &Lab) -> String {
    let mut text = String::new();
    for router in &lab.topology().routers {
        let namespace = lab.namespace_of(&router.name);
        for what in [
            &["-6", "route", "show"][..],
            &["-6", "-br", "addr", "show"][..],
        ] {
            let mut args = vec!["-n", namespace.as_str()];
            args.extend_from_slice(what);
            let shown = govcloud_tests::lab::ip(&args).unwrap_or_else(|e| e.to_string());
            let _ = writeln!(text, "== {} {}:\n{shown}", router.name, what.join(" "));
        }
    }
    text
}

/// The condition `kind` of `router`: status and message.
async fn condition(routers: &Api<Router>, router: &str, kind: &str) -> Option<(String, String)> {
    let router = routers.get(router).await.ok()?;
    let status = router.status?;
    let found = status.conditions.into_iter().find(|c| c.type_ == kind)?;
    Some((found.status, found.message))
}

/// Waits until `check` holds for every router of `names`; panics after `seconds` with what each
/// showed last.
async fn wait_routers(
    routers: &Api<Router>,
    names: &[String],
    kind: &str,
    want: impl Fn(&str, &str) -> bool,
    seconds: u64,
) {
    let started = Instant::now();
    loop {
        let mut last = Vec::new();
        for name in names {
            let shown = condition(routers, name, kind).await;
            let ok = shown.as_ref().is_some_and(|(s, m)| want(s, m));
            if !ok {
                last.push(format!("{name}: {shown:?}"));
            }
        }
        if last.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(seconds),
            "timed out after {seconds} s waiting for {kind}; last seen: {last:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Whether this kernel can make VRF and VLAN devices (it answers "Unknown device type" when
/// built without them).
fn kernel_has_vrf_and_vlan(prefix: &str) -> bool {
    let namespace = format!("{prefix}-probe");
    let ip = govcloud_tests::lab::ip;
    let _ = ip(&["netns", "del", &namespace]);
    if ip(&["netns", "add", &namespace]).is_err() {
        return false;
    }
    let vrf = ip(&[
        "-n", &namespace, "link", "add", "v0", "type", "vrf", "table", "10",
    ])
    .is_ok();
    let vlan = ip(&[
        "-n", &namespace, "link", "add", "p0", "type", "veth", "peer", "name", "p1",
    ])
    .and_then(|_| {
        ip(&[
            "-n", &namespace, "link", "add", "link", "p0", "name", "p0.5", "type", "vlan", "id",
            "5",
        ])
    })
    .is_ok();
    let _ = ip(&["netns", "del", &namespace]);
    vrf && vlan
}

fn dedicated_network(name: &str, department: &str, router: &str) -> DedicatedNetwork {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "DedicatedNetwork",
        "metadata": { "name": name },
        "spec": {
            "displayName": name, "department": department,
            "classification": "Unclassified", "lifecycle": "Existing",
            "annualCostYuan": 100_000, "sites": [{ "router": router }],
        },
    }))
    .expect("a DedicatedNetwork")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_township_host_reaches_the_city_over_ipv6_and_keeps_reaching_it_with_a_member_down() {
    let test =
        "a_township_host_reaches_the_city_over_ipv6_and_keeps_reaching_it_with_a_member_down";
    if !govcloud_tests::require::is_root() {
        govcloud_tests::require::skip(test, "the lab creates network namespaces, which needs root");
        return;
    }
    if std::process::Command::new("ping")
        .arg("-V")
        .output()
        .is_err()
    {
        govcloud_tests::require::skip(
            test,
            "`ping` (Debian package iputils-ping) is not installed",
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = seed(dir.path());
    let plane = start_plane(
        &dir.path().join("data"),
        &seed,
        "127.0.0.1:0".parse().expect("address"),
    )
    .await;
    let topology = Topology::ankang();
    for object in topology.objects_with_lans(5, true) {
        if object["kind"] == "Router" {
            let router: Router = serde_json::from_value(object).expect("a Router");
            Api::<Router>::all(plane.client.clone())
                .create(&PostParams::default(), &router)
                .await
                .expect("create the Router");
        } else {
            let link: ExtranetLink = serde_json::from_value(object).expect("a link");
            Api::<ExtranetLink>::all(plane.client.clone())
                .create(&PostParams::default(), &link)
                .await
                .expect("create the link");
        }
    }
    let prefix = format!("gc6{}", std::process::id());
    let mut lab = Lab::up(topology.clone(), &prefix).expect("the lab");
    lab.add_hosts().expect("the hosts");
    lab.enable_ipv6_routing().expect("IPv6 routing");
    let mut agents = Agents::default();
    for router in &topology.routers {
        let config = enroll(
            &plane,
            dir.path(),
            &router.name,
            &lab.namespace_of(&router.name),
            INTERVAL,
            CONVERGE,
        )
        .await;
        let log = dir.path().join(format!("{}.log", router.name));
        agents
            .children
            .push((router.name.clone(), spawn_agent(&config, &log)));
    }
    let routers: Api<Router> = Api::all(plane.client.clone());
    let names: Vec<String> = topology.routers.iter().map(|r| r.name.clone()).collect();
    let started = Instant::now();
    wait_routers(&routers, &names, "Ipv6Ready", |s, _| s == "True", 120).await;
    eprintln!(
        "every site IPv6-ready {:?} after the agents started",
        started.elapsed()
    );

    // A host behind a township router reaches a host behind the city router.
    let city = configure_host(&lab, "lab-city");
    configure_host(&lab, "lab-jiangbei");
    let took = reaches(&lab, "lab-jiangbei", city, 15).expect("jiangbei's host reaches the city's");
    eprintln!("ping -6 answered after {took:?}");

    // One member of each link on the path down, the first then the second: whichever member
    // the multipath routes' hash had chosen, they keep to the live one.
    let city_hanbin = &topology.links[0];
    let hanbin_jiangbei = &topology.links[2];
    for member in 0..2 {
        lab.set_link(
            &city_hanbin.upstream,
            &city_hanbin.upstream_members[member],
            false,
        )
        .expect("a city–hanbin member down");
        lab.set_link(
            &hanbin_jiangbei.downstream,
            &hanbin_jiangbei.downstream_members[member],
            false,
        )
        .expect("a hanbin–jiangbei member down");
        let took = reaches(&lab, "lab-jiangbei", city, 15).unwrap_or_else(|error| {
            panic!(
                "no longer reaches the city with member {member} of each link down: {error}\n{}",
                routes_of(&lab)
            )
        });
        eprintln!("with member {member} of each link down, ping -6 answered after {took:?}");
        lab.set_link(
            &city_hanbin.upstream,
            &city_hanbin.upstream_members[member],
            true,
        )
        .expect("member up");
        lab.set_link(
            &hanbin_jiangbei.downstream,
            &hanbin_jiangbei.downstream_members[member],
            true,
        )
        .expect("member up");
    }

    // The API counts five sites ready of five (once the members are back and the agents
    // have converged and probed again).
    let (client, server, token) = api_client(&plane);
    let started = Instant::now();
    loop {
        let status: Ipv6Status = client
            .get(format!("{server}/v1/ipv6"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET /v1/ipv6")
            .error_for_status()
            .expect("the rollout's status")
            .json()
            .await
            .expect("an Ipv6Status");
        if (status.ready, status.total) == (5, 5) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not every site is ready: {status:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Two departments' networks consolidated at the city.
    let networks: Api<DedicatedNetwork> = Api::all(plane.client.clone());
    for (name, department) in [("lab-medins", "city-medins"), ("lab-hrss", "city-hrss")] {
        networks
            .create(
                &PostParams::default(),
                &dedicated_network(name, department, "lab-city"),
            )
            .await
            .expect("create the DedicatedNetwork");
    }
    let city_router = vec!["lab-city".to_owned()];
    let city_ns = lab.namespace_of("lab-city");
    if kernel_has_vrf_and_vlan(&prefix) {
        // `ConfigApplied` is `True` already (for the generation before the networks), and the
        // segments may come in more than one generation: wait until the router says applied and
        // the kernel holds both VRFs, each with its address.
        let started = Instant::now();
        let (vrfs, addresses) = loop {
            let applied = condition(&routers, "lab-city", "ConfigApplied")
                .await
                .is_some_and(|(s, _)| s == "True");
            let vrfs =
                govcloud_tests::lab::ip(&["-n", &city_ns, "-j", "link", "show", "type", "vrf"])
                    .expect("list VRFs");
            let vrfs: serde_json::Value = serde_json::from_str(&vrfs).expect("JSON");
            // Each network's address answers inside its own VRF only.
            let addresses: Vec<(String, Ipv6Addr)> = vrfs
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v["ifname"].as_str())
                .filter_map(|vrf| {
                    let shown = govcloud_tests::lab::ip(&[
                        "-n", &city_ns, "-6", "-j", "addr", "show", "master", vrf, "scope",
                        "global",
                    ])
                    .ok()?;
                    let parsed: serde_json::Value = serde_json::from_str(&shown).ok()?;
                    let local = parsed
                        .get(0)?
                        .get("addr_info")?
                        .get(0)?
                        .get("local")?
                        .as_str()?;
                    Some((vrf.to_owned(), local.parse().ok()?))
                })
                .collect();
            if applied && vrfs.as_array().map(Vec::len) == Some(2) && addresses.len() == 2 {
                break (vrfs, addresses);
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the segments were not applied: ConfigApplied {applied}, {vrfs}, {addresses:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        assert_eq!(vrfs.as_array().map(Vec::len), Some(2), "{vrfs}");
        assert_eq!(addresses.len(), 2, "{addresses:?}");
        let (vrf_a, _) = &addresses[0];
        let (_, address_b) = &addresses[1];
        let crossed = lab.exec(
            &city_ns,
            "ip",
            &[
                "vrf",
                "exec",
                vrf_a,
                "ping",
                "-6",
                "-c",
                "1",
                "-W",
                "1",
                &address_b.to_string(),
            ],
        );
        assert!(
            crossed.is_err(),
            "{vrf_a} reached {address_b} of the other VRF"
        );
    } else {
        // This kernel has no VRF or 802.1Q drivers: the segments' batches fail, are rolled
        // back and reported, and the base configuration stays applied.
        wait_routers(
            &routers,
            &city_router,
            "ConfigApplied",
            |s, m| s == "False" && m.contains("VRF"),
            60,
        )
        .await;
        reaches(&lab, "lab-jiangbei", city, 15)
            .expect("the base configuration survives the segments' failure");
        // The failed segments are the configuration's, not the site's IPv6 readiness.
        wait_routers(&routers, &city_router, "Ipv6Ready", |s, _| s == "True", 30).await;
        let vlans =
            govcloud_tests::lab::ip(&["-n", &city_ns, "-o", "link", "show"]).expect("list links");
        assert!(
            !vlans.contains("vlan"),
            "a half-made segment was left: {vlans}"
        );
    }

    // Deleting the networks removes their segments from every router.
    for name in ["lab-medins", "lab-hrss"] {
        networks
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete the DedicatedNetwork");
    }
    // Where the segments were applied, `ConfigApplied` is `True` already: wait for the kernel
    // to be rid of them too.
    let started = Instant::now();
    let links = loop {
        let applied = condition(&routers, "lab-city", "ConfigApplied")
            .await
            .is_some_and(|(s, _)| s == "True");
        let links =
            govcloud_tests::lab::ip(&["-n", &city_ns, "-o", "link", "show"]).expect("links");
        if applied && !links.contains("vrf") && !links.contains("vlan") {
            break links;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the segments stay: ConfigApplied {applied}, links {links}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        !links.contains("vrf") && !links.contains("vlan"),
        "segments left after their networks were deleted: {links}"
    );
    reaches(&lab, "lab-jiangbei", city, 15).expect("still reaches the city");
    drop(agents);
    lab.down().expect("tear the lab down");
    plane.shutdown().await;
}
