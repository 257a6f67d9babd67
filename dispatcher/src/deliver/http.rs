//! The one place that touches hyper: a single pooled client shared by every
//! delivery (keep-alive, HTTP/1.1 and HTTP/2 by ALPN, HTTPS through rustls
//! with the system's roots or, failing those, webpki's), and [`HttpClient::deliver`],
//! which sends one POST and reads at most `response_body_limit` bytes back.

use super::connector::{Counting, GuardedResolver, ResolveError};
use bytes::Bytes;
use herald_common::url_guard::{GuardError, UrlGuard};
use http::header::{HeaderMap, RETRY_AFTER};
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

type Connector = HttpsConnector<Counting<HttpConnector<GuardedResolver>>>;

/// After the kept excerpt, read (and drop) at most this much more so the
/// connection can go back to the pool; larger bodies close it instead.
const DRAIN_LIMIT: usize = 64 * 1024;

/// Why an attempt got no usable response.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("TLS error: {0}")]
    Tls(String),
    #[error("blocked: {0}")]
    Blocked(String),
    #[error("could not resolve: {0}")]
    Unresolvable(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("request failed: {0}")]
    Request(String),
}

impl DeliveryError {
    /// A bounded label for `herald_delivery_attempts_total{result}`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Connect(_) | Self::Unresolvable(_) => "connect_error",
            Self::Tls(_) => "tls_error",
            Self::Blocked(_) => "blocked",
            Self::Invalid(_) | Self::Request(_) => "error",
        }
    }
}

/// What came back.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub retry_after: Option<String>,
    /// Every response header (the log keeps an excerpt).
    pub headers: HeaderMap,
    /// The first `response_body_limit` bytes, as lossy UTF-8.
    pub body_excerpt: String,
}

pub struct HttpClient {
    client: Client<Connector, Full<Bytes>>,
    guard: Arc<UrlGuard>,
    timeout: Duration,
    body_limit: usize,
}

impl HttpClient {
    pub fn new(
        guard: Arc<UrlGuard>,
        connect_timeout: Duration,
        timeout: Duration,
        body_limit: usize,
    ) -> Self {
        let mut http = HttpConnector::new_with_resolver(GuardedResolver::new(guard.clone()));
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        http.set_keepalive(Some(Duration::from_secs(60)));
        let builder = HttpsConnectorBuilder::new();
        let tls = match builder.with_native_roots() {
            Ok(b) => b,
            Err(error) => {
                tracing::info!(%error, "No system root certificates; using webpki roots.");
                HttpsConnectorBuilder::new().with_webpki_roots()
            }
        };
        let connector = tls
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(Counting::new(http));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Self {
            client,
            guard,
            timeout,
            body_limit,
        }
    }

    /// POST `body` to `url`. The whole exchange (connect, send, status, the
    /// kept part of the body) is bounded by the delivery timeout; a body that
    /// is still arriving at the deadline is cut, keeping the status.
    pub async fn deliver(
        &self,
        url: &url::Url,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<HttpResponse, DeliveryError> {
        self.check_literal_host(url)?;
        let uri: hyper::Uri = url
            .as_str()
            .parse()
            .map_err(|e: http::uri::InvalidUri| DeliveryError::Invalid(e.to_string()))?;
        let mut request = hyper::Request::post(uri)
            .body(Full::new(body))
            .map_err(|e| DeliveryError::Invalid(e.to_string()))?;
        *request.headers_mut() = headers;

        let deadline = Instant::now() + self.timeout;
        let response = tokio::time::timeout_at(deadline, self.client.request(request))
            .await
            .map_err(|_| DeliveryError::Timeout(self.timeout))?
            .map_err(classify_error)?;
        let status = response.status().as_u16();
        let (parts, mut body) = response.into_parts();
        let retry_after = parts
            .headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut kept: Vec<u8> = Vec::new();
        let mut seen = 0usize;
        while seen <= self.body_limit + DRAIN_LIMIT {
            let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(Some(Ok(frame))) => frame,
                // End of body, a broken body or the deadline: keep what we have.
                Ok(None) | Ok(Some(Err(_))) | Err(_) => break,
            };
            if let Ok(data) = frame.into_data() {
                let room = self.body_limit.saturating_sub(kept.len());
                kept.extend_from_slice(&data[..room.min(data.len())]);
                seen += data.len();
            }
        }
        Ok(HttpResponse {
            status,
            retry_after,
            headers: parts.headers,
            body_excerpt: String::from_utf8_lossy(&kept).into_owned(),
        })
    }

    /// The resolver only sees host names; literal addresses are checked here.
    fn check_literal_host(&self, url: &url::Url) -> Result<(), DeliveryError> {
        let Some(host) = url.host_str() else {
            return Err(DeliveryError::Invalid("the url has no host".into()));
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            let port = url.port_or_known_default().unwrap_or(443);
            self.guard
                .check_addrs(bare, &[SocketAddr::new(ip, port)])
                .map_err(|e| DeliveryError::Blocked(e.to_string()))?;
        }
        Ok(())
    }
}

/// Map a client error to what it means for the attempt, by walking its
/// source chain (guard refusal, TLS, connect).
fn classify_error(error: hyper_util::client::legacy::Error) -> DeliveryError {
    let text = error_chain(&error);
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    let mut tls = false;
    while let Some(e) = source {
        if let Some(ResolveError(guard)) = e.downcast_ref::<ResolveError>() {
            return match guard {
                GuardError::Blocked { .. } => DeliveryError::Blocked(guard.to_string()),
                _ => DeliveryError::Unresolvable(guard.to_string()),
            };
        }
        tls |= is_invalid_data(e);
        source = e.source();
    }
    if error.is_connect() {
        if tls {
            DeliveryError::Tls(text)
        } else {
            DeliveryError::Connect(text)
        }
    } else {
        DeliveryError::Request(text)
    }
}

/// rustls reports handshake failures as `InvalidData` I/O errors, which
/// hyper-rustls wraps in another I/O error (whose `source()` skips the
/// inner one), so look inside wrapped I/O errors too.
fn is_invalid_data(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut io = e.downcast_ref::<std::io::Error>();
    while let Some(err) = io {
        if err.kind() == std::io::ErrorKind::InvalidData {
            return true;
        }
        io = err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<std::io::Error>());
    }
    false
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        source = e.source();
    }
    out
}

#[cfg(test)]
mod tests;
