//! `TestReceiver`: an HTTP endpoint on 127.0.0.1:0 that records every
//! request and answers as told ([`Behavior`]), globally or per path. It
//! counts accepted TCP connections, so tests can check connection reuse.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

pub use crate::receiver_behavior::Behavior;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub received_at: Instant,
    pub received_at_system: SystemTime,
    /// 1 for the first accepted TCP connection, 2 for the next, ...
    pub connection_id: u64,
    /// The status the receiver answered (or will answer, after a delay).
    pub status: u16,
}

impl ReceivedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Default)]
struct Rules {
    global: (Behavior, usize),
    by_path: HashMap<String, (Behavior, usize)>,
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<ReceivedRequest>>,
    rules: Mutex<Rules>,
    connections: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub struct TestReceiver {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl TestReceiver {
    /// Start on a free port; every path answers 200 until told otherwise.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Start on `127.0.0.1:<port>` (0: a free one), e.g. the port of a
    /// receiver dropped earlier, to bring "the same" endpoint back up.
    pub async fn start_on(port: u16) -> Self {
        crate::support::init_test_log();
        let listener = match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => panic!("TestReceiver could not bind 127.0.0.1:{port}: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("TestReceiver has no local address: {e}"),
        };
        let state = Arc::new(State::default());
        let task = tokio::spawn(accept_loop(listener, state.clone()));
        Self { addr, state, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`
    pub fn url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("http://{}{slash}{path}", self.addr)
    }

    /// How every path without its own behavior answers from now on.
    pub fn set_behavior(&self, behavior: Behavior) {
        lock(&self.state.rules).global = (behavior, 0);
    }

    /// How `path` answers from now on (counts for `fail_first` restart).
    pub fn set_behavior_for(&self, path: &str, behavior: Behavior) {
        lock(&self.state.rules)
            .by_path
            .insert(path.to_string(), (behavior, 0));
    }

    /// `path` answers like every other path again.
    pub fn clear_behavior_for(&self, path: &str) {
        lock(&self.state.rules).by_path.remove(path);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.state.requests).clone()
    }

    pub fn requests_for(&self, path: &str) -> Vec<ReceivedRequest> {
        lock(&self.state.requests)
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    pub fn request_count(&self) -> usize {
        lock(&self.state.requests).len()
    }

    /// TCP connections accepted so far.
    pub fn connection_count(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Forget the requests recorded so far (behaviors stay).
    pub fn clear(&self) {
        lock(&self.state.requests).clear();
    }

    /// Wait until at least `n` requests arrived on `path` (any path when
    /// `None`); panics after `timeout` saying how many did.
    pub async fn wait_for_requests(
        &self,
        path: Option<&str>,
        n: usize,
        timeout: Duration,
    ) -> Vec<ReceivedRequest> {
        let got = || match path {
            Some(p) => self.requests_for(p),
            None => self.requests(),
        };
        let ok = crate::wait::wait_until(timeout, || async { got().len() >= n }).await;
        let requests = got();
        if ok.is_err() {
            panic!(
                "TestReceiver: waited {timeout:?} for {n} requests on {}, got {}",
                path.unwrap_or("any path"),
                requests.len()
            );
        }
        requests
    }
}

impl Drop for TestReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    // Owned here: aborting this task aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let id = state.connections.fetch_add(1, Ordering::SeqCst) + 1;
        let state = state.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| handle(state.clone(), id, req));
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    state: Arc<State>,
    connection_id: u64,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let reply = {
        let mut rules = lock(&state.rules);
        let rule = match rules.by_path.get_mut(&path) {
            Some(rule) => rule,
            None => &mut rules.global,
        };
        rule.1 += 1;
        rule.0.reply(rule.1)
    };
    lock(&state.requests).push(ReceivedRequest {
        method: parts.method,
        path,
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
        received_at: Instant::now(),
        received_at_system: SystemTime::now(),
        connection_id,
        status: reply.status,
    });
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    for (k, v) in reply.headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(&v),
        ) {
            response.headers_mut().append(k, v);
        }
    }
    Ok(response)
}
