//! The loopback receivers: one hyper server, one path per endpoint
//! (`/r/<k>`). Endpoints `0..healthy` answer 204 after the configured
//! latency (failing the configured fraction); the rest always answer 500.
//! Every arrival is counted per (endpoint, seq) to find losses and
//! duplicates, and its latency is taken from the payload's send time.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

pub struct State {
    endpoints: usize,
    healthy: usize,
    events: usize,
    latency: Duration,
    failure_ratio: f64,
    counts: Vec<AtomicU16>,
    accepted: Vec<AtomicBool>,
    unique_healthy: AtomicU64,
    pub arrivals: AtomicU64,
    pub misrouted: AtomicU64,
    pub connections: AtomicU64,
    /// (arrival unix ns, microseconds from send to arrival) of the first
    /// arrival of each healthy delivery.
    pub latencies_us: Mutex<Vec<(u64, u64)>>,
    /// Accepted events per second since [`State::start_clock`].
    accepted_per_second: Mutex<Vec<u64>>,
    /// Unix ns when the producer started; 0 before.
    pub started_ns: AtomicU64,
    /// Unix ns of the first and last healthy first-arrival.
    pub first_arrival_ns: AtomicU64,
    pub last_arrival_ns: AtomicU64,
}

#[derive(serde::Deserialize)]
struct Envelope {
    data: Data,
}

#[derive(serde::Deserialize)]
struct Data {
    seq: usize,
    sent_ns: u64,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl State {
    pub fn new(
        endpoints: usize,
        healthy: usize,
        events: usize,
        latency: Duration,
        failure_ratio: f64,
    ) -> Self {
        Self {
            endpoints,
            healthy,
            events,
            latency,
            failure_ratio,
            counts: (0..endpoints * events).map(|_| AtomicU16::new(0)).collect(),
            accepted: (0..events).map(|_| AtomicBool::new(false)).collect(),
            unique_healthy: AtomicU64::new(0),
            arrivals: AtomicU64::new(0),
            misrouted: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            latencies_us: Mutex::new(Vec::with_capacity(events * healthy)),
            accepted_per_second: Mutex::new(Vec::new()),
            started_ns: AtomicU64::new(0),
            first_arrival_ns: AtomicU64::new(u64::MAX),
            last_arrival_ns: AtomicU64::new(0),
        }
    }

    /// Start the clock of the per-second series.
    pub fn start_clock(&self) {
        self.started_ns.store(now_ns(), Ordering::Relaxed);
    }

    /// The events `seqs` were accepted now.
    pub fn mark_accepted(&self, seqs: std::ops::Range<usize>) {
        let second =
            now_ns().saturating_sub(self.started_ns.load(Ordering::Relaxed)) / 1_000_000_000;
        if let Ok(mut per) = self.accepted_per_second.lock() {
            let i = second as usize;
            if per.len() <= i {
                per.resize(i + 1, 0);
            }
            per[i] += seqs.len() as u64;
        }
        for seq in seqs {
            if let Some(a) = self.accepted.get(seq) {
                a.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Accepted events per second since the clock started.
    pub fn accepted_per_second(&self) -> Vec<u64> {
        self.accepted_per_second
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    pub fn unique_healthy(&self) -> u64 {
        self.unique_healthy.load(Ordering::Relaxed)
    }

    /// (lost, duplicates) over healthy endpoints and accepted events.
    pub fn tally(&self) -> (u64, u64) {
        let (mut lost, mut dups) = (0, 0);
        for k in 0..self.healthy {
            for seq in 0..self.events {
                let c = self.counts[k * self.events + seq].load(Ordering::Relaxed) as u64;
                if c == 0 && self.accepted[seq].load(Ordering::Relaxed) {
                    lost += 1;
                }
                dups += c.saturating_sub(1);
            }
        }
        (lost, dups)
    }

    /// Record one arrival; returns whether the endpoint is healthy.
    fn record(&self, k: usize, body: &[u8]) -> bool {
        let arrived = now_ns();
        self.arrivals.fetch_add(1, Ordering::Relaxed);
        let Ok(env) = serde_json::from_slice::<Envelope>(body) else {
            self.misrouted.fetch_add(1, Ordering::Relaxed);
            return k < self.healthy;
        };
        let seq = env.data.seq;
        if k >= self.endpoints || seq >= self.events {
            self.misrouted.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let prev = self.counts[k * self.events + seq].fetch_add(1, Ordering::Relaxed);
        if prev == 0 && k < self.healthy {
            self.unique_healthy.fetch_add(1, Ordering::Relaxed);
            let us = arrived.saturating_sub(env.data.sent_ns) / 1000;
            if let Ok(mut l) = self.latencies_us.lock() {
                l.push((arrived, us));
            }
            self.first_arrival_ns.fetch_min(arrived, Ordering::Relaxed);
            self.last_arrival_ns.fetch_max(arrived, Ordering::Relaxed);
        }
        k < self.healthy
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let k = req
        .uri()
        .path()
        .strip_prefix("/r/")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let healthy = state.record(k, &body);
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    let fail = !healthy || (state.failure_ratio > 0.0 && rand_unit() < state.failure_ratio);
    let status = if fail { 500 } else { 204 };
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    Ok(resp)
}

fn rand_unit() -> f64 {
    // A cheap per-call random number; quality does not matter here.
    let n = uuid::Uuid::new_v4().as_u128() as u64;
    (n >> 11) as f64 / (1u64 << 53) as f64
}

/// Start the receiver on 127.0.0.1:0; returns its address.
pub async fn start(state: Arc<State>) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            state.connections.fetch_add(1, Ordering::Relaxed);
            let state = state.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(state.clone(), req));
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(addr)
}
