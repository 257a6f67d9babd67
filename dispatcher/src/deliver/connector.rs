//! The pieces under the pooled HTTP client: a resolver that pins the addresses
//! the SSRF guard checked, and a connector wrapper that counts open
//! connections for `herald_http_pool_connections`.
//!
//! hyper-util's `HttpConnector::new_with_resolver` asks [`GuardedResolver`] for
//! the addresses of a host name; the resolver resolves it once through
//! [`UrlGuard::resolve`], refuses blocked ranges, and hands back exactly the
//! addresses it checked, so the connection goes to an address that passed the
//! guard (no DNS-rebinding window between check and connect). Connections are
//! still pooled by host by the client above. Literal IP hosts never reach a
//! resolver; `deliver()` checks those itself.

use herald_common::metrics::HTTP_POOL_CONNECTIONS;
use herald_common::url_guard::{GuardError, UrlGuard};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper::Uri;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::{Connected, Connection};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The guard's refusal, as the resolver's error (found again by walking the
/// client error's source chain).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ResolveError(#[from] pub GuardError);

/// Resolves through the SSRF guard and returns only checked addresses.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    guard: Arc<UrlGuard>,
}

impl GuardedResolver {
    pub fn new(guard: Arc<UrlGuard>) -> Self {
        Self { guard }
    }
}

impl tower::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = ResolveError;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let guard = self.guard.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let url = url::Url::parse(&format!("http://{host}/"))
                .map_err(|_| GuardError::Unresolvable(host.clone()))?;
            let addrs = guard.resolve(&url).await?;
            // Port 0: the connector puts in the URI's port (or the scheme's).
            let pinned: Vec<SocketAddr> = addrs
                .into_iter()
                .map(|mut a| {
                    a.set_port(0);
                    a
                })
                .collect();
            Ok(pinned.into_iter())
        })
    }
}

/// Wraps a connector so every connection it opens is counted while it lives.
#[derive(Clone, Debug)]
pub struct Counting<C> {
    inner: C,
}

impl<C> Counting<C> {
    pub fn new(inner: C) -> Self {
        Self { inner }
    }
}

impl<C> tower::Service<Uri> for Counting<C>
where
    C: tower::Service<Uri> + Send,
    C::Future: Send + 'static,
    C::Response: Send,
{
    type Response = Counted<C::Response>;
    type Error = C::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            let io = connecting.await?;
            metrics::gauge!(HTTP_POOL_CONNECTIONS).increment(1.0);
            Ok(Counted { inner: io })
        })
    }
}

/// A connection that decrements the gauge when closed.
#[derive(Debug)]
pub struct Counted<T> {
    inner: T,
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        metrics::gauge!(HTTP_POOL_CONNECTIONS).decrement(1.0);
    }
}

impl<T: Read + Unpin> Read for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: Write + Unpin> Write for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}

impl<T: Connection> Connection for Counted<T> {
    fn connected(&self) -> Connected {
        self.inner.connected()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::Service;

    #[tokio::test]
    async fn the_resolver_refuses_blocked_names_and_pins_allowed_ones() {
        let strict = Arc::new(UrlGuard::strict());
        let name: Name = "localhost".parse().expect("name");
        let err = GuardedResolver::new(strict).call(name.clone()).await;
        assert!(matches!(err, Err(ResolveError(GuardError::Blocked { .. }))));

        let open = Arc::new(UrlGuard::permissive());
        let addrs: Vec<SocketAddr> = GuardedResolver::new(open)
            .call(name)
            .await
            .expect("resolves")
            .collect();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 0));
    }
}
