//! A producer at a bounded rate for a bounded time: each event gets its own
//! idempotency key and is retried with the same key (the same body) until
//! ingest accepts it, so an answer lost to a crash never loses the event.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald_tests::checker::Accepted;
use herald_tests::ApiClient;
use serde_json::json;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::support::TYPES;

/// How long one event is retried before the producer gives up on it.
const GIVE_UP: Duration = Duration::from_secs(90);
const RETRY_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
pub struct Produced {
    pub accepted: Vec<Accepted>,
    /// Answers by status ("error" for no answer), retries included.
    pub answers: BTreeMap<String, usize>,
    /// Events ingest refused with a 4xx: a bug in this test or in ingest.
    pub rejected: Vec<String>,
    /// Events never accepted within the give-up time.
    pub abandoned: usize,
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
    /// `rate` events per second for `duration` through `api`.
    pub fn start(api: ApiClient, rate: u32, duration: Duration) -> Self {
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let task = tokio::spawn(async move {
            let mut tasks = JoinSet::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
            let end = Instant::now() + duration;
            let mut n = 0usize;
            while Instant::now() < end {
                tick.tick().await;
                let event_type = TYPES[n % TYPES.len()];
                tasks.spawn(send_one(api.clone(), s.clone(), event_type, n));
                n += 1;
            }
            while tasks.join_next().await.is_some() {}
        });
        Self { task, shared }
    }

    /// Accepted so far.
    pub fn accepted_count(&self) -> usize {
        self.shared.with(|p| p.accepted.len())
    }

    /// Wait for every event to be accepted (or abandoned).
    pub async fn finish(self) -> Produced {
        self.task.await.expect("producer task");
        let produced = self.shared.with(std::mem::take);
        println!(
            "producer: {} accepted, answers {:?}, {} abandoned",
            produced.accepted.len(),
            produced.answers,
            produced.abandoned
        );
        assert!(
            produced.rejected.is_empty(),
            "ingest refused valid events: {:?}",
            produced.rejected
        );
        produced
    }
}

async fn send_one(api: ApiClient, shared: Arc<Shared>, event_type: &'static str, n: usize) {
    let key = Uuid::new_v4().to_string();
    let body = json!({"type": event_type, "payload": {"n": n}, "idempotency_key": key});
    let give_up = Instant::now() + GIVE_UP;
    while Instant::now() < give_up {
        let answer = api.post_json("/events", &body).await;
        let status = answer.as_ref().map(|r| r.status.as_u16()).ok();
        let label = status.map_or("error".to_string(), |s| s.to_string());
        shared.with(|p| *p.answers.entry(label).or_default() += 1);
        match (status, answer) {
            (Some(200 | 201), Ok(r)) => {
                let v = r.value();
                let id = v["id"].as_str().and_then(|s| s.parse().ok());
                let id: Uuid = id.expect("an accepted event has an id");
                shared.with(|p| {
                    p.accepted.push(Accepted {
                        id,
                        event_type: event_type.to_string(),
                        tenant: v["tenant_id"].as_str().unwrap_or("?").to_string(),
                        accepted_at: Instant::now(),
                    })
                });
                return;
            }
            (Some(s), Ok(r)) if (400..500).contains(&s) && s != 429 => {
                shared.with(|p| p.rejected.push(format!("{s} {}", r.text())));
                return;
            }
            _ => tokio::time::sleep(RETRY_EVERY).await,
        }
    }
    shared.with(|p| p.abandoned += 1);
}
