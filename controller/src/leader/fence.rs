//! The fence: writes to the Kubernetes API by the reconcilers pass only while this replica's
//! leadership is certainly still valid — until the renew deadline after the last renewal it
//! *sent* — checked on every request by a layer of the reconcilers' client, by the monotonic
//! clock, so a replica that was paused (SIGSTOP, a stalled VM) refuses its own writes the moment
//! it resumes, before any task of it learns that the lease was lost.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::http::{Method, Request};
use futures::future::{BoxFuture, Either, Ready, ready};
use tokio::time::Instant;
use tower::{Layer, Service};

/// Whether this replica may write, and until when. Cheap to clone; clones share the state.
#[derive(Clone, Debug, Default)]
pub struct Fence {
    valid_until: Arc<Mutex<Option<Instant>>>,
}

impl Fence {
    /// A closed fence (no leadership yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens (or extends) the fence until `until`.
    pub fn open_until(&self, until: Instant) {
        if let Ok(mut valid_until) = self.valid_until.lock() {
            *valid_until = Some(until);
        }
    }

    /// Closes the fence at once.
    pub fn close(&self) {
        if let Ok(mut valid_until) = self.valid_until.lock() {
            *valid_until = None;
        }
    }

    /// Whether writes may pass now.
    pub fn is_open(&self) -> bool {
        self.valid_until
            .lock()
            .ok()
            .and_then(|valid_until| *valid_until)
            .is_some_and(|until| Instant::now() < until)
    }

    /// The layer that refuses writes while the fence is closed.
    pub fn layer(&self) -> FenceLayer {
        FenceLayer {
            fence: self.clone(),
        }
    }
}

/// The error of a write refused by the fence.
#[derive(Debug, thiserror::Error)]
#[error(
    "refused a {method} to the Kubernetes API: this replica is not the leader, or could not \
     renew its lease within the renew deadline"
)]
pub struct NotLeader {
    method: Method,
}

/// Whether `method` changes state on the API server.
fn writes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A `tower` layer over kube's client service that refuses writes while the fence is closed.
#[derive(Clone, Debug)]
pub struct FenceLayer {
    fence: Fence,
}

impl<S> Layer<S> for FenceLayer {
    type Service = Fenced<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Fenced {
            inner,
            fence: self.fence.clone(),
        }
    }
}

/// The service [`FenceLayer`] makes.
#[derive(Clone, Debug)]
pub struct Fenced<S> {
    inner: S,
    fence: Fence,
}

impl<S, B> Service<Request<B>> for Fenced<S>
where
    S: Service<Request<B>>,
    S::Error: Into<tower::BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = tower::BoxError;
    type Future = Either<
        Ready<Result<S::Response, tower::BoxError>>,
        BoxFuture<'static, Result<S::Response, tower::BoxError>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if writes(request.method()) && !self.fence.is_open() {
            return Either::Left(ready(Err(Box::new(NotLeader {
                method: request.method().clone(),
            }))));
        }
        let response = self.inner.call(request);
        Either::Right(Box::pin(async move { response.await.map_err(Into::into) }))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::Duration;

    use tower::ServiceExt as _;

    use super::*;

    fn request(method: Method) -> Request<()> {
        Request::builder()
            .method(method)
            .uri("/api/v1/namespaces")
            .body(())
            .expect("a request")
    }

    async fn send(fence: &Fence, method: Method) -> Result<u16, String> {
        let service = fence
            .layer()
            .layer(tower::service_fn(|_: Request<()>| async {
                Ok::<_, Infallible>(200_u16)
            }));
        service
            .oneshot(request(method))
            .await
            .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn reads_always_pass_writes_only_while_open() {
        let fence = Fence::new();
        assert_eq!(send(&fence, Method::GET).await, Ok(200));
        let refused = send(&fence, Method::PATCH).await.expect_err("closed");
        assert!(
            refused.contains("PATCH") && refused.contains("not the leader"),
            "{refused}"
        );

        fence.open_until(Instant::now() + Duration::from_millis(300));
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert_eq!(send(&fence, method).await, Ok(200));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!fence.is_open(), "the deadline passed without a renewal");
        assert!(send(&fence, Method::POST).await.is_err());
        assert_eq!(send(&fence, Method::GET).await, Ok(200));

        fence.open_until(Instant::now() + Duration::from_secs(10));
        fence.close();
        assert!(send(&fence, Method::DELETE).await.is_err());
    }
}
