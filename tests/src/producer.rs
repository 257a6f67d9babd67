//! A producer at a bounded rate for a bounded time, for the fault tests and
//! the chaos soak: each event gets its own idempotency key and is retried
//! with the same key (the same body), with backoff, until ingest accepts it,
//! so an answer lost to a crash never loses the event. With several ingest
//! nodes it spreads events over them and retries on the next one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald_common::backoff::Backoff;
use serde_json::json;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::checker::Accepted;
use crate::ApiClient;

/// How long one event is retried before the producer gives up on it.
const GIVE_UP: Duration = Duration::from_secs(120);
/// Retries of one event: 100 ms, doubling, at most 2 s apart (a 10 s outage
/// at 500 events/s is ~5,000 events waiting, not 25,000 requests a second).
const RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));

#[derive(Debug, Default)]
pub struct Produced {
    pub accepted: Vec<Accepted>,
    /// Answers by status ("error" for no answer), retries included.
    pub answers: BTreeMap<String, usize>,
    /// Events ingest refused with a 4xx: a bug in the test or in ingest.
    pub rejected: Vec<String>,
    /// Events never accepted within the give-up time, even by the last
    /// round after the load (see [`Producer::finish`]).
    pub abandoned: usize,
    /// Events given up on during the load, tried once more after it:
    /// `(type, n, idempotency key)`.
    given_up: Vec<(&'static str, usize, Uuid)>,
    /// Events sent (each once, however often it was retried).
    pub sent: usize,
    /// How long the load ran.
    pub elapsed: Duration,
}

impl Produced {
    /// Answers with this status so far.
    pub fn answered(&self, status: &str) -> usize {
        self.answers.get(status).copied().unwrap_or(0)
    }

    /// Accepted events per second of load.
    pub fn rate(&self) -> f64 {
        self.accepted.len() as f64 / self.elapsed.as_secs_f64().max(0.001)
    }
}

#[derive(Default)]
struct Shared(Mutex<Produced>);

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut Produced) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A running producer; [`Producer::finish`] waits for its last event.
pub struct Producer {
    task: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
}

impl Producer {
    /// `rate` × `duration` events, one every 1/`rate` s (catching up in a
    /// burst when it falls behind), through `apis` (in turn), cycling
    /// through `types`.
    pub fn start(
        apis: Vec<ApiClient>,
        types: &'static [&'static str],
        rate: u32,
        duration: Duration,
    ) -> Self {
        assert!(!apis.is_empty() && !types.is_empty() && rate > 0);
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let task = tokio::spawn(async move {
            let apis = Arc::new(apis);
            let mut tasks = JoinSet::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
            let started = Instant::now();
            let total = (f64::from(rate) * duration.as_secs_f64()).round() as usize;
            for n in 0..total {
                tick.tick().await;
                let event_type = types[n % types.len()];
                tasks.spawn(send_one(apis.clone(), s.clone(), event_type, n));
                while tasks.try_join_next().is_some() {}
            }
            s.with(|p| {
                p.sent = total;
                p.elapsed = started.elapsed();
            });
            while tasks.join_next().await.is_some() {}
            try_given_up_again(apis, s).await;
        });
        Self { task, shared }
    }

    /// As fast as ingest answers for `duration`: `clients` producers, each
    /// sending its next event when its last one is accepted (a closed loop,
    /// so the rate is the highest the machine sustains, not one asked for).
    pub fn flat_out(
        apis: Vec<ApiClient>,
        types: &'static [&'static str],
        clients: usize,
        duration: Duration,
    ) -> Self {
        assert!(!apis.is_empty() && !types.is_empty() && clients > 0);
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let task = tokio::spawn(async move {
            let apis = Arc::new(apis);
            let next = Arc::new(AtomicUsize::new(0));
            let started = Instant::now();
            let mut tasks = JoinSet::new();
            for _ in 0..clients {
                let (apis, s, next) = (apis.clone(), s.clone(), next.clone());
                tasks.spawn(async move {
                    while started.elapsed() < duration {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        send_one(apis.clone(), s.clone(), types[n % types.len()], n).await;
                    }
                });
            }
            while tasks.join_next().await.is_some() {}
            s.with(|p| {
                p.sent = next.load(Ordering::Relaxed);
                p.elapsed = started.elapsed();
            });
            try_given_up_again(apis, s).await;
        });
        Self { task, shared }
    }

    /// Accepted so far.
    pub fn accepted_count(&self) -> usize {
        self.shared.with(|p| p.accepted.len())
    }

    /// Answers with `status` so far ("503", "error", ...).
    pub fn answered(&self, status: &str) -> usize {
        self.shared.with(|p| p.answered(status))
    }

    /// Wait for every event to be accepted (or abandoned); panics if ingest
    /// refused a valid event.
    pub async fn finish(self) -> Produced {
        if let Err(e) = self.task.await {
            panic!("producer task: {e}");
        }
        let produced = self.shared.with(std::mem::take);
        println!(
            "producer: {} sent in {:.1}s, {} accepted ({:.0}/s), answers {:?}, {} abandoned",
            produced.sent,
            produced.elapsed.as_secs_f64(),
            produced.accepted.len(),
            produced.rate(),
            produced.answers,
            produced.abandoned
        );
        assert!(
            produced.rejected.is_empty(),
            "ingest refused valid events: {:?}",
            &produced.rejected[..produced.rejected.len().min(5)]
        );
        produced
    }
}

