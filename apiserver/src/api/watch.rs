//! Watches: a stream of `{"type", "object"}` lines from a resource version — first the events
//! already in the log after it, then live ones — with bookmarks, a timeout, and `410 Gone` when
//! the resource version has been compacted away. With selectors, an object entering the
//! selection is `ADDED` and one leaving it `DELETED`, as in Kubernetes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::meta::metadata_mut;
use super::read::{Filter, with_type};
use super::state::{ApiState, resource_id};
use super::write::Params;
use crate::error::ApiError;
use crate::resource::ResourceType;
use crate::store::{Event, EventType, ListQuery, StoreError};
use crate::table::{IncludeObject, table_row_object};

/// Longest a watch stays open when the client asks for no timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// Time between bookmarks on watches that allow them.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(10);

/// Events read from the log in one go.
const BACKLOG_BATCH: i64 = 1000;

/// How a watch renders objects.
#[derive(Clone, Debug)]
pub struct Presentation {
    /// Rows of a `Table` instead of objects (kubectl `get -w`).
    pub table: Option<IncludeObject>,
}

struct Watch {
    state: Arc<ApiState>,
    resource: Arc<ResourceType>,
    namespace: Option<String>,
    filter: Filter,
    presentation: Presentation,
    bookmarks: bool,
}

