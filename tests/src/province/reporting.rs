//! A city's reporting into the province's multi-cloud manager (`ProvincialReporting`): hourly,
//! over mutual TLS, to the city's endpoint of the province.

use serde_json::{Value, json};

use super::layout::CityLayout;

/// The city's `ProvincialReporting`.
pub fn reporting(layout: &CityLayout) -> Value {
    json!({
        "apiVersion": "govcloud.io/v1alpha1",
        "kind": "ProvincialReporting",
        "metadata": {"name": format!("{}-province", layout.code)},
        "spec": {
            "endpoint": format!("https://mcm.province.example.org/api/v1/cities/{}/reports", layout.division_code),
            "cityCode": layout.division_code,
            "clientCertificate": {"name": format!("{}-provincial-client-cert", layout.code), "namespace": "govcloud-system"},
            "ca": {"name": "provincial-ca", "namespace": "govcloud-system"},
            "interval": "1h",
            "include": {
                "inventory": true,
                "usage": true,
                "migration": true,
                "links": true,
                "disasterRecovery": true,
            },
        },
    })
}
