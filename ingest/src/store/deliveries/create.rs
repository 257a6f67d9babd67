//! Deliveries that ingest creates itself, outside fan-out: the one delivery
//! of a test event, and the deliveries a replay creates for the events an
//! endpoint never received.
//!
//! Each is inserted `pending` with `next_retry_at` a lease ahead, so the
//! dispatchers' retry scheduler sends it if ingest does not get its job
//! published (NATS down, the node killed) before the lease ends. A job that
//! is published sets `next_retry_at` again through its attempt.

use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool};
use herald_common::routing::Filter;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::requeue::{resendable, Resendable};
use crate::store::error::StoreError;
use crate::store::events::{self, Event};
use crate::store::pg::{client, map_rows, Columns};
use crate::store::time_ids::IdRange;

pub(super) const INSERT_ONE: &str = "INSERT INTO deliveries \
         (id, event_id, webhook_id, tenant_id, event_type, next_retry_at) \
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))";
/// The events of tenant `$2` in the window that endpoint `$1` has no
/// delivery for, of a type in `$3` or matching a pattern of `$8` (regular
/// expressions, `Pattern::regex`); with their payload when `$7` (the
/// endpoint has a filter). A test event addressed elsewhere never counts.
/// `events_tenant_type_idx`, then the `(event_id, webhook_id)` key.
pub const MISSING: &str = "SELECT e.id, e.event_type, CASE WHEN $7 THEN e.payload END AS payload \
     FROM events e \
     WHERE e.tenant_id = $2 AND (e.event_type = ANY($3) OR e.event_type ~ ANY($8::text[])) \
       AND e.target_webhook_id IS NULL \
       AND ($4::uuid IS NULL OR e.id >= $4) AND ($5::uuid IS NULL OR e.id < $5) \
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.webhook_id = $1) \
     ORDER BY e.id LIMIT $6";
/// Like fan-out's insert: the endpoint row is locked once (`FOR KEY SHARE`),
/// so deleting it waits and then deletes these rows too; a row another
/// replay created meanwhile is skipped.
pub(super) const INSERT_MANY: &str = "WITH hook AS ( \
         SELECT id, tenant_id FROM webhooks WHERE id = $3 FOR KEY SHARE) \
     INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, next_retry_at) \
     SELECT i.id, i.event_id, hook.id, hook.tenant_id, i.event_type, \
         now() + make_interval(secs => $4) \
     FROM UNNEST($1::uuid[], $2::uuid[], $5::text[]) AS i(id, event_id, event_type), hook \
     ON CONFLICT (event_id, webhook_id) DO NOTHING \
     RETURNING id";
pub(super) const FOR_JOBS: &str = concat!(select_for_resend!(), "d.id = ANY($1) ORDER BY d.id");

/// Store a test event addressed to `webhook_id` alone and its delivery, in
/// one transaction; the delivery's id.
pub async fn test_event(
    db: &Pool,
    event: &Event,
    webhook_id: Uuid,
    lease: Duration,
) -> Result<Resendable, StoreError> {
    let mut client = client(db).await?;
    let tx = client.transaction().await?;
    events::insert_addressed(&tx, event, webhook_id).await?;
    let id = Uuid::now_v7();
    let params: [&(dyn ToSql + Sync); 6] = [
        &id,
        &event.id,
        &webhook_id,
        &event.tenant_id,
        &event.event_type,
        &lease.as_secs_f64(),
    ];
    tx.execute(INSERT_ONE, &params).await?;
    tx.commit().await?;
    Ok(Resendable {
        delivery_id: id,
        event_id: event.id,
        webhook_id,
        tenant_id: event.tenant_id.clone(),
        attempts: 0,
        event_type: event.event_type.clone(),
        created_at: event.created_at,
        payload: event.payload.clone(),
    })
}

/// An endpoint as a replay sees it: whose events, of which types, and
/// which payloads.
pub struct Subscriber<'a> {
    pub webhook_id: Uuid,
    pub tenant_id: &'a str,
    /// Plain event types.
    pub event_types: Vec<String>,
    /// Wildcard subscriptions as regular expressions (`Pattern::regex`).
    pub patterns: Vec<String>,
    pub filter: Option<Filter>,
}

/// Events a replay reads per statement, and at most this many pages of
/// them per call (a filter may turn most events away).
const PAGE: i64 = 1_000;
const MAX_PAGES: usize = 100;

/// Create the deliveries of up to `limit` events in `window` that endpoint
/// `to` should have received and never did; the new deliveries' ids, oldest
/// first (none twice, also when replays run at once). Events its filter
/// turns away get none; at most [`MAX_PAGES`] pages of events are read.
pub async fn missing(
    db: &Pool,
    to: &Subscriber<'_>,
    window: IdRange,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Uuid>, StoreError> {
    let client = client(db).await?;
    let mut created = Vec::new();
    let mut from = window.from;
    for _ in 0..MAX_PAGES {
        let page = PAGE.min(limit - created.len() as i64);
        if page <= 0 {
            break;
        }
        let events = candidates(&client, to, from, window.to, page).await?;
        let Some(last) = events.last().map(|e| e.id) else {
            break;
        };
        let wanted: Vec<&Candidate> = events.iter().filter(|e| passes(to, e)).collect();
        created.extend(insert_missing(&client, to.webhook_id, &wanted, lease).await?);
        if (events.len() as i64) < page {
            break;
        }
        from = Some(Uuid::from_u128(last.as_u128().wrapping_add(1)));
    }
    created.sort();
    Ok(created)
}

/// An event a replay may deliver.
struct Candidate {
    id: Uuid,
    event_type: String,
    payload: Option<String>,
}

async fn candidates(
    client: &deadpool_postgres::Object,
    to: &Subscriber<'_>,
    from: Option<Uuid>,
    until: Option<Uuid>,
    page: i64,
) -> Result<Vec<Candidate>, StoreError> {
    let with_payload = to.filter.is_some();
    let params: [&(dyn ToSql + Sync); 8] = [
        &to.webhook_id,
        &to.tenant_id,
        &to.event_types,
        &from,
        &until,
        &page,
        &with_payload,
        &to.patterns,
    ];
    let rows = client.query(MISSING, &params).await?;
    map_rows(&rows, |r| {
        Ok(Candidate {
            id: r.col("id")?,
            event_type: r.col("event_type")?,
            payload: r.col("payload")?,
        })
    })
}

/// Whether the endpoint's filter (if any) passes the event's payload.
fn passes(to: &Subscriber<'_>, e: &Candidate) -> bool {
    let Some(filter) = &to.filter else {
        return true;
    };
    e.payload
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .is_some_and(|v| filter.matches(&v))
}

async fn insert_missing(
    client: &deadpool_postgres::Object,
    webhook_id: Uuid,
    events: &[&Candidate],
    lease: Duration,
) -> Result<Vec<Uuid>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let event_ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let ids: Vec<Uuid> = event_ids.iter().map(|_| Uuid::now_v7()).collect();
    let params: [&(dyn ToSql + Sync); 5] =
        [&ids, &event_ids, &webhook_id, &lease.as_secs_f64(), &types];
    let created = client.query(INSERT_MANY, &params).await?;
    map_rows(&created, |r| r.col::<Uuid>("id"))
}

/// The deliveries `ids` with their events, ready to become jobs.
pub async fn for_jobs<C: GenericClient>(
    client: &C,
    ids: &[Uuid],
) -> Result<Vec<Resendable>, StoreError> {
    let rows = client.query(FOR_JOBS, &[&ids]).await?;
    map_rows(&rows, resendable)
}
