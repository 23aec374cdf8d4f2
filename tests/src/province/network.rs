//! A city's extranet: routers at the city core, the DR centre, each county core and each
//! township, every one labelled with its address pool and listing the interfaces its links
//! name; and the links (`CityCounty` to each county, `CountyTownship` to each township, a
//! `Custom` dark-fibre link to the DR centre), two members at each end.

use serde_json::{Value, json};

use super::address_plan::{city_pool, dr_pool};
use super::layout::{CityLayout, County, Township};
use super::random::Stream;

const CARRIERS: &[&str] = &["中国电信", "中国联通", "中国移动"];

fn interface(name: &str, role: &str, description: &str) -> Value {
    json!({"name": name, "role": role, "description": description})
}

fn member_pair(prefix: &str, role: &str, description: &str) -> [Value; 2] {
    [
        interface(
            &format!("{prefix}-a"),
            role,
            &format!("{description} 成员A"),
        ),
        interface(
            &format!("{prefix}-b"),
            role,
            &format!("{description} 成员B"),
        ),
    ]
}

fn county_downlink(county: &County) -> String {
    format!("cc-k{:02}", county.number)
}

fn township_downlink(township: &Township) -> String {
    format!("ct-t{:02}", township.number)
}

fn router(
    name: &str,
    labels: Value,
    display_name: String,
    site: (&str, &str, &str),
    upstream: Option<&str>,
    interfaces: Vec<Value>,
    report_interval_seconds: u32,
) -> Value {
    let (site_name, level, division_code) = site;
    let mut spec = json!({
        "site": {"name": site_name, "level": level, "divisionCode": division_code},
        "managementInterface": "mgmt0",
        "reportIntervalSeconds": report_interval_seconds,
    });
    spec["displayName"] = Value::String(display_name);
    spec["interfaces"] = Value::Array(interfaces);
    if let Some(upstream) = upstream {
        spec["upstream"] = json!(upstream);
    }
    let mut router = json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "Router",
        "metadata": {"name": name},
        "spec": spec,
    });
    router["metadata"]["labels"] = labels;
    router
}

fn lan_and_management(lan: &str) -> [Value; 2] {
    [
        interface("lan0", "Lan", lan),
        interface("mgmt0", "Management", "带外管理网"),
    ]
}

/// Every router of the city: the core, the DR centre, then each county's core and townships.
pub fn routers(layout: &CityLayout) -> Vec<Value> {
    let city = &layout.display_name;
    let core = layout.core_router();
    let mut core_interfaces = Vec::new();
    core_interfaces.extend(member_pair("wan", "Uplink", "至省电子政务外网省级节点"));
    for county in &layout.counties {
        core_interfaces.extend(member_pair(
            &county_downlink(county),
            "Downlink",
            &format!("至{}汇聚路由器", county.display_name),
        ));
    }
    core_interfaces.extend(member_pair("dr", "Downlink", "至市政务云灾备中心"));
    core_interfaces.extend(lan_and_management("市政务云主数据中心资源池"));
    let mut routers = vec![
        router(
            &core,
            json!({"govcloud.io/address-pool": city_pool(layout), "govcloud.io/site-level": "city"}),
            format!("{city}电子政务外网核心路由器"),
            (city, "City", &layout.division_code),
            None,
            core_interfaces,
            15,
        ),
        router(
            &layout.dr_router(),
            json!({
                "govcloud.io/address-pool": dr_pool(layout),
                "govcloud.io/site-level": "city",
                "govcloud.io/role": "disaster-recovery",
            }),
            format!("{city}政务云灾备中心路由器"),
            (
                &format!("{city}政务云灾备中心"),
                "City",
                &layout.division_code,
            ),
            None,
            member_pair("up", "Uplink", "至市核心路由器")
                .into_iter()
                .chain(lan_and_management("灾备云资源池与备份存储"))
                .collect(),
            15,
        ),
    ];
    for county in &layout.counties {
        let mut interfaces: Vec<Value> = member_pair("up", "Uplink", "至市核心路由器")
            .into_iter()
            .collect();
        for township in &county.townships {
            interfaces.extend(member_pair(
                &township_downlink(township),
                "Downlink",
                &format!("至{}", township.display_name),
            ));
        }
        interfaces.extend(lan_and_management("县级政务服务中心局域网"));
        routers.push(router(
            &county.router(),
            json!({
                "govcloud.io/address-pool": city_pool(layout),
                "govcloud.io/site-level": "county",
                "govcloud.io/county": county.name,
            }),
            format!("{}电子政务外网汇聚路由器", county.display_name),
            (&county.display_name, "County", &county.division_code),
            Some(&core),
            interfaces,
            30,
        ));
        for township in &county.townships {
            let mut interfaces: Vec<Value> = member_pair(
                "up",
                "Uplink",
                &format!("至{}汇聚路由器", county.display_name),
            )
            .into_iter()
            .collect();
            interfaces.extend(lan_and_management("镇（街道）机关局域网"));
            interfaces.push(interface("lan1", "Lan", "便民服务中心"));
            routers.push(router(
                &township.name,
                json!({
                    "govcloud.io/address-pool": city_pool(layout),
                    "govcloud.io/site-level": "township",
                    "govcloud.io/county": county.name,
                }),
                format!("{}电子政务外网接入路由器", township.display_name),
                (&township.display_name, "Township", &township.division_code),
                Some(&county.router()),
                interfaces,
                60,
            ));
        }
    }
    routers
}

