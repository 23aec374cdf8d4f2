//! The `resourceVersion` of each system's last status write by this controller, to tell
//! whether the cache has caught up with it: a reconcile acting on a status older than its own
//! last write would repeat a step, so only then does it read the system afresh.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use kube::Resource;

/// Each system's last write, by `namespace/name`.
#[derive(Debug, Default)]
pub struct LastWrites(Mutex<HashMap<String, String>>);

impl LastWrites {
    /// Remembers `written` (what the API server returned) as the last write of `key`.
    pub fn remember(&self, key: String, written: &impl Resource) {
        if let Some(version) = written.meta().resource_version.clone() {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key, version);
        }
    }

    /// Whether `cached` is the object as this controller last wrote it, or this controller has
    /// written none of `key` since it started (the cache, listed after start, holds every write
    /// made before). Any other version may be older than the last write.
    pub fn seen_in(&self, key: &str, cached: &impl Resource) -> bool {
        match self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            None => true,
            Some(version) => cached.meta().resource_version.as_ref() == Some(version),
        }
    }

    /// Forgets `key` (the system is gone).
    pub fn forget(&self, key: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;

    fn at(version: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                resource_version: Some(version.to_owned()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }

    #[test]
    fn the_cache_is_trusted_only_once_it_holds_the_last_write() {
        let writes = LastWrites::default();
        assert!(writes.seen_in("ns/a", &at("7")), "nothing written yet");
        writes.remember("ns/a".to_owned(), &at("9"));
        assert!(
            !writes.seen_in("ns/a", &at("7")),
            "the cache lags the write"
        );
        assert!(writes.seen_in("ns/a", &at("9")));
        assert!(
            !writes.seen_in("ns/a", &at("12")),
            "written since by someone else"
        );
        writes.forget("ns/a");
        assert!(writes.seen_in("ns/a", &at("12")));
    }
}