/// Starts a watch; the response streams until the timeout or the client goes away.
pub fn watch(
    state: Arc<ApiState>,
    resource: Arc<ResourceType>,
    namespace: Option<String>,
    params: &Params,
    presentation: Presentation,
) -> Result<Response, ApiError> {
    let filter = Filter::from_params(params)?;
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let bookmarks = params
        .get("allowWatchBookmarks")
        .is_some_and(|v| v == "true");
    let from: Option<i64> = match params.get("resourceVersion").map(String::as_str) {
        None | Some("" | "0") => None,
        Some(version) => Some(version.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion {version} is not a valid resource version"
            ))
        })?),
    };
    let watch = Watch {
        state,
        resource,
        namespace,
        filter,
        presentation,
        bookmarks,
    };
    let (sender, receiver) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    // Subscribe before reading the log, so that nothing committed in between is missed.
    let live = watch.state.store.subscribe();
    tokio::spawn(async move {
        let _ = tokio::time::timeout(timeout, watch.run(from, live, &sender)).await;
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(receiver);
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Why a watch stopped early.
enum Stop {
    ClientGone,
    /// The watch fell behind the compacted log; it was sent `410 Gone`.
    Expired,
    Failed,
}

impl Watch {
    async fn run(
        &self,
        from: Option<i64>,
        mut live: broadcast::Receiver<Arc<Event>>,
        out: &mpsc::Sender<Result<Bytes, Infallible>>,
    ) -> Result<(), ()> {
        let result = self.stream(from, &mut live, out).await;
        match result {
            Ok(()) | Err(Stop::ClientGone | Stop::Expired) => Ok(()),
            Err(Stop::Failed) => Err(()),
        }
    }

    async fn stream(
        &self,
        from: Option<i64>,
        live: &mut broadcast::Receiver<Arc<Event>>,
        out: &mpsc::Sender<Result<Bytes, Infallible>>,
    ) -> Result<(), Stop> {
        let store = &self.state.store;
        let mut last = match from {
            Some(version) => {
                let oldest = store
                    .oldest_resource_version()
                    .await
                    .map_err(|_| Stop::Failed)?;
                if version < oldest {
                    let gone =
                        ApiError::gone(format!("too old resource version: {version} ({oldest})"));
                    return send(out, &json!({"type": "ERROR", "object": gone.status()})).await;
                }
                version
            }
            None => self.send_current_state(out).await?,
        };
        last = self.replay(last, out).await?;
        let mut bookmark = tokio::time::interval(BOOKMARK_INTERVAL);
        bookmark.tick().await;
        loop {
            tokio::select! {
                received = live.recv() => match received {
                    Ok(event) if event.resource_version > last => {
                        last = event.resource_version;
                        self.send_event(&event, out).await?;
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => last = self.replay(last, out).await?,
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                _ = bookmark.tick(), if self.bookmarks => {
                    let current = store.current_resource_version().await.map_err(|_| Stop::Failed)?;
                    let object = json!({"apiVersion": self.resource.api_version(), "kind": self.resource.kind, "metadata": {"resourceVersion": current.max(last).to_string()}});
                    send(out, &json!({"type": "BOOKMARK", "object": object})).await?;
                }
                () = out.closed() => return Err(Stop::ClientGone),
            }
        }
    }

    /// Sends synthetic `ADDED` events for every selected object (a watch without a resource
    /// version starts from the current state) and returns the version they reflect.
    async fn send_current_state(
        &self,
        out: &mpsc::Sender<Result<Bytes, Infallible>>,
    ) -> Result<i64, Stop> {
        let (objects, version) = self
            .state
            .store
            .list_selected(&ListQuery {
                resource: &resource_id(&self.resource),
                namespace: self
                    .namespace
                    .as_deref()
                    .filter(|_| self.resource.namespaced),
                after: None,
                limit: None,
                selection: self.filter.selection(),
            })
            .await
            .map_err(|_| Stop::Failed)?;
        for stored in objects
            .into_iter()
            .filter(|s| self.filter.matches(&s.object))
        {
            self.send_object("ADDED", stored.object, out).await?;
        }
        Ok(version)
    }

    /// Sends the logged events after `last`; returns the last version sent or seen.
    async fn replay(
        &self,
        mut last: i64,
        out: &mpsc::Sender<Result<Bytes, Infallible>>,
    ) -> Result<i64, Stop> {
        loop {
            let events = match self
                .state
                .store
                .events_since(&resource_id(&self.resource), last, BACKLOG_BATCH)
                .await
            {
                Ok(events) => events,
                // Compacted while the watch was behind: what it missed is gone, as for a
                // watch started from too old a version.
                Err(StoreError::Compacted { requested, oldest }) => {
                    let gone =
                        ApiError::gone(format!("too old resource version: {requested} ({oldest})"));
                    send(out, &json!({"type": "ERROR", "object": gone.status()})).await?;
                    return Err(Stop::Expired);
                }
                Err(_) => return Err(Stop::Failed),
            };
            let done = events.len() < usize::try_from(BACKLOG_BATCH).unwrap_or(usize::MAX);
            for event in &events {
                last = event.resource_version;
                self.send_event(event, out).await?;
            }
            if done {
                return Ok(last);
            }
        }
    }

    async fn send_event(
        &self,
        event: &Event,
        out: &mpsc::Sender<Result<Bytes, Infallible>>,
    ) -> Result<(), Stop> {
        if event.key.resource != resource_id(&self.resource) {
            return Ok(());
        }
        if let Some(namespace) = self
            .namespace
            .as_deref()
            .filter(|_| self.resource.namespaced)
            && event.key.namespace != namespace
        {
            return Ok(());
        }
        let Some((kind, object)) = self.selected(event) else {
            return Ok(());
        };
        self.send_object(kind, object, out).await
    }

    /// What a watch with selectors sees of an event, as kube-apiserver's watch cache decides:
    /// a modification that brings an object into the selection is `ADDED`; one that takes it
    /// out is `DELETED`, with the last state that matched at the version of the change. When
    /// the previous state is no longer in the log, an object leaving the selection is reported
    /// deleted, in case the client has it.
    fn selected(&self, event: &Event) -> Option<(&'static str, Value)> {
        let now = self.filter.matches(&event.object);
        let kind = match event.kind {
            EventType::Added => now.then_some("ADDED")?,
            EventType::Deleted => now.then_some("DELETED")?,
            EventType::Modified => match event.previous.as_deref() {
                Some(previous) => match (self.filter.matches(previous), now) {
                    (true, true) => "MODIFIED",
                    (false, true) => "ADDED",
                    (false, false) => return None,
                    (true, false) => {
                        let mut last = previous.clone();
                        metadata_mut(&mut last).insert(
                            "resourceVersion".into(),
                            json!(event.resource_version.to_string()),
                        );
                        return Some(("DELETED", last));
                    }
                },
                None if now => "MODIFIED",
                None => "DELETED",
            },
        };
        Some((kind, (*event.object).clone()))
    }

    async fn send_object(
        &self,
        kind: &str,
        object: Value,
        out: &mpsc::Sender<Result<Bytes, Infallible>>,
    ) -> Result<(), Stop> {
        let object = with_type(&self.resource, object);
        let object = match &self.presentation.table {
            Some(include) => table_row_object(&self.resource, &object, *include),
            None => object,
        };
        send(out, &json!({"type": kind, "object": object})).await
    }
}

async fn send(out: &mpsc::Sender<Result<Bytes, Infallible>>, event: &Value) -> Result<(), Stop> {
    let mut line = event.to_string();
    line.push('\n');
    out.send(Ok(Bytes::from(line)))
        .await
        .map_err(|_| Stop::ClientGone)
}
