//! `events`: the group insert of the event writer (the hot path), the
//! publish marks of the publisher, the outbox relay's claim, test events
//! (addressed to one endpoint); the API's reads (one event with its
//! deliveries, the list) are in `read.rs`.
//!
//! Idempotency: the keys live in `idempotency_keys` (one row per tenant and
//! key). The group insert claims each key in the same statement: a new key,
//! or one older than `HERALD_IDEMPOTENCY_WINDOW` (taken over), lets its
//! event in; a key held within the window keeps it out, and one select for
//! those rows returns the event holding the key instead. Comparing that
//! event with the new one (same type and payload, or a conflict) is the
//! writer's business.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object, Pool, Transaction};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

use herald_common::operational::Operational;

use super::error::StoreError;
use super::pg::{client, map_rows, Columns};

mod read;
pub use read::{get, list, list_query, EventHead, Found, ListFilter, Summary};

/// An event: validated and about to be inserted, or as stored.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: Uuid,
    pub tenant_id: String,
    pub event_type: String,
    /// The exact JSON text of the payload.
    pub payload: String,
    pub idempotency_key: Option<String>,
    /// Microsecond precision, so a new event equals what Postgres stores.
    pub created_at: DateTime<Utc>,
}

/// What a group insert did.
#[derive(Debug, Default)]
pub struct Inserted {
    /// The ids stored now.
    pub created: HashSet<Uuid>,
    /// For each `(tenant, idempotency key)` used before: the first event
    /// with that key.
    pub existing: HashMap<(String, String), Event>,
}

/// Unpublished events claimed by one relay round, locked (`FOR UPDATE SKIP
/// LOCKED`, so relays on other nodes skip them) until [`Claim::finish`] or
/// drop.
pub struct Claim<'a> {
    tx: Transaction<'a>,
    /// Oldest first.
    pub events: Vec<Event>,
}

const INSERT: &str = "WITH input AS ( \
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::timestamptz[]) AS t(id, tenant_id, event_type, payload, idempotency_key, created_at) \
     ), keys AS ( \
         INSERT INTO idempotency_keys (tenant_id, key, event_id, created_at) \
         SELECT tenant_id, idempotency_key, id, created_at FROM input \
         WHERE idempotency_key IS NOT NULL \
         ON CONFLICT (tenant_id, key) DO UPDATE \
             SET event_id = EXCLUDED.event_id, created_at = EXCLUDED.created_at \
             WHERE idempotency_keys.created_at < now() - make_interval(secs => $7) \
         RETURNING event_id \
     ) \
     INSERT INTO events (id, tenant_id, event_type, payload, idempotency_key, created_at) \
     SELECT i.id, i.tenant_id, i.event_type, i.payload, i.idempotency_key, i.created_at \
     FROM input i WHERE i.idempotency_key IS NULL OR i.id IN (SELECT event_id FROM keys) \
     RETURNING id";
/// A batch without idempotency keys (the usual one): nothing to claim, one
/// plain insert, cheaper to plan than [`INSERT`] (its CTEs cost about as
/// much planning as executing at 1,000 events/s).
const INSERT_UNKEYED: &str = "INSERT INTO events \
         (id, tenant_id, event_type, payload, idempotency_key, created_at) \
     SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::timestamptz[]) \
     RETURNING id";
/// The events holding keys, within the window (`$3` seconds; a key that
/// kept an event out of the insert is within it).
const HOLDERS: &str =
    "SELECT e.id, e.tenant_id, e.event_type, e.payload, e.idempotency_key, e.created_at \
     FROM idempotency_keys k JOIN UNNEST($1::text[], $2::text[]) AS u(tenant_id, key) \
       ON k.tenant_id = u.tenant_id AND k.key = u.key \
     JOIN events e ON e.id = k.event_id \
     WHERE k.created_at >= now() - make_interval(secs => $3)";
/// Operational events, written in their transition's transaction.
const INSERT_OPERATIONAL: &str =
    "INSERT INTO events (id, tenant_id, event_type, payload, created_at) \
     SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])";
const MARK_PUBLISHED: &str =
    "UPDATE events SET published_at = now() WHERE id = ANY($1) AND published_at IS NULL";
const COUNT_UNPUBLISHED: &str = "SELECT count(*) FROM events WHERE published_at IS NULL";
/// Seconds since the oldest unpublished event was committed; 0 when there is
/// none (`events_unpublished_idx`).
const OLDEST_UNPUBLISHED: &str =
    "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest \
     FROM events WHERE published_at IS NULL";
