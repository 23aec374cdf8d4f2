//! A city's disaster recovery: plans for its first departments, backing up to the city's DR
//! centre (the `<city>-dr` router's site), and one drill of the first plan.

use serde_json::{Value, json};

use super::layout::CityLayout;

/// `count` plans (one per department, from the first) and, when there is one, a drill.
pub fn plans(layout: &CityLayout, count: usize) -> Vec<Value> {
    let schedules = [
        ("1h", "4h", "15 * * * *"),
        ("4h", "8h", "0 */4 * * *"),
        ("24h", "24h", "0 2 * * *"),
    ];
    let storage_location = format!("{}-dr-s3", layout.code);
    let mut objects: Vec<Value> = layout
        .departments
        .iter()
        .take(count)
        .enumerate()
        .map(|(number, &department)| {
            let namespace = &layout.tenants[department].name;
            let (rpo, rto, schedule) = schedules[number % schedules.len()];
            json!({
                "apiVersion": "govcloud.io/v1alpha1",
                "kind": "DisasterRecoveryPlan",
                "metadata": {"name": format!("{namespace}-dr"), "namespace": namespace},
                "spec": {
                    "drSite": layout.dr_router(),
                    "rpo": rpo,
                    "rto": rto,
                    "drillInterval": "2160h",
                    "backup": {
                        "schedule": schedule,
                        "storageLocation": storage_location,
                        "retention": "720h",
                        "includeVolumes": true,
                    },
                },
            })
        })
        .collect();
    if let Some(&department) = layout.departments.first().filter(|_| count > 0) {
        let namespace = &layout.tenants[department].name;
        objects.push(json!({
            "apiVersion": "govcloud.io/v1alpha1",
            "kind": "DisasterRecoveryDrill",
            "metadata": {"name": format!("{namespace}-drill"), "namespace": namespace},
            "spec": {
                "plan": format!("{namespace}-dr"),
                "timeout": "4h",
                "keepNamespaceFor": "2h",
                "checks": [{
                    "name": "web",
                    "type": "Http",
                    "http": {"url": "http://web:8080/healthz", "expectStatus": 200},
                }],
            },
        }));
    }
    objects
}
