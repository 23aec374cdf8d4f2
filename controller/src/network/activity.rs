//! Router activity: the news that reaches the controller through SQL rather than through the
//! API server — an agent's telemetry report, a new configuration served to it — turned into
//! reconcile triggers for the `Router` and `ExtranetLink` controllers.
//!
//! Any replica may receive a report (every replica serves the agent listener) while only the
//! leader reconciles, so the leader looks at two narrow columns of SQL once a second — each
//! router's newest report mark and configuration generation — and triggers exactly the routers
//! whose marks moved. One small query replaces a requeue per router per interval; a router that
//! stays silent costs nothing, and a router that reports is looked at within a second.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::channel::mpsc::UnboundedSender;

use crate::runtime::Shutdown;
use crate::storage::{ReportMark, Storage, StorageError};

/// How often SQL is looked at for news.
pub const LOOK_EVERY: Duration = Duration::from_secs(1);

/// What was last seen of each router, to tell news from what was already known.
#[derive(Debug, Default)]
pub struct ActivityMarks {
    reports: HashMap<String, (i64, DateTime<Utc>)>,
    configs: HashMap<String, i64>,
}

impl ActivityMarks {
    /// The routers whose report mark or configuration generation differs from the last look
    /// (every router on the first), remembering the new marks.
    pub fn news(
        &mut self,
        reports: Vec<ReportMark>,
        configs: Vec<(String, i64)>,
    ) -> BTreeSet<String> {
        let mut news = BTreeSet::new();
        for mark in reports {
            let seen = (mark.sequence, mark.observed_at);
            if self.reports.get(&mark.router) != Some(&seen) {
                self.reports.insert(mark.router.clone(), seen);
                news.insert(mark.router);
            }
        }
        for (router, generation) in configs {
            if self.configs.get(&router) != Some(&generation) {
                self.configs.insert(router.clone(), generation);
                news.insert(router);
            }
        }
        news
    }
}

/// One look at SQL: the routers with news since `marks` were taken.
pub async fn look(
    storage: &Storage,
    marks: &mut ActivityMarks,
) -> Result<BTreeSet<String>, StorageError> {
    let reports = storage.telemetry().latest_marks().await?;
    let configs = storage.router_configs().generations().await?;
    Ok(marks.news(reports, configs))
}

/// Every [`LOOK_EVERY`] until `shutdown`, sends the name of each router with news to every one
/// of `subscribers` (a subscriber gone is dropped). A failed look is logged and retried.
pub async fn feed(
    storage: Storage,
    subscribers: Vec<UnboundedSender<String>>,
    shutdown: impl Shutdown,
) {
    let mut marks = ActivityMarks::default();
    let mut subscribers = subscribers;
    loop {
        match look(&storage, &mut marks).await {
            Ok(news) => {
                for router in news {
                    subscribers
                        .retain(|subscriber| subscriber.unbounded_send(router.clone()).is_ok());
                }
            }
            Err(error) => {
                tracing::debug!(error = %crate::report::error_chain(&error), "failed to look for router activity");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(LOOK_EVERY) => {}
            () = shutdown.clone() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(router: &str, sequence: i64) -> ReportMark {
        ReportMark {
            router: router.to_owned(),
            sequence,
            observed_at: DateTime::from_timestamp(1_700_000_000 + sequence, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn only_routers_whose_marks_moved_are_news() {
        let mut marks = ActivityMarks::default();
        let first = marks.news(
            vec![mark("a", 1), mark("b", 1)],
            vec![("a".to_owned(), 1), ("c".to_owned(), 3)],
        );
        assert_eq!(first, BTreeSet::from(["a".into(), "b".into(), "c".into()]));
        let unchanged = marks.news(
            vec![mark("a", 1), mark("b", 1)],
            vec![("a".to_owned(), 1), ("c".to_owned(), 3)],
        );
        assert!(unchanged.is_empty(), "{unchanged:?}");
        let moved = marks.news(
            vec![mark("a", 1), mark("b", 2)],
            vec![("a".to_owned(), 2), ("c".to_owned(), 3)],
        );
        assert_eq!(moved, BTreeSet::from(["a".into(), "b".into()]));
    }
}
