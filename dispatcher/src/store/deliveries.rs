//! `deliveries`: created by fan-out, claimed by the retry scheduler, updated
//! by the attempt log.

use super::StoreError;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Client, Pool, Transaction};
use herald_common::domain::DeliveryStatus;
use std::collections::HashMap;
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

// Each row locks its endpoint (`FOR KEY SHARE`, a no-op after the group's
// first row for that endpoint, unlike a foreign key's check): deleting the
// endpoint waits for this transaction, then deletes the rows it wrote, and an
// endpoint deleted meanwhile yields no row. A lateral probe per row, not a
// CTE of locked endpoints joined to the input: on the hot pool only nested
// loops are allowed (`herald_common::db::Plans::Indexed`), and a CTE-to-CTE
// join would compare every row with every endpoint.
const CREATE: &str = "
    WITH input AS (
        SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[])
            AS t(id, event_id, webhook_id, tenant_id, event_type)
    )
    INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type)
    SELECT i.id, i.event_id, i.webhook_id, i.tenant_id, i.event_type
    FROM input i
    CROSS JOIN LATERAL (SELECT 1 FROM webhooks w WHERE w.id = i.webhook_id FOR KEY SHARE) AS hook
    WHERE EXISTS (SELECT 1 FROM events e WHERE e.id = i.event_id)
    ON CONFLICT (event_id, webhook_id) DO NOTHING
    RETURNING id, event_id, webhook_id, status, next_retry_at, attempts";

// The rows the insert skipped: a redelivered event's existing rows,
// including rows a concurrent transaction inserted.
const EXISTING: &str = "
    SELECT d.id, d.event_id, d.webhook_id, d.status, d.next_retry_at, d.attempts
    FROM deliveries d
    JOIN UNNEST($1::uuid[], $2::uuid[]) AS i(event_id, webhook_id)
      ON d.event_id = i.event_id AND d.webhook_id = i.webhook_id";

// FIFO endpoints retry in their line (docs/dispatcher.md), never here.
const CLAIM_DUE: &str = "
    WITH due AS (
        SELECT id FROM deliveries
        WHERE next_retry_at IS NOT NULL AND status IN ('pending', 'retrying')
          AND next_retry_at <= now()
          AND NOT EXISTS (SELECT 1 FROM webhooks w
                          WHERE w.id = deliveries.webhook_id AND w.ordering = 'fifo')
        ORDER BY next_retry_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED)
    UPDATE deliveries d SET next_retry_at = now() + make_interval(secs => $2)
    FROM due, events e
    WHERE d.id = due.id AND e.id = d.event_id
    RETURNING d.id, d.event_id, d.webhook_id, d.tenant_id, d.attempts, d.schedule_start,
              d.parked, d.rate_slot_at, e.event_type, e.created_at, e.payload";

// A stale result (a duplicate job that ran an older attempt) never overwrites
// a newer one, and nothing overwrites `delivered`. failed_at keeps when the
// delivery first failed for good; the rows returned are the transitions that
// make operational events (each once: a second `failed` keeps the first
// failed_at, and `delivered` is never updated again).
const UPDATE: &str = "
    WITH u AS (
    UPDATE deliveries d SET
        status = v.status,
        attempts = GREATEST(d.attempts, COALESCE(v.attempts, d.attempts)),
        last_status_code = CASE WHEN v.attempts IS NULL THEN d.last_status_code ELSE v.status_code END,
        last_error = v.error,
        next_retry_at = v.next_retry_at,
        delivered_at = CASE WHEN v.status = 'delivered' THEN v.finished_at ELSE d.delivered_at END,
        rate_slot_at = NULL,
        failed_at = CASE WHEN v.status = 'failed' THEN COALESCE(d.failed_at, v.finished_at) ELSE d.failed_at END,
        updated_at = now()
    FROM UNNEST($1::uuid[], $2::text[], $3::int4[], $4::int4[], $5::text[], $6::timestamptz[], $7::timestamptz[])
        AS v(id, status, attempts, status_code, error, next_retry_at, finished_at)
    WHERE d.id = v.id AND d.status <> 'delivered'
      AND (v.status = 'delivered' OR v.attempts IS NULL OR v.attempts >= d.attempts)
    RETURNING d.id, d.status, d.failed_at,
        d.status = 'failed' AND d.failed_at = v.finished_at AS just_failed)
    SELECT id, status = 'delivered' AS delivered, failed_at FROM u
    WHERE just_failed OR (status = 'delivered' AND failed_at IS NOT NULL)";