const CLAIM_UNPUBLISHED: &str =
    "SELECT id, tenant_id, event_type, payload, idempotency_key, created_at \
     FROM events \
     WHERE published_at IS NULL AND created_at <= now() - make_interval(secs => $1) \
     ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED";
const MARK_CLAIMED_PUBLISHED: &str = "UPDATE events SET published_at = now() WHERE id = ANY($1)";
/// A test event: addressed to one endpoint, and stored as published so the
/// outbox relay never puts it on `HERALD_EVENTS` (no fan-out).
const INSERT_ADDRESSED: &str = "INSERT INTO events \
         (id, tenant_id, event_type, payload, target_webhook_id, published_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, now(), $6)";

pub(crate) const STATEMENTS: &[&str] = &[
    INSERT,
    INSERT_UNKEYED,
    HOLDERS,
    INSERT_OPERATIONAL,
    MARK_PUBLISHED,
    COUNT_UNPUBLISHED,
    OLDEST_UNPUBLISHED,
    CLAIM_UNPUBLISHED,
    MARK_CLAIMED_PUBLISHED,
    INSERT_ADDRESSED,
    read::GET,
    read::LIST,
];

pub(super) fn event(r: &Row) -> Result<Event, StoreError> {
    Ok(Event {
        id: r.col("id")?,
        tenant_id: r.col("tenant_id")?,
        event_type: r.col("event_type")?,
        payload: r.col("payload")?,
        idempotency_key: r.col("idempotency_key")?,
        created_at: r.col("created_at")?,
    })
}

impl Event {
    /// An operational event, accepted at `at`.
    pub fn operational(op: Operational, at: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            tenant_id: op.tenant_id,
            event_type: op.event_type.to_string(),
            payload: op.payload.to_string(),
            idempotency_key: None,
            created_at: at,
        }
    }
}

/// Insert a group of events in one statement (atomically), retrying twice
/// on a deadlock or serialization failure. Keys are held for `window`.
pub async fn insert(
    db: &Pool,
    events: &[&Event],
    window: Duration,
) -> Result<Inserted, StoreError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match insert_once(db, events, window).await {
            // A deadlock or a serialization failure: another try may succeed.
            Err(StoreError::Contended(_)) if tries < 3 => continue,
            result => return result,
        }
    }
}

/// The rows one statement may insert: the first event of each (tenant, key)
/// (a key can be claimed once per statement), in one fixed order so that
/// two statements never wait on each other's keys in opposite orders.
fn statement_rows<'a>(events: &[&'a Event]) -> Vec<&'a Event> {
    let mut seen = HashSet::new();
    let mut rows: Vec<&Event> = events
        .iter()
        .copied()
        .filter(|e| match &e.idempotency_key {
            Some(k) => seen.insert((e.tenant_id.as_str(), k.as_str())),
            None => true,
        })
        .collect();
    rows.sort_by(|a, b| {
        (&a.tenant_id, &a.idempotency_key).cmp(&(&b.tenant_id, &b.idempotency_key))
    });
    rows
}

async fn insert_once(
    db: &Pool,
    events: &[&Event],
    window: Duration,
) -> Result<Inserted, StoreError> {
    let rows = statement_rows(events);
    let client = db.get().await?;
    let ids: Vec<Uuid> = rows.iter().map(|e| e.id).collect();
    let tenants: Vec<&str> = rows.iter().map(|e| e.tenant_id.as_str()).collect();
    let types: Vec<&str> = rows.iter().map(|e| e.event_type.as_str()).collect();
    let payloads: Vec<&str> = rows.iter().map(|e| e.payload.as_str()).collect();
    let keys: Vec<Option<&str>> = rows.iter().map(|e| e.idempotency_key.as_deref()).collect();
    let times: Vec<DateTime<Utc>> = rows.iter().map(|e| e.created_at).collect();
    let secs = window.as_secs_f64();
    let mut params: Vec<&(dyn ToSql + Sync)> =
        vec![&ids, &tenants, &types, &payloads, &keys, &times];
    let sql = if keys.iter().any(Option::is_some) {
        params.push(&secs);
        INSERT
    } else {
        INSERT_UNKEYED
    };
    let stmt = client.prepare_cached(sql).await?;
    let inserted = client.query(&stmt, &params).await?;
    let created = inserted
        .iter()
        .map(|r| r.col::<Uuid>("id"))
        .collect::<Result<HashSet<Uuid>, _>>()?;
    let conflicted: Vec<&Event> = events
        .iter()
        .copied()
        .filter(|e| !created.contains(&e.id))
        .collect();
    let existing = if conflicted.is_empty() {
        HashMap::new()
    } else {
        holders(&client, &conflicted, window).await?
    };
    Ok(Inserted { created, existing })
}

