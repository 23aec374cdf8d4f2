//! Local mode's own metric: what the seed directory held.

use prometheus::{IntGaugeVec, Opts};

use super::seed::SeedReport;
use crate::metrics::Metrics;

/// Records what the seed directory held, as `govcloud_local_seed_objects{kind}`.
pub fn record_seed(metrics: &Metrics, seed: Option<&SeedReport>) {
    let Some(seed) = seed else { return };
    let Ok(seeded) = IntGaugeVec::new(
        Opts::new(
            "govcloud_local_seed_objects",
            "Objects applied from the seed directory at start, by kind.",
        ),
        &["kind"],
    ) else {
        return;
    };
    for (kind, count) in &seed.objects_by_kind {
        seeded
            .with_label_values(&[kind.as_str()])
            .set(i64::try_from(*count).unwrap_or(i64::MAX));
    }
    if let Err(error) = metrics.registry().register(Box::new(seeded)) {
        tracing::warn!(%error, "failed to register the seed metric");
    }
}
