//! The leader election's metrics: whether this replica leads (`govcloud_leader`, 0 or 1) and
//! its changes of leadership by kind (`govcloud_leader_transitions_total{change}`, a fixed set:
//! `acquired`, `lost`, `released`).

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// Handles of the election's metrics. Cheap to clone.
#[derive(Clone, Debug)]
pub struct LeaderMetrics {
    leader: IntGauge,
    transitions: IntCounterVec,
}

impl LeaderMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let leader = IntGauge::with_opts(Opts::new(
            "govcloud_leader",
            "1 while this replica holds the leader lease and runs the reconcilers, else 0.",
        ))?;
        let transitions = IntCounterVec::new(
            Opts::new(
                "govcloud_leader_transitions_total",
                "Changes of this replica's leadership: acquired, lost (no renewal within the \
                 renew deadline, or taken), released (at shutdown).",
            ),
            &["change"],
        )?;
        for change in ["acquired", "lost", "released"] {
            transitions.with_label_values(&[change]);
        }
        registry.register(Box::new(leader.clone()))?;
        registry.register(Box::new(transitions.clone()))?;
        Ok(Self {
            leader,
            transitions,
        })
    }

    /// This replica became the leader.
    pub fn acquired(&self) {
        self.leader.set(1);
        self.transitions.with_label_values(&["acquired"]).inc();
    }

    /// This replica stopped leading: it `lost` the lease, or released it at shutdown.
    pub fn stepped_down(&self, lost: bool) {
        self.leader.set(0);
        self.transitions
            .with_label_values(&[if lost { "lost" } else { "released" }])
            .inc();
    }

    /// Whether this replica leads now.
    pub fn is_leader(&self) -> bool {
        self.leader.get() == 1
    }
}
