//! What `govctl ipv6 status` prints for people: sites ready over total by county, the total,
//! and each site not ready yet with why.

use govcloud_crds::api::Ipv6Status;

use super::{NONE, Table};

/// `3/4 (75.0 %)`.
fn share(ready: u32, total: u32) -> String {
    if total == 0 {
        return format!("{ready}/{total}");
    }
    let percent = f64::from(ready) * 100.0 / f64::from(total);
    format!("{ready}/{total} ({percent:.1} %)")
}

/// `govctl ipv6 status`
pub fn ipv6_status(status: &Ipv6Status) -> String {
    if status.total == 0 {
        return "No sites: no routers are declared.\n".to_owned();
    }
    let mut table = Table::new(&["COUNTY", "READY", "TOTAL", "SHARE"]);
    for county in &status.counties {
        table.row(vec![
            county.county.clone(),
            county.ready.to_string(),
            county.total.to_string(),
            share(county.ready, county.total),
        ]);
    }
    table.row(vec![
        "all".to_owned(),
        status.ready.to_string(),
        status.total.to_string(),
        share(status.ready, status.total),
    ]);
    let mut text = table.render();
    let waiting: Vec<_> = status.sites.iter().filter(|s| !s.ready).collect();
    if !waiting.is_empty() {
        text.push_str("\nNot ready:\n");
        let mut sites = Table::new(&["ROUTER", "COUNTY", "PREFIX", "WHY"]);
        for site in waiting {
            sites.row(vec![
                site.router.clone(),
                site.county.clone(),
                site.prefix.clone().unwrap_or_else(|| NONE.to_owned()),
                site.reason.clone().unwrap_or_else(|| NONE.to_owned()),
            ]);
        }
        text.push_str(&sites.render());
    }
    text
}

#[cfg(test)]
mod tests {
    use govcloud_crds::api::{CountyIpv6, SiteIpv6};
    use govcloud_crds::common::SiteLevel;

    use super::*;

    #[test]
    fn counties_then_the_total_then_the_sites_that_wait() {
        let status = Ipv6Status {
            ready: 2,
            total: 3,
            counties: vec![
                CountyIpv6 {
                    county: "ankang-city".into(),
                    ready: 1,
                    total: 1,
                },
                CountyIpv6 {
                    county: "hanyin".into(),
                    ready: 1,
                    total: 2,
                },
            ],
            sites: vec![SiteIpv6 {
                router: "chengguan".into(),
                level: SiteLevel::Township,
                county: "hanyin".into(),
                prefix: Some("2001:db8:a00:110::/60".into()),
                ready: false,
                reason: Some("probe city-lan: 2001:db8:a00::1 unreachable".into()),
            }],
        };
        let text = ipv6_status(&status);
        assert!(text.contains("hanyin"), "{text}");
        assert!(text.contains("1/2 (50.0 %)"), "{text}");
        assert!(text.contains("2/3 (66.7 %)"), "{text}");
        assert!(text.contains("Not ready:"), "{text}");
        assert!(
            text.contains("probe city-lan: 2001:db8:a00::1 unreachable"),
            "{text}"
        );
        let empty = Ipv6Status {
            ready: 0,
            total: 0,
            counties: Vec::new(),
            sites: Vec::new(),
        };
        assert_eq!(ipv6_status(&empty), "No sites: no routers are declared.\n");
    }
}
