//! Sending keyed events until ingest accepts them: one per `POST /events`,
//! or several per `POST /events/batch` (all stored or none, each with its
//! own key, so a retry of a batch stored before a crash answers `200` with
//! the stored ids).

use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_common::backoff::Backoff;
use serde_json::{json, Value};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::Shared;
use crate::checker::Accepted;
use crate::ApiClient;

/// How long one event is retried before the producer gives up on it.
const GIVE_UP: Duration = Duration::from_secs(120);
/// Retries of one event: 100 ms, doubling, at most 2 s apart (a 10 s outage
/// at 500 events/s is ~5,000 events waiting, not 25,000 requests a second).
const RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));

/// One event to send: its type, its number (the payload `{"n": n}`) and its
/// idempotency key.
#[derive(Debug, Clone)]
pub(super) struct Item {
    event_type: &'static str,
    n: usize,
    key: Uuid,
}

impl Item {
    pub(super) fn new(event_type: &'static str, n: usize) -> Self {
        Self {
            event_type,
            n,
            key: Uuid::new_v4(),
        }
    }

    fn body(&self) -> Value {
        json!({"type": self.event_type, "payload": {"n": self.n}, "idempotency_key": self.key})
    }
}

/// Send fresh `items`; those given up on are kept for the last round.
pub(super) async fn send_new(apis: Arc<Vec<ApiClient>>, shared: Arc<Shared>, items: Vec<Item>) {
    if !send(&apis, &shared, &items).await {
        shared.with(|p| p.given_up.extend(items));
    }
}

/// An event given up on may still be stored (a node killed after its
/// commit, before its answer): ask once more with the same idempotency key,
/// so the checker knows every stored event.
pub(super) async fn try_given_up_again(apis: Arc<Vec<ApiClient>>, s: Arc<Shared>) {
    let again = s.with(|p| std::mem::take(&mut p.given_up));
    let mut tasks = JoinSet::new();
    for item in again {
        let (apis, s) = (apis.clone(), s.clone());
        tasks.spawn(async move {
            if !send(&apis, &s, std::slice::from_ref(&item)).await {
                s.with(|p| p.abandoned += 1);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Send `items` (one request) until ingest answers or [`GIVE_UP`] passes;
/// whether it answered (accepted, or refused with a 4xx: a finding).
async fn send(apis: &[ApiClient], shared: &Shared, items: &[Item]) -> bool {
    let (path, body) = match items {
        [one] => ("/events", one.body()),
        many => (
            "/events/batch",
            json!({"events": many.iter().map(Item::body).collect::<Vec<_>>()}),
        ),
    };
    let give_up = Instant::now() + GIVE_UP;
    let mut delays = RETRY.delays();
    let mut turn = items.first().map_or(0, |i| i.n);
    while Instant::now() < give_up {
        let api = &apis[turn % apis.len()];
        turn += 1;
        let answer = api.post_json(path, &body).await;
        let status = answer.as_ref().map(|r| r.status.as_u16()).ok();
        let label = status.map_or("error".to_string(), |s| s.to_string());
        shared.with(|p| *p.answers.entry(label).or_default() += 1);
        match (status, answer) {
            (Some(200 | 201), Ok(r)) => {
                let v = r.value();
                let answered = match items {
                    [_] => vec![v],
                    _ => v["events"].as_array().cloned().unwrap_or_default(),
                };
                record(shared, items, &answered, &r.text());
                return true;
            }
            (Some(s), Ok(r)) if (400..500).contains(&s) && s != 429 => {
                shared.with(|p| p.rejected.push(format!("{s} {}", r.text())));
                return true;
            }
            _ => tokio::time::sleep(delays.next_delay()).await,
        }
    }
    false
}

/// The accepted events of one answer (`answered`, in the order sent).
fn record(shared: &Shared, items: &[Item], answered: &[Value], text: &str) {
    let now = Instant::now();
    shared.with(|p| {
        if answered.len() != items.len() {
            p.rejected
                .push(format!("{} events sent, answer {text}", items.len()));
            return;
        }
        for (item, v) in items.iter().zip(answered) {
            let Some(id) = v["id"].as_str().and_then(|s| s.parse().ok()) else {
                p.rejected.push(format!("no id in {text}"));
                continue;
            };
            p.accepted.push(Accepted {
                id,
                event_type: item.event_type.to_string(),
                tenant: v["tenant_id"].as_str().unwrap_or("?").to_string(),
                accepted_at: now,
            });
        }
    });
}
