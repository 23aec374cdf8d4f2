//! How much of the event log is kept, as kube-apiserver compacts etcd: at every tick the
//! current revision is noted, and history is compacted through the newest revision noted at
//! least [`HISTORY_WINDOW`] ago, so every event of the last five minutes stays watchable. The
//! log is also capped at [`MAX_EVENTS`] events, by the writes themselves, so that a burst of
//! writes cannot grow it without bound between ticks. A watch or a paginated list from a
//! compacted resource version gets `410 Gone`, on which kube-rs' watcher and kubectl list
//! again.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Store, StoreError};

/// Events at least this recent are kept (kube-apiserver's default compaction interval).
pub const HISTORY_WINDOW: Duration = Duration::from_secs(300);

/// Time between compactions.
pub const COMPACTION_INTERVAL: Duration = Duration::from_secs(60);

/// Most events kept, whatever their age.
pub const MAX_EVENTS: i64 = 10_000;

/// Every this many resource versions a write drops the events beyond [`MAX_EVENTS`], so the
/// log holds at most `MAX_EVENTS + CAP_STRIDE` events.
pub(super) const CAP_STRIDE: i64 = 1_000;

/// Compacts the log of a store periodically; see the module documentation.
#[derive(Debug)]
pub struct Compactor {
    window: Duration,
    /// Revisions noted at past ticks, oldest first.
    noted: VecDeque<(Instant, i64)>,
}

impl Compactor {
    /// A compactor keeping `window` of history.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            noted: VecDeque::new(),
        }
    }

    /// Notes the current revision, compacts through the newest one noted at least the window
    /// ago, and gives the space freed back; returns how many events were dropped.
    pub async fn tick(&mut self, store: &Store) -> Result<u64, StoreError> {
        let now = Instant::now();
        self.noted
            .push_back((now, store.current_resource_version().await?));
        let mut through = None;
        while let Some(&(at, revision)) = self.noted.front() {
            if now.duration_since(at) < self.window {
                break;
            }
            through = Some(revision);
            self.noted.pop_front();
        }
        let dropped = match through {
            Some(revision) => store.compact_through(revision).await?,
            None => 0,
        };
        store.reclaim_space().await?;
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::ObjectKey;

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            resource: "govcloud.io/tenants".into(),
            namespace: String::new(),
            name: name.into(),
        }
    }

    async fn store_with(dir: &tempfile::TempDir, names: &[&str]) -> Store {
        let store = Store::open(&dir.path().join("state.db"))
            .await
            .expect("open");
        for name in names {
            store
                .put(&key(name), json!({"metadata": {"name": name}}), None)
                .await
                .expect("put")
                .expect("created");
        }
        store
    }

    #[tokio::test]
    async fn history_younger_than_the_window_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with(&dir, &["a", "b"]).await;
        let mut compactor = Compactor::new(Duration::from_secs(3600));
        assert_eq!(compactor.tick(&store).await.expect("tick"), 0);
        assert_eq!(compactor.tick(&store).await.expect("tick"), 0);
        assert_eq!(store.oldest_resource_version().await.expect("oldest"), 0);
        assert_eq!(
            store
                .events_since("govcloud.io/tenants", 0, 10)
                .await
                .expect("events")
                .len(),
            2
        );
    }

    #[tokio::test]
    async fn history_older_than_the_window_is_compacted_and_gone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with(&dir, &["a", "b", "c"]).await;
        let mut compactor = Compactor::new(Duration::ZERO);
        assert_eq!(compactor.tick(&store).await.expect("tick"), 3);
        assert_eq!(store.oldest_resource_version().await.expect("oldest"), 3);
        match store.events_since("govcloud.io/tenants", 2, 10).await {
            Err(StoreError::Compacted { requested, oldest }) => {
                assert_eq!((requested, oldest), (2, 3));
            }
            other => panic!("expected the version to be compacted, got {other:?}"),
        }
        // The current version is still a valid starting point, and later writes are kept.
        store
            .put(&key("d"), json!({"metadata": {"name": "d"}}), None)
            .await
            .expect("put")
            .expect("created");
        let events = store
            .events_since("govcloud.io/tenants", 3, 10)
            .await
            .expect("events");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].key.name, "d");
    }

    #[tokio::test]
    async fn writes_cap_the_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with(&dir, &["a", "b"]).await;
        // Pretend many writes happened: the next write takes a version that is a multiple of
        // the stride, far beyond the two events logged.
        let before_stride = 2 * MAX_EVENTS - 1;
        sqlx::query("UPDATE counter SET rv = ?")
            .bind(before_stride)
            .execute(&store.pool)
            .await
            .expect("advance the counter");
        assert_eq!((2 * MAX_EVENTS) % CAP_STRIDE, 0);
        store
            .put(&key("c"), json!({"metadata": {"name": "c"}}), None)
            .await
            .expect("put")
            .expect("created");
        let usage = store.usage().await.expect("usage");
        assert_eq!(usage.events, 1, "only the write within the cap is kept");
        assert_eq!(
            store.oldest_resource_version().await.expect("oldest"),
            2 * MAX_EVENTS - 1
        );
    }
}
