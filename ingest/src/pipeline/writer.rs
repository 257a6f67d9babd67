//! Group commit for events. Concurrent requests hand their events to one
//! writer task, which gathers everything waiting into a single multi-row
//! `INSERT ... SELECT FROM UNNEST(...)` per round trip. While a statement
//! runs the next group grows; a second statement (up to
//! `HERALD_EVENT_WRITERS`) starts beside it only for a group of at least
//! [`PARALLEL_ROWS`] rows, so single events make few large statements and
//! batch requests still use several Postgres backends. The statements are
//! in [`crate::store::events`]; freshly created events go on to the
//! [`Publisher`].

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};

use super::publisher::Publisher;
use crate::store::events::{self, Event, Inserted};
use crate::store::StoreError;

/// At most this many rows per statement (a single request is never split).
const MAX_ROWS: usize = 2_000;
/// A group this large starts a statement even while another one runs.
const PARALLEL_ROWS: usize = 500;
/// Requests waiting for the writer before callers feel backpressure.
const QUEUE: usize = 10_000;

/// What happened to one event of a request.
#[derive(Debug, Clone)]
pub enum Written {
    /// Stored now.
    Created(Event),
    /// Its idempotency key was already used, within the window, by the
    /// same request (type and payload): the first event with that key.
    Existing(Event),
    /// Its idempotency key is held by an event with another type or
    /// payload (that event); nothing was stored for it.
    Conflict(Event),
}

/// Why a request's events were not stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// The writer task has stopped (the node is shutting down).
    #[error("the event writer is shutting down")]
    Closed,
    /// The group statement failed; every request of the group gets it.
    #[error("could not store the events")]
    Store(#[source] Arc<StoreError>),
    /// Postgres reported a conflict on a key but returned no earlier event.
    #[error("an event conflicted but no earlier event was found")]
    NoEarlierEvent,
}

type Reply = oneshot::Sender<Result<Vec<Written>, WriteError>>;

struct Request {
    events: Vec<Event>,
    reply: Reply,
}

/// The handle requests use; cheap to clone.
#[derive(Clone)]
pub struct EventWriter {
    tx: mpsc::Sender<Request>,
}

impl EventWriter {
    /// Start the writer task. It ends once every handle is dropped and the
    /// queue is drained.
    /// Idempotency keys are held for `window`.
    pub fn spawn(
        db: Pool,
        publisher: Publisher,
        max_in_flight: usize,
        window: Duration,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let sink = Sink {
            db,
            publisher,
            window,
        };
        let task = tokio::spawn(run(sink, rx, max_in_flight.max(1)));
        (Self { tx }, task)
    }

    /// Store `events` atomically (all or none) and return each one's outcome,
    /// in order. Answers once Postgres has committed.
    pub async fn write(&self, events: Vec<Event>) -> Result<Vec<Written>, WriteError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request { events, reply })
            .await
            .map_err(|_| WriteError::Closed)?;
        rx.await.map_err(|_| WriteError::Closed)?
    }
}

/// Where groups go: Postgres, then the publisher.
#[derive(Clone)]
struct Sink {
    db: Pool,
    publisher: Publisher,
    window: Duration,
}

