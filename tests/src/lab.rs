//! The network lab: routers as Linux network namespaces joined by veth pairs, two per link
//! (the plan's 双千兆 / 双百兆 member pairs), built with the real `ip` and torn down when the
//! [`Lab`] is dropped. Every command names its namespace (`ip -n`, `ip link add … netns`), so the
//! host's namespace is never touched; the namespaces carry a per-lab prefix, so labs of
//! concurrent tests never meet.
//!
//! [`Topology::ankang`] is the reference lab: a city router, two county routers under it and
//! one township router under each county.

use std::process::Command;

use serde_json::{Value, json};

/// One router of the lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabRouter {
    /// The `Router` object's name (and, with the lab's prefix, its namespace's).
    pub name: String,
    /// `City`, `County` or `Township`.
    pub level: &'static str,
    /// Its division code.
    pub division_code: String,
    /// The router one level up.
    pub upstream: Option<String>,
}

/// One link of the lab: two veth pairs between an upstream and a downstream router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabLink {
    /// The `ExtranetLink` object's name.
    pub name: String,
    /// `CityCounty` or `CountyTownship`.
    pub tier: &'static str,
    pub upstream: String,
    /// The member interfaces at the upstream end.
    pub upstream_members: [String; 2],
    pub downstream: String,
    /// The member interfaces at the downstream end.
    pub downstream_members: [String; 2],
}

/// Routers and links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    pub routers: Vec<LabRouter>,
    pub links: Vec<LabLink>,
}

impl Topology {
    /// A city router, two county routers and two township routers (one per county).
    pub fn ankang() -> Self {
        let router = |name: &str, level, code: &str, upstream: Option<&str>| LabRouter {
            name: name.to_owned(),
            level,
            division_code: code.to_owned(),
            upstream: upstream.map(str::to_owned),
        };
        let routers = vec![
            router("lab-city", "City", "610900", None),
            router("lab-hanbin", "County", "610902", Some("lab-city")),
            router("lab-shiquan", "County", "610922", Some("lab-city")),
            router("lab-jiangbei", "Township", "610902001", Some("lab-hanbin")),
            router(
                "lab-chengguan",
                "Township",
                "610922100",
                Some("lab-shiquan"),
            ),
        ];
        let link = |upstream: &LabRouter, downstream: &LabRouter, tier, short: &str| LabLink {
            name: format!(
                "{}-{}",
                upstream.name,
                downstream.name.trim_start_matches("lab-")
            ),
            tier,
            upstream: upstream.name.clone(),
            upstream_members: [format!("{short}a"), format!("{short}b")],
            downstream: downstream.name.clone(),
            downstream_members: ["upa".to_owned(), "upb".to_owned()],
        };
        let links = vec![
            link(&routers[0], &routers[1], "CityCounty", "hanbin"),
            link(&routers[0], &routers[2], "CityCounty", "shiquan"),
            link(&routers[1], &routers[3], "CountyTownship", "jiangbei"),
            link(&routers[2], &routers[4], "CountyTownship", "chengguan"),
        ];
        Self { routers, links }
    }

    /// The `Router` and `ExtranetLink` objects describing the lab, for the API server.
    pub fn objects(&self, report_interval_seconds: u32) -> Vec<Value> {
        self.objects_with_lans(report_interval_seconds, false)
    }

    /// The objects, each router declaring its LAN interface [`LAN`] (role `Lan`) when `lans`:
    /// the lab built with [`Lab::add_hosts`] has one.
    pub fn objects_with_lans(&self, report_interval_seconds: u32, lans: bool) -> Vec<Value> {
        let mut objects = Vec::new();
        for router in &self.routers {
            let mut interfaces: Vec<Value> = Vec::new();
            if lans {
                interfaces.push(json!({ "name": LAN, "role": "Lan" }));
            }
            for link in &self.links {
                if link.upstream == router.name {
                    for member in &link.upstream_members {
                        interfaces.push(json!({ "name": member, "role": "Downlink" }));
                    }
                }
                if link.downstream == router.name {
                    for member in &link.downstream_members {
                        interfaces.push(json!({ "name": member, "role": "Uplink" }));
                    }
                }
            }
            let mut spec = json!({
                "displayName": format!("lab router {}", router.name),
                "site": { "level": router.level, "divisionCode": router.division_code, "name": router.name },
                "interfaces": interfaces,
                "reportIntervalSeconds": report_interval_seconds,
            });
            if let Some(upstream) = &router.upstream {
                spec["upstream"] = json!(upstream);
            }
            objects.push(json!({
                "apiVersion": "govcloud.io/v1alpha1", "kind": "Router",
                "metadata": { "name": router.name }, "spec": spec,
            }));
        }
        for link in &self.links {
            objects.push(json!({
                "apiVersion": "govcloud.io/v1alpha1", "kind": "ExtranetLink",
                "metadata": { "name": link.name },
                "spec": {
                    "tier": link.tier,
                    "upstream": { "router": link.upstream, "members": link.upstream_members },
                    "downstream": { "router": link.downstream, "members": link.downstream_members },
                    "utilisationWindow": "1h",
                },
            }));
        }
        objects
    }
}

