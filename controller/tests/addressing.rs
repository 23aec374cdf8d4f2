//! The `AddressPool` controller end to end against the embedded API server over real HTTPS
//! with real watches, the controllers run as local mode runs them (`run_controllers`) on a
//! SQLite ledger: a city/county/township tree gets nested, nibble-aligned, non-overlapping
//! prefixes in each `Router`'s status and totals in the pool's; a restart changes nothing;
//! a deleted router's prefix is held, then reused; an exhausted parent is reported with counts;
//! overlapping and misaligned pools are refused naming the field, by the API server (CEL) or by
//! the controller (`Ready=False`).

#![allow(clippy::too_many_lines, clippy::missing_panics_doc)]

use crate::controllers_support;

use std::collections::BTreeMap;
use std::time::Duration;

use controllers_support::{Harness, eventually};
use govcloud_controller::storage::IpamAllocation;
use govcloud_core::ipam::Prefix;
use govcloud_crds::{AddressPool, DedicatedNetwork, ExtranetLink, Router};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};

const POOL: &str = "v6";

fn pool(name: &str, prefix: &str, lengths: &Value, extra: &Value) -> AddressPool {
    // A hold long enough that a loaded machine allocates the next router within it.
    let mut spec = json!({"prefix": prefix, "lengths": lengths, "releaseHold": "10s"});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "AddressPool",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .expect("a pool")
}

fn default_lengths() -> Value {
    json!({"city": 48, "county": 56, "township": 60, "segment": 64})
}

async fn create_pool(h: &Harness, pool: &AddressPool) {
    Api::<AddressPool>::all(h.client.clone())
        .create(&PostParams::default(), pool)
        .await
        .expect("create the pool");
}

/// A router of `pool` (labelled, when given) with `lans` LAN interfaces.
fn router(
    name: &str,
    level: &str,
    upstream: Option<&str>,
    pool: Option<&str>,
    lans: usize,
) -> Router {
    let code = match level {
        "Township" => "610921100",
        "County" => "610921",
        _ => "610900",
    };
    let mut interfaces = vec![json!({"name": "up-a", "role": "Uplink"})];
    interfaces.extend((0..lans).map(|i| json!({"name": format!("lan{i}"), "role": "Lan"})));
    let mut spec = json!({
        "displayName": name,
        "site": {"level": level, "divisionCode": code, "name": name},
        "interfaces": interfaces,
    });
    if let Some(upstream) = upstream {
        spec["upstream"] = json!(upstream);
    }
    let labels = pool.map_or_else(|| json!({}), |p| json!({"govcloud.io/address-pool": p}));
    serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "Router",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }))
    .expect("a router")
}

async fn create_router(h: &Harness, router: &Router) {
    Api::<Router>::all(h.client.clone())
        .create(&PostParams::default(), router)
        .await
        .expect("create a router");
}

async fn delete<K>(h: &Harness, name: &str)
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::ClusterResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    Api::<K>::all(h.client.clone())
        .delete(name, &DeleteParams::default())
        .await
        .expect("delete");
}

/// Waits until the router shows a prefix; returns it.
async fn prefix_of(h: &Harness, name: &str) -> Prefix {
    let routers: Api<Router> = Api::all(h.client.clone());
    eventually(&format!("router {name} to get a prefix"), 30, || {
        let routers = routers.clone();
        async move {
            let status = routers.get(name).await.ok()?.status?;
            let prefix = status.prefix?;
            Some(Prefix::parse(prefix.as_str()).expect("a prefix in the status"))
        }
    })
    .await
}

/// Waits until the router's `AddressAssigned` has `reason`; returns the condition.
async fn address_condition(h: &Harness, name: &str, reason: &str) -> (Condition, Option<String>) {
    let routers: Api<Router> = Api::all(h.client.clone());
    eventually(
        &format!("router {name}'s AddressAssigned to be {reason}"),
        30,
        || {
            let routers = routers.clone();
            async move {
                let status = routers.get(name).await.ok()?.status?;
                let condition = status
                    .conditions
                    .into_iter()
                    .find(|c| c.type_ == "AddressAssigned" && c.reason == reason)?;
                Some((condition, status.prefix.map(|p| p.as_str().to_owned())))
            }
        },
    )
    .await
}

