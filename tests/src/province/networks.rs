//! A city's dedicated networks (业务专网) to consolidate: one in five classified (tracked, moved
//! to the intranet), the fourth retired with its decommissioning confirmed, the fifth `New`
//! but admitted because it cites an exemption, the rest unclassified networks moving onto the
//! extranet at the city core and some county and township routers.

use serde_json::{Value, json};

use super::layout::CityLayout;
use super::random::Stream;

const TECHNOLOGIES: &[&str] = &["LeasedLine", "Mpls", "Sdh", "DarkFibre", "Vpn", "Other"];

/// Whether network `index` is classified.
fn is_classified(index: usize) -> bool {
    index % 5 == 2
}

/// The index of the network that retires.
const RETIRED: usize = 3;

/// The index of the new network with an exemption.
const NEW_WITH_EXEMPTION: usize = 4;

/// `count` dedicated networks of the city.
pub fn dedicated_networks(layout: &CityLayout, count: usize, stream: &mut Stream) -> Vec<Value> {
    let counties: Vec<String> = layout
        .counties
        .iter()
        .map(super::layout::County::router)
        .collect();
    let townships: Vec<String> = layout
        .counties
        .iter()
        .flat_map(|c| c.townships.iter().map(|t| t.name.clone()))
        .collect();
    (0..count)
        .map(|index| {
            let department = &layout.tenants[stream.pick(&layout.departments)];
            let classified = is_classified(index);
            let mut sites = vec![json!({"router": layout.core_router()})];
            let county_sites = 1 + stream.below(counties.len().min(5));
            for chosen in stream.sample(counties.len(), county_sites) {
                sites.push(json!({"router": counties[chosen]}));
            }
            let township_sites = stream.below(4);
            for chosen in stream.sample(townships.len(), township_sites) {
                sites.push(json!({"router": townships[chosen]}));
            }
            let mut spec = json!({
                "displayName": format!("{}业务专网{}", department.display_name, index + 1),
                "department": department.name,
                "classification": if classified { "Classified" } else { "Unclassified" },
                "lifecycle": "Existing",
                "technology": stream.pick(TECHNOLOGIES),
                "bandwidthMbps": stream.pick(&[10, 20, 50, 100, 1000]),
                "annualCostYuan": stream.between(10, 250) * 10_000,
                "sites": sites,
            });
            if !classified {
                spec["sensitivity"] = json!(stream.pick(&["Internal", "Sensitive"]));
            }
            if index == RETIRED {
                spec["retire"] = json!(true);
                spec["decommission"] = json!({
                    "confirmedBy": format!("cloud-ops@{}", layout.domain()),
                    "note": "运营商退租单已办结（示例），停止计费。",
                });
            }
            if index == NEW_WITH_EXEMPTION {
                spec["lifecycle"] = json!("New");
                spec["exemption"] = json!({
                    "approvedBy": format!("cloud-ops@{}", layout.domain()),
                    "reference": format!("{}政办函〔2030〕{}号（示例）", layout.display_name, index + 1),
                });
            }
            json!({
                "apiVersion": "govcloud.io/v1alpha1",
                "kind": "DedicatedNetwork",
                "metadata": {"name": format!("{}-net{:03}", layout.code, index + 1)},
                "spec": spec,
            })
        })
        .collect()
}
