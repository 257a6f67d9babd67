//! A producer at a bounded rate for a bounded time, for the fault tests and
//! the chaos soak: each event gets its own idempotency key and is retried
//! with the same key (the same body), with backoff, until ingest accepts it,
//! so an answer lost to a crash never loses the event. With several ingest
//! nodes it spreads events over them and retries on the next one. Events go
//! one per `POST /events`, or in batches of keyed events (`flat_out`).

mod send;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::checker::Accepted;
use crate::ApiClient;
use send::{send_new, try_given_up_again, Item};

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
    /// Events given up on during the load, tried once more after it.
    given_up: Vec<Item>,
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
                tasks.spawn(send_new(
                    apis.clone(),
                    s.clone(),
                    vec![Item::new(event_type, n)],
                ));
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
    /// sending its next `batch` events (one `POST /events/batch`, every
    /// event with its own key; `POST /events` for a batch of 1) when its
    /// last ones are accepted: a closed loop, so the rate is the highest the
    /// machine sustains, not one asked for.
    pub fn flat_out(
        apis: Vec<ApiClient>,
        types: &'static [&'static str],
        clients: usize,
        batch: usize,
        duration: Duration,
    ) -> Self {
        assert!(!apis.is_empty() && !types.is_empty() && clients > 0 && batch > 0);
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
                        let first = next.fetch_add(batch, Ordering::Relaxed);
                        let items = (first..first + batch)
                            .map(|n| Item::new(types[n % types.len()], n))
                            .collect();
                        send_new(apis.clone(), s.clone(), items).await;
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