async fn send_one(
    apis: Arc<Vec<ApiClient>>,
    shared: Arc<Shared>,
    event_type: &'static str,
    n: usize,
) {
    if let Some(key) = send_keyed(apis, shared.clone(), event_type, n, Uuid::new_v4()).await {
        shared.with(|p| p.given_up.push((event_type, n, key)));
    }
}

/// Send event `n` with idempotency key `key` until ingest accepts it or
/// [`GIVE_UP`] passes; the key of an event given up on.
async fn send_keyed(
    apis: Arc<Vec<ApiClient>>,
    shared: Arc<Shared>,
    event_type: &'static str,
    n: usize,
    key: Uuid,
) -> Option<Uuid> {
    let body = json!({"type": event_type, "payload": {"n": n}, "idempotency_key": key});
    let give_up = Instant::now() + GIVE_UP;
    let mut delays = RETRY.delays();
    let mut turn = n;
    while Instant::now() < give_up {
        let api = &apis[turn % apis.len()];
        turn += 1;
        let answer = api.post_json("/events", &body).await;
        let status = answer.as_ref().map(|r| r.status.as_u16()).ok();
        let label = status.map_or("error".to_string(), |s| s.to_string());
        shared.with(|p| *p.answers.entry(label).or_default() += 1);
        match (status, answer) {
            (Some(200 | 201), Ok(r)) => {
                let v = r.value();
                let id = v["id"].as_str().and_then(|s| s.parse().ok());
                let Some(id) = id else {
                    shared.with(|p| p.rejected.push(format!("no id in {}", r.text())));
                    return None;
                };
                shared.with(|p| {
                    p.accepted.push(Accepted {
                        id,
                        event_type: event_type.to_string(),
                        tenant: v["tenant_id"].as_str().unwrap_or("?").to_string(),
                        accepted_at: Instant::now(),
                    })
                });
                return None;
            }
            (Some(s), Ok(r)) if (400..500).contains(&s) && s != 429 => {
                shared.with(|p| p.rejected.push(format!("{s} {}", r.text())));
                return None;
            }
            _ => tokio::time::sleep(delays.next_delay()).await,
        }
    }
    Some(key)
}

/// An event given up on may still be stored (a node killed after its
/// commit, before its answer): ask once more with the same idempotency key,
/// so the checker knows every stored event.
async fn try_given_up_again(apis: Arc<Vec<ApiClient>>, s: Arc<Shared>) {
    let again = s.with(|p| std::mem::take(&mut p.given_up));
    let mut tasks = JoinSet::new();
    for (event_type, n, key) in again {
        tasks.spawn(send_last(apis.clone(), s.clone(), event_type, n, key));
    }
    while tasks.join_next().await.is_some() {}
}

/// The last try of an event given up on during the load.
async fn send_last(
    apis: Arc<Vec<ApiClient>>,
    shared: Arc<Shared>,
    event_type: &'static str,
    n: usize,
    key: Uuid,
) {
    if send_keyed(apis, shared.clone(), event_type, n, key)
        .await
        .is_some()
    {
        shared.with(|p| p.abandoned += 1);
    }
}