/// The events holding the idempotency keys of `events` within `window`
/// (a batch's check before it is written).
pub async fn held_keys(
    db: &Pool,
    events: &[&Event],
    window: Duration,
) -> Result<HashMap<(String, String), Event>, StoreError> {
    holders(&client(db).await?, events, window).await
}

/// The events holding the idempotency keys of `events` within `window`.
async fn holders(
    client: &Object,
    events: &[&Event],
    window: Duration,
) -> Result<HashMap<(String, String), Event>, StoreError> {
    let ts: Vec<&str> = events.iter().map(|e| e.tenant_id.as_str()).collect();
    let ks: Vec<&str> = events
        .iter()
        .map(|e| e.idempotency_key.as_deref().unwrap_or(""))
        .collect();
    let stmt = client.prepare_cached(HOLDERS).await?;
    let mut existing = HashMap::new();
    for r in client
        .query(&stmt, &[&ts, &ks, &window.as_secs_f64()])
        .await?
    {
        let ev = event(&r)?;
        let key = (
            ev.tenant_id.clone(),
            ev.idempotency_key.clone().unwrap_or_default(),
        );
        existing.insert(key, ev);
    }
    Ok(existing)
}

/// Store operational events in the transaction of their transition.
pub async fn insert_operational(tx: &Transaction<'_>, events: &[Event]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let tenants: Vec<&str> = events.iter().map(|e| e.tenant_id.as_str()).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let payloads: Vec<&str> = events.iter().map(|e| e.payload.as_str()).collect();
    let times: Vec<DateTime<Utc>> = events.iter().map(|e| e.created_at).collect();
    tx.execute(
        INSERT_OPERATIONAL,
        &[&ids, &tenants, &types, &payloads, &times],
    )
    .await?;
    Ok(())
}

/// Record that JetStream has these events; how many were not marked yet.
pub async fn mark_published(db: &Pool, ids: &[Uuid]) -> Result<u64, StoreError> {
    Ok(client(db).await?.execute(MARK_PUBLISHED, &[&ids]).await?)
}

/// Committed events not yet acknowledged by JetStream.
pub async fn count_unpublished(db: &Pool) -> Result<i64, StoreError> {
    let row = client(db).await?.query_one(COUNT_UNPUBLISHED, &[]).await?;
    row.col("count")
}

/// Age in seconds of the oldest event not yet acknowledged by JetStream.
pub async fn oldest_unpublished_age(db: &Pool) -> Result<f64, StoreError> {
    let row = client(db).await?.query_one(OLDEST_UNPUBLISHED, &[]).await?;
    row.col("oldest")
}

/// Claim the oldest unpublished events at least `older_than` old.
pub async fn claim_unpublished(
    client: &mut Object,
    older_than: Duration,
    limit: i64,
) -> Result<Claim<'_>, StoreError> {
    let tx = client.transaction().await?;
    let rows = tx
        .query(CLAIM_UNPUBLISHED, &[&older_than.as_secs_f64(), &limit])
        .await?;
    let events = map_rows(&rows, event)?;
    Ok(Claim { tx, events })
}

impl Claim<'_> {
    /// Mark the `acked` events published and release the claim.
    pub async fn finish(self, acked: &[Uuid]) -> Result<(), StoreError> {
        if !acked.is_empty() {
            self.tx.execute(MARK_CLAIMED_PUBLISHED, &[&acked]).await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

/// Store `event` as sent to `webhook_id` alone (a test event), inside the
/// caller's transaction.
pub async fn insert_addressed<C: GenericClient>(
    client: &C,
    event: &Event,
    webhook_id: Uuid,
) -> Result<(), StoreError> {
    let params: [&(dyn ToSql + Sync); 6] = [
        &event.id,
        &event.tenant_id,
        &event.event_type,
        &event.payload,
        &webhook_id,
        &event.created_at,
    ];
    client.execute(INSERT_ADDRESSED, &params).await?;
    Ok(())
}
