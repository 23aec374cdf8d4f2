//! The fence at the socket: the reconcilers' Kubernetes client, built as kube builds its own,
//! except that every connection's socket refuses to send a byte while the fence is closed. A
//! check made before a request starts its way down the client can be stale by the time its bytes
//! leave (a new TLS connection, or a process frozen in between); a check in the socket's own
//! `poll_write` is the last moment before the kernel takes the bytes, which it then transmits
//! even while the process stays frozen.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::Uri;
use futures::future::BoxFuture;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioExecutor;
use kube::client::ConfigExt as _;
use kube::client::retry::RetryPolicy;
use tower::retry::RetryLayer;
use tower::{BoxError, Service, ServiceBuilder};

use super::fence::Fence;

/// Why the fenced client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("failed to build the reconcilers' fenced Kubernetes client: {0}")]
pub struct FencedClientError(#[source] kube::Error);

/// The reconcilers' client of `config`: kube's own stack (base URI, retries, authentication,
/// extra headers, timeouts, rustls) behind the fence's layer, which refuses a write before it
/// starts and names its method, over sockets that send nothing while `fence` is closed — the
/// guarantee, up to the last moment.
pub fn fenced_client(
    config: &kube::Config,
    fence: &Fence,
) -> Result<kube::Client, FencedClientError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    let fenced = FencedConnector {
        inner: http,
        fence: fence.clone(),
    };
    let https = config
        .rustls_https_connector_with_connector(fenced)
        .map_err(FencedClientError)?;
    let mut connector = TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let hyper_client: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector);
    let service = ServiceBuilder::new()
        .layer(fence.layer())
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .default_retry
                .then(|| RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.auth_layer().map_err(FencedClientError)?)
        .layer(config.extra_headers_layer().map_err(FencedClientError)?)
        .map_err(BoxError::from)
        .service(hyper_client);
    Ok(kube::Client::new(service, config.default_namespace.clone()))
}

/// A connector whose connections are [`FencedIo`].
#[derive(Clone, Debug)]
struct FencedConnector {
    inner: HttpConnector,
    fence: Fence,
}

impl Service<Uri> for FencedConnector {
    type Response = FencedIo<<HttpConnector as Service<Uri>>::Response>;
    type Error = <HttpConnector as Service<Uri>>::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let fence = self.fence.clone();
        Box::pin(async move {
            let io = connecting.await?;
            Ok(FencedIo { io, fence })
        })
    }
}

/// A socket that refuses every write while the fence is closed.
#[derive(Debug)]
pub struct FencedIo<T> {
    io: T,
    fence: Fence,
}

impl<T> FencedIo<T> {
    fn check(&self) -> std::io::Result<()> {
        if self.fence.is_open() {
            Ok(())
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "this replica is not the leader, or could not renew its lease within the renew \
                 deadline: nothing is sent",
            ))
        }
    }
}

impl<T: Read + Unpin> Read for FencedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: Write + Unpin> Write for FencedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl<T: Connection> Connection for FencedIo<T> {
    fn connected(&self) -> Connected {
        self.io.connected()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use axum::routing::any;
    use k8s_openapi::api::core::v1::Namespace;
    use kube::Api;
    use tokio::time::Instant;

    use super::*;

    /// A server that answers every request with a Namespace and counts them.
    async fn counting_server() -> (String, Arc<AtomicUsize>) {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&seen);
        let app = axum::Router::new().fallback(any(move || {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                axum::Json(serde_json::json!({
                    "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "x" }
                }))
            }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}"), seen)
    }

    #[tokio::test]
    async fn nothing_leaves_the_socket_while_the_fence_is_closed() {
        let (url, seen) = counting_server().await;
        let config = kube::Config::new(url.parse().expect("a URL"));
        let fence = Fence::new();
        let client = fenced_client(&config, &fence).expect("a client");
        let namespaces: Api<Namespace> = Api::all(client);

        fence.open_until(Instant::now() + Duration::from_secs(60));
        namespaces.get("x").await.expect("a read while leading");
        let patch = kube::api::Patch::Merge(serde_json::json!({}));
        let params = kube::api::PatchParams::default();
        namespaces
            .patch("x", &params, &patch)
            .await
            .expect("a write while leading");
        assert_eq!(seen.load(Ordering::SeqCst), 2);

        // Closed: the layer refuses the write, and the socket refuses even the read's bytes on
        // the connection opened while leading.
        fence.close();
        let refused = namespaces.patch("x", &params, &patch).await;
        assert!(refused.is_err(), "{refused:?}");
        let read = namespaces.get("x").await;
        assert!(read.is_err(), "{read:?}");
        assert_eq!(seen.load(Ordering::SeqCst), 2, "nothing reached the server");
    }
}