/// The LAN interface of every router of a lab with hosts ([`Lab::add_hosts`]).
pub const LAN: &str = "lan0";

/// The interface of a host namespace towards its router's LAN.
pub const HOST_INTERFACE: &str = "eth0";

/// Why the lab could not be built or changed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("failed to run `ip {args}`: {source}")]
    Spawn {
        args: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`ip {args}` failed: {stderr}")]
    Failed { args: String, stderr: String },
    #[error("no router {0} in the lab")]
    UnknownRouter(String),
}

/// Runs `ip` with `args`.
pub fn ip(args: &[&str]) -> Result<String, LabError> {
    let joined = args.join(" ");
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|source| LabError::Spawn {
            args: joined.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(LabError::Failed {
            args: joined,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A built lab; its namespaces are deleted when it is dropped.
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    topology: Topology,
    namespaces: Vec<String>,
}

impl Lab {
    /// Builds `topology` with namespaces named `<prefix>-<router>`: loopback up in each, two
    /// veth pairs per link, all members up, an IPv4 /30 on each member (`10.<link>.<member>.0/30`,
    /// upstream .1, downstream .2).
    pub fn up(topology: Topology, prefix: &str) -> Result<Self, LabError> {
        let mut lab = Self {
            prefix: prefix.to_owned(),
            topology,
            namespaces: Vec::new(),
        };
        let routers: Vec<String> = lab
            .topology
            .routers
            .iter()
            .map(|r| r.name.clone())
            .collect();
        for router in &routers {
            let namespace = lab.namespace_of(router);
            // A leftover of a crashed run of the same prefix goes first.
            let _ = ip(&["netns", "del", &namespace]);
            ip(&["netns", "add", &namespace])?;
            lab.namespaces.push(namespace.clone());
            ip(&["-n", &namespace, "link", "set", "lo", "up"])?;
        }
        let links = lab.topology.links.clone();
        for (l, link) in links.iter().enumerate() {
            let up_ns = lab.namespace_of(&link.upstream);
            let down_ns = lab.namespace_of(&link.downstream);
            for m in 0..2 {
                let (up_if, down_if) = (&link.upstream_members[m], &link.downstream_members[m]);
                ip(&[
                    "-n", &up_ns, "link", "add", up_if, "type", "veth", "peer", "name", down_if,
                    "netns", &down_ns,
                ])?;
                let subnet = format!("10.{}.{}", l + 1, m);
                ip(&[
                    "-n",
                    &up_ns,
                    "addr",
                    "add",
                    &format!("{subnet}.1/30"),
                    "dev",
                    up_if,
                ])?;
                ip(&[
                    "-n",
                    &down_ns,
                    "addr",
                    "add",
                    &format!("{subnet}.2/30"),
                    "dev",
                    down_if,
                ])?;
                ip(&["-n", &up_ns, "link", "set", up_if, "up"])?;
                ip(&["-n", &down_ns, "link", "set", down_if, "up"])?;
            }
        }
        Ok(lab)
    }

    /// The namespace of `router`.
    pub fn namespace_of(&self, router: &str) -> String {
        format!("{}-{}", self.prefix, router.trim_start_matches("lab-"))
    }

    /// The namespace of the host on `router`'s LAN ([`Lab::add_hosts`]).
    pub fn host_of(&self, router: &str) -> String {
        format!("{}-h-{}", self.prefix, router.trim_start_matches("lab-"))
    }

    /// Gives every router a LAN: a veth pair between [`LAN`] in the router's namespace and
    /// [`HOST_INTERFACE`] in a host namespace of its own, both up. Addresses are left to the
    /// agent (the router's) and to the test (the host's).
    pub fn add_hosts(&mut self) -> Result<(), LabError> {
        let routers: Vec<String> = self
            .topology
            .routers
            .iter()
            .map(|r| r.name.clone())
            .collect();
        for router in &routers {
            let (namespace, host) = (self.namespace_of(router), self.host_of(router));
            let _ = ip(&["netns", "del", &host]);
            ip(&["netns", "add", &host])?;
            self.namespaces.push(host.clone());
            ip(&["-n", &host, "link", "set", "lo", "up"])?;
            ip(&[
                "-n",
                &namespace,
                "link",
                "add",
                LAN,
                "type",
                "veth",
                "peer",
                "name",
                HOST_INTERFACE,
                "netns",
                &host,
            ])?;
            ip(&["-n", &namespace, "link", "set", LAN, "up"])?;
            ip(&["-n", &host, "link", "set", HOST_INTERFACE, "up"])?;
        }
        Ok(())
    }

    /// Makes every router's namespace route IPv6 as a router should: forwarding on, routes
    /// whose link lost carrier not used (`ignore_routes_with_linkdown`, so a multipath route
    /// over two link members keeps to the live one), addresses kept while a member is down
    /// (`keep_addr_on_down`). On a real router these are the operating system's settings.
    pub fn enable_ipv6_routing(&self) -> Result<(), LabError> {
        for router in &self.topology.routers {
            let namespace = self.namespace_of(&router.name);
            for setting in [
                "net.ipv6.conf.all.forwarding=1",
                "net.ipv6.conf.all.ignore_routes_with_linkdown=1",
                "net.ipv6.conf.default.ignore_routes_with_linkdown=1",
                "net.ipv6.conf.all.keep_addr_on_down=1",
                "net.ipv6.conf.default.keep_addr_on_down=1",
            ] {
                ip(&["netns", "exec", &namespace, "sysctl", "-qw", setting])?;
            }
            // Interfaces made before the defaults changed take the setting one by one.
            let links = ip(&["-n", &namespace, "-o", "link", "show"])?;
            for name in links
                .lines()
                .filter_map(|line| line.split(": ").nth(1))
                .map(|name| name.split('@').next().unwrap_or(name))
                .filter(|name| *name != "lo")
            {
                for key in ["ignore_routes_with_linkdown", "keep_addr_on_down"] {
                    let setting = format!("net.ipv6.conf.{name}.{key}=1");
                    ip(&["netns", "exec", &namespace, "sysctl", "-qw", &setting])?;
                }
            }
        }
        Ok(())
    }

    /// Runs `command` with `args` inside `namespace` (`ip netns exec`); its standard output, or
    /// the failure with its standard error.
    pub fn exec(&self, namespace: &str, command: &str, args: &[&str]) -> Result<String, LabError> {
        let mut full = vec!["netns", "exec", namespace, command];
        full.extend_from_slice(args);
        ip(&full)
    }

    /// The topology built.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Sets `interface` of `router` up or down (`ip link set DEV up|down` in its namespace).
    pub fn set_link(&self, router: &str, interface: &str, up: bool) -> Result<(), LabError> {
        if !self.topology.routers.iter().any(|r| r.name == router) {
            return Err(LabError::UnknownRouter(router.to_owned()));
        }
        let namespace = self.namespace_of(router);
        ip(&[
            "-n",
            &namespace,
            "link",
            "set",
            interface,
            if up { "up" } else { "down" },
        ])
        .map(drop)
    }

    /// Deletes the namespaces (and with them the veth pairs).
    pub fn down(mut self) -> Result<(), LabError> {
        self.delete()
    }

    /// Leaves the lab up after this value is gone (for `govcloud-lab up`); [`remove`] takes it
    /// down later by its prefix.
    pub fn keep(mut self) -> Vec<String> {
        std::mem::take(&mut self.namespaces)
    }

    fn delete(&mut self) -> Result<(), LabError> {
        let mut first_error = None;
        for namespace in self.namespaces.drain(..) {
            if let Err(error) = ip(&["netns", "del", &namespace]) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Deletes every namespace named `<prefix>-…` (a lab left up by [`Lab::keep`]); returns them.
pub fn remove(prefix: &str) -> Result<Vec<String>, LabError> {
    let listed = ip(&["netns", "list"])?;
    let mut removed = Vec::new();
    for namespace in listed
        .lines()
        .filter_map(|line| line.split_whitespace().next())
    {
        if namespace.starts_with(&format!("{prefix}-")) {
            ip(&["netns", "del", namespace])?;
            removed.push(namespace.to_owned());
        }
    }
    Ok(removed)
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.delete();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ankang_lab_has_five_routers_and_four_paired_links() {
        let topology = Topology::ankang();
        assert_eq!(topology.routers.len(), 5);
        assert_eq!(topology.links.len(), 4);
        for link in &topology.links {
            for member in link.upstream_members.iter().chain(&link.downstream_members) {
                assert!(
                    member.len() <= 15,
                    "{member} is too long for an interface name"
                );
            }
        }
        let objects = topology.objects(5);
        assert_eq!(objects.len(), 9);
        assert_eq!(
            objects[5]["spec"]["upstream"]["members"],
            json!(["hanbina", "hanbinb"])
        );
        assert_eq!(
            objects[1]["spec"]["interfaces"].as_array().map(Vec::len),
            Some(4)
        );
    }
}