const PARK: &str = "
    UPDATE deliveries d SET next_retry_at = v.until, rate_slot_at = v.slot,
        parked = d.parked + 1, updated_at = now()
    FROM UNNEST($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS v(id, until, slot)
    WHERE d.id = v.id AND d.status IN ('pending', 'retrying')";

/// Deliveries waiting for their next attempt, and how many of them are due
/// (`deliveries_due_idx` covers `next_retry_at IS NOT NULL`).
const RETRY_BACKLOG: &str = "
    SELECT count(*) AS waiting, count(*) FILTER (WHERE next_retry_at <= now()) AS due
    FROM deliveries WHERE next_retry_at IS NOT NULL";

pub(super) const STATEMENTS: &[&str] = &[CREATE, EXISTING, CLAIM_DUE, UPDATE, PARK, RETRY_BACKLOG];
pub(super) const HOT: &[&str] = &[CREATE, EXISTING, UPDATE, PARK];

/// What makes a delivery unique: one per event and endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliveryKey {
    pub event_id: Uuid,
    pub webhook_id: Uuid,
}

/// A delivery fan-out wants to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDelivery<'a> {
    pub key: DeliveryKey,
    pub tenant_id: &'a str,
    /// The event's type (kept on the delivery for the log's filters).
    pub event_type: &'a str,
}

/// A delivery row as fan-out sees it, created now or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub key: DeliveryKey,
    pub status: DeliveryStatus,
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Attempts made so far.
    pub attempts: i32,
}

impl DeliveryRow {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        let status: &str = row.try_get("status")?;
        Ok(Self {
            id: row.try_get("id")?,
            key: DeliveryKey {
                event_id: row.try_get("event_id")?,
                webhook_id: row.try_get("webhook_id")?,
            },
            status: DeliveryStatus::parse(status).ok_or_else(|| StoreError::Value {
                column: "status",
                value: status.to_string(),
            })?,
            next_retry_at: row.try_get("next_retry_at")?,
            attempts: row.try_get("attempts")?,
        })
    }
}

/// Create the deliveries that do not exist yet (skipping those whose event
/// or endpoint is gone) and return every row of `new`, created or existing.
pub async fn create_or_find(
    client: &Client,
    new: &[NewDelivery<'_>],
) -> Result<HashMap<DeliveryKey, DeliveryRow>, StoreError> {
    let ids: Vec<Uuid> = new.iter().map(|_| Uuid::now_v7()).collect();
    let event_ids: Vec<Uuid> = new.iter().map(|d| d.key.event_id).collect();
    let webhook_ids: Vec<Uuid> = new.iter().map(|d| d.key.webhook_id).collect();
    let tenants: Vec<&str> = new.iter().map(|d| d.tenant_id).collect();
    let types: Vec<&str> = new.iter().map(|d| d.event_type).collect();
    let stmt = client.prepare_cached(CREATE).await?;
    let mut rows = HashMap::with_capacity(new.len());
    for row in client
        .query(&stmt, &[&ids, &event_ids, &webhook_ids, &tenants, &types])
        .await?
    {
        let row = DeliveryRow::from_row(&row)?;
        rows.insert(row.key, row);
    }
    let (missing_events, missing_webhooks): (Vec<Uuid>, Vec<Uuid>) = new
        .iter()
        .filter(|d| !rows.contains_key(&d.key))
        .map(|d| (d.key.event_id, d.key.webhook_id))
        .unzip();
    if !missing_events.is_empty() {
        let missing: Vec<DeliveryKey> = missing_events
            .into_iter()
            .zip(missing_webhooks)
            .map(|(event_id, webhook_id)| DeliveryKey {
                event_id,
                webhook_id,
            })
            .collect();
        rows.extend(find(client, &missing).await?);
    }
    Ok(rows)
}

/// The rows of `keys` that exist.
pub async fn find(
    client: &Client,
    keys: &[DeliveryKey],
) -> Result<HashMap<DeliveryKey, DeliveryRow>, StoreError> {
    let (events, webhooks): (Vec<Uuid>, Vec<Uuid>) =
        keys.iter().map(|k| (k.event_id, k.webhook_id)).unzip();
    let stmt = client.prepare_cached(EXISTING).await?;
    let mut rows = HashMap::with_capacity(keys.len());
    for row in client.query(&stmt, &[&events, &webhooks]).await? {
        let row = DeliveryRow::from_row(&row)?;
        rows.insert(row.key, row);
    }
    Ok(rows)
}

/// A due delivery, claimed for a lease, with its event.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: Uuid,
    pub event_id: Uuid,
    pub webhook_id: Uuid,
    pub tenant_id: String,
    pub attempts: i32,
    /// Attempts made before its current retry schedule began.
    pub schedule_start: i32,
    /// How many times it was parked (without an attempt).
    pub parked: i32,
    /// A rate-limit slot reserved when it was parked.
    pub rate_slot_at: Option<DateTime<Utc>>,
    pub event_type: String,
    pub event_created_at: DateTime<Utc>,
    /// The event payload as stored (JSON text).
    pub payload: String,
}

