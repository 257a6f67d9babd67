//! Group commit for events. Concurrent requests hand their events to one
//! writer task, which gathers everything waiting into a single multi-row
//! `INSERT ... SELECT FROM UNNEST(...)` per round trip. While a statement
//! runs the next group grows; a second statement (up to
//! `HERALD_EVENT_WRITERS`) starts beside it only for a group of at least
//! [`PARALLEL_ROWS`] rows, so single events make few large statements and
//! batch requests still use several Postgres backends.
//!
//! Idempotency: `ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`, then
//! one select for the rows that conflicted returns the first event instead.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};
use uuid::Uuid;

use crate::error::ApiError;
use crate::publisher::Publisher;

/// At most this many rows per statement (a single request is never split).
const MAX_ROWS: usize = 2_000;
/// A group this large starts a statement even while another one runs.
const PARALLEL_ROWS: usize = 500;
/// Requests waiting for the writer before callers feel backpressure.
const QUEUE: usize = 10_000;

/// A validated event, ready to insert.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: Uuid,
    pub tenant_id: String,
    pub event_type: String,
    /// The exact JSON text of the payload.
    pub payload: String,
    pub idempotency_key: Option<String>,
    /// Truncated to microseconds, so it equals what Postgres stores.
    pub created_at: DateTime<Utc>,
}

/// An event as stored.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: Uuid,
    pub tenant_id: String,
    pub event_type: String,
    pub payload: String,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<NewEvent> for StoredEvent {
    fn from(e: NewEvent) -> Self {
        Self {
            id: e.id,
            tenant_id: e.tenant_id,
            event_type: e.event_type,
            payload: e.payload,
            idempotency_key: e.idempotency_key,
            created_at: e.created_at,
        }
    }
}

/// What happened to one event of a request.
#[derive(Debug, Clone)]
pub enum Written {
    /// Stored now.
    Created(StoredEvent),
    /// Its idempotency key was already used: the first event with that key.
    Existing(StoredEvent),
}

type Reply = oneshot::Sender<Result<Vec<Written>, ApiError>>;

struct Request {
    events: Vec<NewEvent>,
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
    pub async fn write(&self, events: Vec<NewEvent>) -> Result<Vec<Written>, ApiError> {
        let (reply, rx) = oneshot::channel();
        let closed = || ApiError::unavailable("the event writer", "shutting down");
        self.tx
            .send(Request { events, reply })
            .await
            .map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
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
    let events: Vec<&NewEvent> = group.iter().flat_map(|r| r.events.iter()).collect();
    tracing::debug!(
        rows = events.len(),
        requests = group.len(),
        "Writing a group of events."
    );
    let result = insert_with_retry(db, &events).await;
    if let Ok((created, _)) = &result {
        let fresh: Vec<StoredEvent> = events
            .iter()
            .filter(|e| created.contains(&e.id))
            .map(|e| StoredEvent::from((*e).clone()))
            .collect();
        metrics_for(&fresh);
        publisher.offer(fresh);
    }
    for req in group {
        let answer = match &result {
            Err(e) => Err(ApiError::new(e.status, e.code, e.message.clone())),
            Ok((created, existing)) => outcomes(&req.events, created, existing),
        };
        let _ = req.reply.send(answer);
    }
    if let Err(e) = result {
        tracing::warn!(error = ?e, "Could not store a group of events.");
    }
}

fn metrics_for(events: &[StoredEvent]) {
    for e in events {
        metrics::counter!(
            herald_common::metrics::EVENTS_INGESTED_TOTAL,
            "event_type" => e.event_type.clone()
        )
        .increment(1);
    }
}

/// Map each requested event to Created or the existing event of its key.
fn outcomes(
    events: &[NewEvent],
    created: &HashSet<Uuid>,
    existing: &HashMap<(String, String), StoredEvent>,
) -> Result<Vec<Written>, ApiError> {
    events
        .iter()
        .map(|e| {
            if created.contains(&e.id) {
                return Ok(Written::Created(e.clone().into()));
            }
            let key = (
                e.tenant_id.clone(),
                e.idempotency_key.clone().unwrap_or_default(),
            );
            existing
                .get(&key)
                .cloned()
                .map(Written::Existing)
                .ok_or_else(|| {
                    ApiError::internal("an event conflicted but no earlier event was found")
                })
        })
        .collect()
}

type InsertResult = (HashSet<Uuid>, HashMap<(String, String), StoredEvent>);

async fn insert_with_retry(db: &Pool, events: &[&NewEvent]) -> Result<InsertResult, ApiError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match insert(db, events).await {
            Err(InsertError::Pg(e))
                if tries < 3
                    && e.code().is_some_and(|c| {
                        *c == tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED
                            || *c == tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
                    }) =>
            {
                continue
            }
            Err(InsertError::Pg(e)) => return Err(e.into()),
            Err(InsertError::Api(e)) => return Err(e),
            Ok(r) => return Ok(r),
        }
    }
}

