//! Activity in SQL: the news that reaches the controllers through the database rather than the
//! API server — an agent's telemetry report, a new configuration served to it, a new address
//! allocation — published to the controllers that subscribe, as reconcile triggers.
//!
//! Any replica may receive a report (every replica serves the agent listener) while only the
//! leader reconciles, so the leader looks at three narrow figures of SQL once a second — each
//! router's newest report mark and configuration generation, and the newest allocation's id —
//! and publishes exactly what moved. One small read replaces a requeue per object per interval;
//! a silent router costs nothing, and news is acted on within a second whichever replica stored
//! it (ADR 0016, idle at rest).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};

use crate::runtime::Shutdown;
use crate::storage::{ReportMark, Storage, StorageError};

/// How often SQL is looked at for news.
pub const LOOK_EVERY: Duration = Duration::from_secs(1);

/// One piece of news.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum News {
    /// The router reported, or was served a new configuration.
    Router(String),
    /// Addresses were allocated (in any pool, to any owner).
    Allocations,
}

/// What was last seen, to tell news from what was already known.
#[derive(Debug, Default)]
pub struct Marks {
    reports: HashMap<String, (i64, DateTime<Utc>)>,
    configs: HashMap<String, i64>,
    newest_allocation: Option<i64>,
}

impl Marks {
    /// What differs from the last look (everything on the first), remembering the new marks.
    pub fn news(
        &mut self,
        reports: Vec<ReportMark>,
        configs: Vec<(String, i64)>,
        newest_allocation: i64,
    ) -> BTreeSet<News> {
        let mut news = BTreeSet::new();
        for mark in reports {
            let seen = (mark.sequence, mark.observed_at);
            if self.reports.get(&mark.router) != Some(&seen) {
                self.reports.insert(mark.router.clone(), seen);
                news.insert(News::Router(mark.router));
            }
        }
        for (router, generation) in configs {
            if self.configs.get(&router) != Some(&generation) {
                self.configs.insert(router.clone(), generation);
                news.insert(News::Router(router));
            }
        }
        if self.newest_allocation.replace(newest_allocation) != Some(newest_allocation) {
            news.insert(News::Allocations);
        }
        news
    }
}

/// The subscribers of the news: each gets every piece published after it subscribed.
#[derive(Debug, Default)]
pub struct Activity {
    subscribers: Mutex<Vec<UnboundedSender<News>>>,
}

impl Activity {
    /// A stream of the news from now on.
    pub fn subscribe(&self) -> UnboundedReceiver<News> {
        let (sender, receiver) = unbounded();
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sender);
        receiver
    }

    /// Sends `news` to every subscriber still listening (and forgets the others).
    pub fn publish(&self, news: &BTreeSet<News>) {
        let mut subscribers = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for item in news {
            subscribers.retain(|subscriber| subscriber.unbounded_send(item.clone()).is_ok());
        }
    }
}

/// One look at SQL: what moved since `marks` were taken.
pub async fn look(storage: &Storage, marks: &mut Marks) -> Result<BTreeSet<News>, StorageError> {
    let reports = storage.telemetry().latest_marks().await?;
    let configs = storage.router_configs().generations().await?;
    let newest_allocation = storage.ipam().newest_id().await?;
    Ok(marks.news(reports, configs, newest_allocation))
}

/// Every [`LOOK_EVERY`] until `shutdown`, publishes what moved in SQL to `activity`'s
/// subscribers. A failed look is logged and tried again at the next.
pub async fn watch(storage: Storage, activity: &Activity, shutdown: impl Shutdown) {
    let mut marks = Marks::default();
    loop {
        match look(&storage, &mut marks).await {
            Ok(news) => activity.publish(&news),
            Err(error) => {
                tracing::debug!(error = %crate::report::error_chain(&error), "failed to look for activity in SQL");
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

    fn router(name: &str) -> News {
        News::Router(name.to_owned())
    }

    #[test]
    fn only_what_moved_is_news() {
        let mut marks = Marks::default();
        let first = marks.news(
            vec![mark("a", 1), mark("b", 1)],
            vec![("a".to_owned(), 1), ("c".to_owned(), 3)],
            0,
        );
        assert_eq!(
            first,
            BTreeSet::from([router("a"), router("b"), router("c"), News::Allocations])
        );
        let unchanged = marks.news(
            vec![mark("a", 1), mark("b", 1)],
            vec![("a".to_owned(), 1), ("c".to_owned(), 3)],
            0,
        );
        assert!(unchanged.is_empty(), "{unchanged:?}");
        let moved = marks.news(
            vec![mark("a", 1), mark("b", 2)],
            vec![("a".to_owned(), 2), ("c".to_owned(), 3)],
            7,
        );
        assert_eq!(
            moved,
            BTreeSet::from([router("a"), router("b"), News::Allocations])
        );
    }

    #[test]
    fn every_subscriber_gets_what_is_published_after_it_subscribed() {
        let activity = Activity::default();
        let mut early = activity.subscribe();
        activity.publish(&BTreeSet::from([router("a")]));
        let mut late = activity.subscribe();
        activity.publish(&BTreeSet::from([News::Allocations]));
        assert_eq!(early.try_recv().ok(), Some(router("a")));
        assert_eq!(early.try_recv().ok(), Some(News::Allocations));
        assert_eq!(late.try_recv().ok(), Some(News::Allocations));
        drop(early);
        activity.publish(&BTreeSet::from([router("b")]));
        assert_eq!(late.try_recv().ok(), Some(router("b")));
    }
}