/// Waits until the pool's condition `kind` has `status`; returns the condition.
async fn pool_condition(h: &Harness, name: &str, kind: &str, status: &str) -> Condition {
    let pools: Api<AddressPool> = Api::all(h.client.clone());
    eventually(&format!("pool {name}'s {kind} to be {status}"), 30, || {
        let pools = pools.clone();
        async move {
            let pool = pools.get(name).await.ok()?;
            pool.status?
                .conditions
                .into_iter()
                .find(|c| c.type_ == kind && c.status == status)
        }
    })
    .await
}

async fn active(h: &Harness) -> Vec<IpamAllocation> {
    h.storage
        .ipam()
        .list_active(POOL)
        .await
        .expect("the ledger")
}

/// Each owner's active prefix in the ledger.
async fn ledger_owners(h: &Harness) -> BTreeMap<String, String> {
    active(h)
        .await
        .into_iter()
        .map(|a| (format!("{}/{}", a.owner_kind, a.owner_name), a.prefix))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_router_tree_gets_nested_stable_prefixes_held_after_deletion() {
    let mut h = Harness::start().await;
    h.run();
    create_pool(
        &h,
        &pool(POOL, "2001:db8:a00::/48", &default_lengths(), &json!({})),
    )
    .await;
    for r in [
        router("t1", "Township", Some("c1"), Some(POOL), 1),
        router("c2", "County", Some("city"), Some(POOL), 0),
        router("c1", "County", Some("city"), Some(POOL), 0),
        router("city", "City", None, Some(POOL), 1),
    ] {
        create_router(&h, &r).await;
    }
    let city = prefix_of(&h, "city").await;
    let c1 = prefix_of(&h, "c1").await;
    let c2 = prefix_of(&h, "c2").await;
    let t1 = prefix_of(&h, "t1").await;
    assert_eq!(city.to_string(), "2001:db8:a00::/48");
    assert_eq!((c1.length(), c2.length(), t1.length()), (56, 56, 60));
    assert!(city.contains(c1) && city.contains(c2) && c1.contains(t1));
    assert!(!c1.overlaps(c2));
    assert!([city, c1, c2, t1].iter().all(|p| p.is_nibble_aligned()));
    let (condition, _) = address_condition(&h, "t1", "Allocated").await;
    assert_eq!(condition.status, "True");
    assert!(
        condition.message.contains(&t1.to_string()),
        "{}",
        condition.message
    );

    // A link to t1 and a dedicated network at t1: a segment per member and one for the site,
    // inside t1's prefix.
    let link: ExtranetLink = serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "ExtranetLink",
        "metadata": {"name": "c1-t1"},
        "spec": {
            "tier": "CountyTownship",
            "upstream": {"router": "c1", "members": ["down-a", "down-b"]},
            "downstream": {"router": "t1", "members": ["up-a", "up-b"]}
        }
    }))
    .expect("a link");
    Api::<ExtranetLink>::all(h.client.clone())
        .create(&PostParams::default(), &link)
        .await
        .expect("create the link");
    let network: DedicatedNetwork = serde_json::from_value(json!({
        "apiVersion": "govcloud.io/v1alpha1", "kind": "DedicatedNetwork",
        "metadata": {"name": "medins"},
        "spec": {
            "displayName": "医保专网", "department": "city-medins",
            "classification": "Unclassified", "lifecycle": "Existing",
            "sites": [{"router": "t1"}]
        }
    }))
    .expect("a network");
    Api::<DedicatedNetwork>::all(h.client.clone())
        .create(&PostParams::default(), &network)
        .await
        .expect("create the network");
    let owners = eventually("the segments to be allocated", 30, || async {
        let owners = ledger_owners(&h).await;
        (owners.len() == 9).then_some(owners)
    })
    .await;
    for segment in [
        "LinkMember/c1-t1/0",
        "LinkMember/c1-t1/1",
        "NetworkSite/medins/t1",
        "RouterLan/t1/lan0",
    ] {
        let prefix = Prefix::parse(&owners[segment]).expect("a prefix");
        assert!(
            t1.contains(prefix) && prefix.length() == 64,
            "{segment}: {prefix}"
        );
    }
    let city_lan = Prefix::parse(&owners["RouterLan/city/lan0"]).expect("a prefix");
    assert!(city.contains(city_lan) && !city_lan.overlaps(c1) && !city_lan.overlaps(c2));
    let pools: Api<AddressPool> = Api::all(h.client.clone());
    // The metrics are set after the status is written: wait for both.
    let segments_metric =
        "govcloud_address_pool_prefixes{level=\"segment\",pool=\"v6\",state=\"allocated\"} 5";
    let (status, metrics) = eventually("the pool's totals and metrics", 30, || async {
        let status = pools.get(POOL).await.ok()?.status?;
        let metrics = h.metrics.render();
        (status.allocated == 9 && metrics.contains(segments_metric)).then_some((status, metrics))
    })
    .await;
    assert_eq!(status.allocated_by_level.get("county"), Some(&2));
    assert_eq!(status.allocated_by_level.get("segment"), Some(&5));
    assert_eq!(status.free_by_level.get("county"), Some(&253));
    assert!(metrics.contains(segments_metric), "{metrics}");

    // A restart: the same owners keep the same prefixes, nothing new is recorded.
    let before = active(&h).await;
    h.stop().await;
    h.run();
    create_router(&h, &router("c3", "County", Some("city"), Some(POOL), 0)).await;
    let c3 = prefix_of(&h, "c3").await;
    assert!(city.contains(c3) && !c3.overlaps(c1) && !c3.overlaps(c2));
    let after: Vec<IpamAllocation> = active(&h)
        .await
        .into_iter()
        .filter(|a| a.owner_name != "c3")
        .collect();
    assert_eq!(after, before, "a restart reallocates nothing");
    for (name, prefix) in [("city", city), ("c1", c1), ("c2", c2), ("t1", t1)] {
        assert_eq!(
            prefix_of(&h, name).await,
            prefix,
            "{name} after the restart"
        );
    }

    // Deleting the network and the link releases their segments.
    delete::<DedicatedNetwork>(&h, "medins").await;
    delete::<ExtranetLink>(&h, "c1-t1").await;
    eventually(
        "the link's and the network's segments to be released",
        30,
        || async {
            let owners = ledger_owners(&h).await;
            (!owners
                .keys()
                .any(|o| o.starts_with("LinkMember/") || o.starts_with("NetworkSite/")))
            .then_some(())
        },
    )
    .await;

    // Deleting t1 releases its prefix, held for 10 s: a new township does not get it at once,
    // another one does after the hold.
    delete::<Router>(&h, "t1").await;
    create_router(&h, &router("t2", "Township", Some("c1"), Some(POOL), 0)).await;
    let t2 = prefix_of(&h, "t2").await;
    assert_ne!(t2, t1, "t1's prefix is held");
    assert!(c1.contains(t2));
    // t2 may have been allocated before t1's deletion was processed: wait for the release.
    let (released, owners) = eventually("t1's prefix and LAN to be released", 30, || async {
        let released = h
            .storage
            .ipam()
            .list_in_use(POOL, chrono::Utc::now())
            .await
            .ok()?
            .into_iter()
            .find(|a| a.owner_name == "t1" && a.released_at.is_some())?;
        let owners = ledger_owners(&h).await;
        (!owners.contains_key("RouterLan/t1/lan0")).then_some((released, owners))
    })
    .await;
    assert!(released.released_at.is_some() && released.hold_until.is_some());
    assert!(!owners.contains_key("RouterLan/t1/lan0"));
    // Past the hold (as the ledger records it), the prefix is free again.
    let hold_until = released.hold_until.expect("a hold");
    let left = (hold_until - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(500)).await;
    create_router(&h, &router("t3", "Township", Some("c1"), Some(POOL), 0)).await;
    assert_eq!(
        prefix_of(&h, "t3").await,
        t1,
        "after the hold, the lowest free /60 again"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exhaustion_is_reported_with_counts() {
    let mut h = Harness::start().await;
    h.run();
    create_pool(
        &h,
        &pool(POOL, "2001:db8:b00::/48", &default_lengths(), &json!({})),
    )
    .await;
    create_router(&h, &router("city", "City", None, None, 0)).await;
    create_router(&h, &router("c1", "County", Some("city"), None, 0)).await;
    // 17 LANs in a township's /60: room for 16 /64s.
    create_router(&h, &router("t1", "Township", Some("c1"), None, 17)).await;
    let condition = pool_condition(&h, POOL, "Exhausted", "True").await;
    assert!(
        condition.message.contains("16 of 16 segment prefixes")
            && condition.message.contains("RouterLan/t1/lan"),
        "{}",
        condition.message
    );
    // A second city: the city's prefix is the pool's, already the first city's.
    create_router(&h, &router("city2", "City", None, None, 0)).await;
    let (condition, prefix) = address_condition(&h, "city2", "Exhausted").await;
    assert_eq!((condition.status.as_str(), prefix), ("False", None));
    assert!(
        condition.message.contains("1 of 1 city prefixes"),
        "{}",
        condition.message
    );
    // Its county waits for it.
    create_router(&h, &router("c9", "County", Some("city2"), None, 0)).await;
    let (condition, _) = address_condition(&h, "c9", "WaitingForUpstream").await;
    assert!(
        condition.message.contains("city2 has no prefix yet"),
        "{}",
        condition.message
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_pools_are_refused_naming_the_field() {
    let mut h = Harness::start().await;
    h.run();
    let pools: Api<AddressPool> = Api::all(h.client.clone());
    // Refused at admission by the CRD's CEL rules.
    for (lengths, field, message) in [
        (
            json!({"city": 48, "county": 60, "township": 56, "segment": 64}),
            "spec.lengths",
            "must grow",
        ),
        (
            json!({"city": 48, "county": 56, "township": 58, "segment": 64}),
            "spec.lengths",
            "nibble boundaries",
        ),
    ] {
        let error = pools
            .create(
                &PostParams::default(),
                &pool("bad", "2001:db8:c00::/48", &lengths, &json!({})),
            )
            .await
            .expect_err("refused at admission");
        let text = error.to_string();
        assert!(text.contains(field) && text.contains(message), "{text}");
    }
    create_pool(
        &h,
        &pool(POOL, "2001:db8:a00::/48", &default_lengths(), &json!({})),
    )
    .await;
    create_router(&h, &router("city", "City", None, None, 0)).await;
    prefix_of(&h, "city").await;
    // Admitted, refused by the controller.
    for (name, prefix, lengths, extra, field) in [
        (
            "overlap",
            "2001:db8:a00:f000::/52",
            json!({"city": 52, "county": 56, "township": 60, "segment": 64}),
            json!({}),
            "AddressPool v6",
        ),
        (
            "misaligned",
            "2001:db8:d00::/46",
            json!({"city": 48, "county": 56, "township": 60, "segment": 64}),
            json!({}),
            "spec.prefix: /46 is not on a nibble boundary",
        ),
        (
            "wide-city",
            "2001:db8:e00::/48",
            json!({"city": 44, "county": 56, "township": 60, "segment": 64}),
            json!({}),
            "spec.lengths.city",
        ),
        (
            "outside",
            "2001:db8:f00::/48",
            default_lengths(),
            json!({"reserved": ["2001:db8:f00:ff00::/56", "2001:db9::/56"]}),
            "spec.reserved[1]",
        ),
    ] {
        create_pool(&h, &pool(name, prefix, &lengths, &extra)).await;
        let condition = pool_condition(&h, name, "Ready", "False").await;
        assert!(
            condition.message.contains(field),
            "{name}: {}",
            condition.message
        );
    }
    assert_eq!(
        pool_condition(&h, POOL, "Ready", "True").await.reason,
        "Ready"
    );
    // Five pools now and the city names none: it has no pool.
    let (condition, prefix) = address_condition(&h, "city", "AmbiguousPool").await;
    assert_eq!((condition.status.as_str(), prefix), ("False", None));
    h.shutdown().await;
}
