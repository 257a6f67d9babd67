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
    /// Its idempotency key was already used: the first event with that key.
    Existing(Event),
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
    pub fn spawn(
        db: Pool,
        publisher: Publisher,
        max_in_flight: usize,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(db, publisher, rx, max_in_flight.max(1)));
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

async fn run(db: Pool, publisher: Publisher, mut rx: mpsc::Receiver<Request>, in_flight: usize) {
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
        let db = db.clone();
        let publisher = publisher.clone();
        let finished = finished.clone();
        tokio::spawn(async move {
            flush(&db, &publisher, group).await;
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

async fn flush(db: &Pool, publisher: &Publisher, group: Vec<Request>) {
    let events: Vec<&Event> = group.iter().flat_map(|r| r.events.iter()).collect();
    tracing::debug!(
        rows = events.len(),
        requests = group.len(),
        "Writing a group of events."
    );
    let result = events::insert(db, &events).await.map_err(Arc::new);
    if let Ok(inserted) = &result {
        let fresh: Vec<Event> = events
            .iter()
            .filter(|e| inserted.created.contains(&e.id))
            .map(|e| (*e).clone())
            .collect();
        metrics_for(&fresh);
        publisher.offer(fresh);
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

/// Map each requested event to Created or the existing event of its key.
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
            inserted
                .existing
                .get(&key)
                .cloned()
                .map(Written::Existing)
                .ok_or(WriteError::NoEarlierEvent)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_groups_wait_for_the_statement_in_flight_and_large_ones_do_not() {
        assert!(!should_wait(false, 1), "nothing runs: go");
        assert!(should_wait(true, 1));
        assert!(should_wait(true, PARALLEL_ROWS - 1));
        assert!(!should_wait(true, PARALLEL_ROWS));
    }
}