enum InsertError {
    Pg(tokio_postgres::Error),
    Api(ApiError),
}

impl From<tokio_postgres::Error> for InsertError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Pg(e)
    }
}

const INSERT_SQL: &str = "INSERT INTO events (id, tenant_id, event_type, payload, idempotency_key, created_at) \
     SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) \
     ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING \
     RETURNING id";

const CONFLICTS_SQL: &str =
    "SELECT e.id, e.tenant_id, e.event_type, e.payload, e.idempotency_key, e.created_at \
     FROM events e JOIN UNNEST($1::text[], $2::text[]) AS k(tenant_id, key) \
     ON e.tenant_id = k.tenant_id AND e.idempotency_key = k.key";

async fn insert(db: &Pool, events: &[&NewEvent]) -> Result<InsertResult, InsertError> {
    // One fixed order for the keyed rows, so that two statements never wait
    // on each other's keys in opposite orders (no deadlock between groups).
    let mut rows: Vec<&NewEvent> = events.to_vec();
    rows.sort_by(|a, b| {
        (&a.tenant_id, &a.idempotency_key).cmp(&(&b.tenant_id, &b.idempotency_key))
    });
    let client = db.get().await.map_err(|e| InsertError::Api(e.into()))?;
    let stmt = client.prepare_cached(INSERT_SQL).await?;
    let ids: Vec<Uuid> = rows.iter().map(|e| e.id).collect();
    let tenants: Vec<&str> = rows.iter().map(|e| e.tenant_id.as_str()).collect();
    let types: Vec<&str> = rows.iter().map(|e| e.event_type.as_str()).collect();
    let payloads: Vec<&str> = rows.iter().map(|e| e.payload.as_str()).collect();
    let keys: Vec<Option<&str>> = rows.iter().map(|e| e.idempotency_key.as_deref()).collect();
    let times: Vec<DateTime<Utc>> = rows.iter().map(|e| e.created_at).collect();
    let inserted = client
        .query(&stmt, &[&ids, &tenants, &types, &payloads, &keys, &times])
        .await?;
    let created: HashSet<Uuid> = inserted.iter().map(|r| r.get::<_, Uuid>(0)).collect();

    let conflicted: Vec<&&NewEvent> = rows.iter().filter(|e| !created.contains(&e.id)).collect();
    let mut existing = HashMap::new();
    if !conflicted.is_empty() {
        let ts: Vec<&str> = conflicted.iter().map(|e| e.tenant_id.as_str()).collect();
        let ks: Vec<&str> = conflicted
            .iter()
            .map(|e| e.idempotency_key.as_deref().unwrap_or(""))
            .collect();
        let stmt = client.prepare_cached(CONFLICTS_SQL).await?;
        for r in client.query(&stmt, &[&ts, &ks]).await? {
            let ev = StoredEvent {
                id: r.get(0),
                tenant_id: r.get(1),
                event_type: r.get(2),
                payload: r.get(3),
                idempotency_key: r.get(4),
                created_at: r.get(5),
            };
            let key = (
                ev.tenant_id.clone(),
                ev.idempotency_key.clone().unwrap_or_default(),
            );
            existing.insert(key, ev);
        }
    }
    Ok((created, existing))
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