async fn run(sink: Sink, mut rx: mpsc::Receiver<Request>, in_flight: usize) {
    let permits = Arc::new(Semaphore::new(in_flight));
    let finished = Arc::new(Notify::new());
    let mut open = true;
    while open {
        let Some(first) = rx.recv().await else { break };
        let mut rows = first.events.len();
        let mut group = vec![first];
        loop {
            while rows < MAX_ROWS {
                match rx.try_recv() {
                    Ok(r) => {
                        rows += r.events.len();
                        group.push(r);
                    }
                    Err(_) => break,
                }
            }
            let busy = permits.available_permits() < in_flight;
            if !should_wait(busy, rows) {
                break;
            }
            // A statement is running and this group is small: let it grow
            // until that statement is done (one statement of 30 rows costs
            // Postgres far less than three of 10).
            tokio::select! {
                r = rx.recv() => match r {
                    Some(r) => {
                        rows += r.events.len();
                        group.push(r);
                    }
                    None => {
                        open = false;
                        break;
                    }
                },
                _ = finished.notified() => {}
            }
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let sink = sink.clone();
        let finished = finished.clone();
        tokio::spawn(async move {
            flush(&sink, group).await;
            drop(permit);
            finished.notify_one();
        });
    }
    // Wait for in-flight statements before reporting the writer done.
    let _ = permits.acquire_many(in_flight as u32).await;
}

/// Whether a group of `rows` should wait for the statement in flight
/// (`busy`) instead of starting another one beside it: only large groups
/// (batch requests under load) run statements in parallel.
fn should_wait(busy: bool, rows: usize) -> bool {
    busy && rows < PARALLEL_ROWS
}

async fn flush(sink: &Sink, group: Vec<Request>) {
    let events: Vec<&Event> = group.iter().flat_map(|r| r.events.iter()).collect();
    tracing::debug!(
        rows = events.len(),
        requests = group.len(),
        "Writing a group of events."
    );
    let result = events::insert(&sink.db, &events, sink.window)
        .await
        .map_err(Arc::new);
    if let Ok(inserted) = &result {
        let fresh: Vec<Event> = events
            .iter()
            .filter(|e| inserted.created.contains(&e.id))
            .map(|e| (*e).clone())
            .collect();
        metrics_for(&fresh);
        sink.publisher.offer(fresh);
    }
    for req in group {
        let answer = match &result {
            Err(e) => Err(WriteError::Store(e.clone())),
            Ok(inserted) => outcomes(&req.events, inserted),
        };
        let _ = req.reply.send(answer);
    }
    if let Err(e) = result {
        tracing::warn!(error = ?e, "Could not store a group of events.");
    }
}

fn metrics_for(events: &[Event]) {
    for e in events {
        metrics::counter!(
            herald_common::metrics::EVENTS_INGESTED_TOTAL,
            "event_type" => e.event_type.clone()
        )
        .increment(1);
    }
}

/// Whether `new` repeats `held` (the event holding its key): the same type
/// and the same payload (as JSON values, so spacing and key order do not
/// matter).
pub fn repeats(new: &Event, held: &Event) -> bool {
    if new.event_type != held.event_type {
        return false;
    }
    if new.payload == held.payload {
        return true;
    }
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    matches!((parse(&new.payload), parse(&held.payload)), (Some(a), Some(b)) if a == b)
}

/// Map each requested event to Created, or to the event holding its key:
/// Existing when it repeats it, Conflict otherwise.
fn outcomes(events: &[Event], inserted: &Inserted) -> Result<Vec<Written>, WriteError> {
    events
        .iter()
        .map(|e| {
            if inserted.created.contains(&e.id) {
                return Ok(Written::Created(e.clone()));
            }
            let key = (
                e.tenant_id.clone(),
                e.idempotency_key.clone().unwrap_or_default(),
            );
            let held = inserted
                .existing
                .get(&key)
                .ok_or(WriteError::NoEarlierEvent)?;
            Ok(if repeats(e, held) {
                Written::Existing(held.clone())
            } else {
                Written::Conflict(held.clone())
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_type: &str, payload: &str) -> Event {
        Event {
            id: uuid::Uuid::now_v7(),
            tenant_id: "default".into(),
            event_type: event_type.into(),
            payload: payload.into(),
            idempotency_key: Some("k".into()),
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_reused_key_repeats_only_the_same_type_and_payload() {
        let held = event("order.created", r#"{"a":1,"b":[1,2]}"#);
        let cases = [
            ("order.created", r#"{"a":1,"b":[1,2]}"#, true),
            ("order.created", r#"{ "b": [1, 2], "a": 1 }"#, true),
            ("order.created", r#"{"a":2,"b":[1,2]}"#, false),
            ("order.updated", r#"{"a":1,"b":[1,2]}"#, false),
            ("order.created", r#"{"a":1}"#, false),
        ];
        for (t, payload, want) in cases {
            assert_eq!(repeats(&event(t, payload), &held), want, "{t} {payload}");
        }
    }

    #[test]
    fn outcomes_tell_created_repeated_and_conflicting_events_apart() {
        let held = event("order.created", r#"{"a":1}"#);
        let fresh = Event {
            idempotency_key: None,
            ..event("order.created", "{}")
        };
        let same = event("order.created", r#"{"a": 1}"#);
        let other = event("order.created", r#"{"a": 2}"#);
        let inserted = Inserted {
            created: [fresh.id].into(),
            existing: [(("default".to_string(), "k".to_string()), held.clone())].into(),
        };
        let got = outcomes(&[fresh.clone(), same, other], &inserted).expect("outcomes");
        let kinds: Vec<(&str, uuid::Uuid)> = got
            .iter()
            .map(|w| match w {
                Written::Created(e) => ("created", e.id),
                Written::Existing(e) => ("existing", e.id),
                Written::Conflict(e) => ("conflict", e.id),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("created", fresh.id),
                ("existing", held.id),
                ("conflict", held.id)
            ]
        );
    }

    #[test]
    fn small_groups_wait_for_the_statement_in_flight_and_large_ones_do_not() {
        assert!(!should_wait(false, 1), "nothing runs: go");
        assert!(should_wait(true, 1));
        assert!(should_wait(true, PARALLEL_ROWS - 1));
        assert!(!should_wait(true, PARALLEL_ROWS));
    }
}