fn link(
    name: String,
    labels: Value,
    tier: &str,
    carrier: String,
    upstream: (&str, &str),
    downstream: &str,
) -> Value {
    let (upstream_router, upstream_members) = upstream;
    let mut link = json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "ExtranetLink",
        "spec": {
            "tier": tier,
            "upstream": {
                "router": upstream_router,
                "members": [format!("{upstream_members}-a"), format!("{upstream_members}-b")],
            },
            "downstream": {"router": downstream, "members": ["up-a", "up-b"]},
        },
    });
    link["metadata"]["name"] = Value::String(name);
    link["metadata"]["labels"] = labels;
    link["spec"]["carrier"] = Value::String(carrier);
    link
}

/// Every link of the city: to each county, to each township, and to the DR centre.
pub fn links(layout: &CityLayout, stream: &mut Stream) -> Vec<Value> {
    let code = &layout.code;
    let city = &layout.display_name;
    let core_router = layout.core_router();
    let mut dr = link(
        format!("{code}-dr-link"),
        json!({"govcloud.io/tier": "custom", "govcloud.io/city": code}),
        "Custom",
        format!("{}{city}分公司（裸光纤）", stream.pick(CARRIERS)),
        (&core_router, "dr"),
        &layout.dr_router(),
    );
    dr["spec"]["customTier"] = json!({"memberSpeedMbps": 10000});
    dr["spec"]["maxErrorsPerMinute"] = json!(1);
    dr["spec"]["utilisationWindow"] = json!("24h");
    let mut links = vec![dr];
    for county in &layout.counties {
        let carrier = format!("{}{city}分公司", stream.pick(CARRIERS));
        links.push(link(
            format!(
                "{code}-cc-{}",
                county.name.trim_start_matches(&format!("{code}-"))
            ),
            json!({"govcloud.io/tier": "city-county", "govcloud.io/county": county.name}),
            "CityCounty",
            carrier.clone(),
            (&core_router, &county_downlink(county)),
            &county.router(),
        ));
        for township in &county.townships {
            links.push(link(
                format!(
                    "{code}-ct-{}",
                    township.name.trim_start_matches(&format!("{code}-"))
                ),
                json!({"govcloud.io/tier": "county-township", "govcloud.io/county": county.name}),
                "CountyTownship",
                carrier.clone(),
                (&county.router(), &township_downlink(township)),
                &township.name,
            ));
        }
    }
    links
}