/// Claim up to `limit` due deliveries: each is left alone for `lease` (its
/// `next_retry_at` moves forward), and other dispatchers skip locked rows.
pub async fn claim_due(
    pool: &Pool,
    limit: usize,
    lease: Duration,
) -> Result<Vec<DueDelivery>, StoreError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(CLAIM_DUE).await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client.query(&stmt, &[&limit, &lease.as_secs_f64()]).await?;
    rows.iter()
        .map(|row| {
            Ok(DueDelivery {
                id: row.try_get("id")?,
                event_id: row.try_get("event_id")?,
                webhook_id: row.try_get("webhook_id")?,
                tenant_id: row.try_get("tenant_id")?,
                attempts: row.try_get("attempts")?,
                schedule_start: row.try_get("schedule_start")?,
                parked: row.try_get("parked")?,
                rate_slot_at: row.try_get("rate_slot_at")?,
                event_type: row.try_get("event_type")?,
                event_created_at: row.try_get("created_at")?,
                payload: row.try_get("payload")?,
            })
        })
        .collect()
}

/// A delivery's new state.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryUpdate<'a> {
    pub id: Uuid,
    pub status: DeliveryStatus,
    /// Attempts made so far; `None` for a change without an attempt.
    pub attempts: Option<i32>,
    pub status_code: Option<i32>,
    pub error: Option<&'a str>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub finished_at: DateTime<Utc>,
}

/// A delivery that failed for good, or was delivered after it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub delivery_id: Uuid,
    /// `true`: delivered after having failed; `false`: failed now.
    pub delivered: bool,
    /// When it first failed for good.
    pub failed_at: DateTime<Utc>,
}

/// Apply `updates` (at most one per delivery, sorted by id so concurrent
/// batches lock rows in the same order); returns the transitions.
pub async fn update(
    tx: &Transaction<'_>,
    updates: &[DeliveryUpdate<'_>],
) -> Result<Vec<Transition>, StoreError> {
    if updates.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = updates.iter().map(|u| u.id).collect();
    let statuses: Vec<&str> = updates.iter().map(|u| u.status.as_str()).collect();
    let attempts: Vec<Option<i32>> = updates.iter().map(|u| u.attempts).collect();
    let codes: Vec<Option<i32>> = updates.iter().map(|u| u.status_code).collect();
    let errors: Vec<Option<&str>> = updates.iter().map(|u| u.error).collect();
    let next: Vec<Option<DateTime<Utc>>> = updates.iter().map(|u| u.next_retry_at).collect();
    let finished: Vec<DateTime<Utc>> = updates.iter().map(|u| u.finished_at).collect();
    let params: [&(dyn ToSql + Sync); 7] = [
        &ids, &statuses, &attempts, &codes, &errors, &next, &finished,
    ];
    let stmt = tx.prepare_cached(UPDATE).await?;
    tx.query(&stmt, &params)
        .await?
        .iter()
        .map(|row| {
            Ok(Transition {
                delivery_id: row.try_get("id")?,
                delivered: row.try_get("delivered")?,
                failed_at: row.try_get("failed_at")?,
            })
        })
        .collect()
}

/// Defer a delivery without an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Park {
    pub delivery_id: Uuid,
    pub until: DateTime<Utc>,
    /// A rate-limit slot the job keeps when it comes back.
    pub rate_slot: Option<DateTime<Utc>>,
}

/// Park deliveries that are still pending or retrying.
pub async fn park(tx: &Transaction<'_>, parks: &[Park]) -> Result<u64, StoreError> {
    if parks.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = parks.iter().map(|p| p.delivery_id).collect();
    let until: Vec<DateTime<Utc>> = parks.iter().map(|p| p.until).collect();
    let slots: Vec<Option<DateTime<Utc>>> = parks.iter().map(|p| p.rate_slot).collect();
    super::execute(tx, PARK, &[&ids, &until, &slots]).await
}

/// Deliveries waiting for a retry (or a parked send), and how many are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBacklog {
    pub waiting: i64,
    pub due: i64,
}

/// The retry backlog, for the gauges.
pub async fn retry_backlog(client: &Client) -> Result<RetryBacklog, StoreError> {
    let stmt = client.prepare_cached(RETRY_BACKLOG).await?;
    let row = client.query_one(&stmt, &[]).await?;
    Ok(RetryBacklog {
        waiting: row.try_get("waiting")?,
        due: row.try_get("due")?,
    })
}
