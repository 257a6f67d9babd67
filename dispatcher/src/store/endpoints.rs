//! `webhooks`: the endpoints, read into the cache and by fan-out, their
//! `failing_since` kept by the attempt log, and disabled by a `410 Gone` or
//! after failing for too long.

use super::StoreError;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Client, Pool, Transaction};
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

macro_rules! endpoint_columns {
    () => {
        "id, tenant_id, url, event_types, secret_ciphertext, \
         previous_secret_ciphertext, previous_secret_expires_at, headers, custom_payload, \
         payload_format, rate_limit_per_second, max_in_flight, active, updated_at, \
         ordering, retry_schedule, retry_on_4xx, created_at, filter"
    };
}

const ALL: &str = concat!("SELECT ", endpoint_columns!(), " FROM webhooks");
const ONE: &str = concat!(
    "SELECT ",
    endpoint_columns!(),
    " FROM webhooks WHERE id = $1"
);

const SUBSCRIBED: &str = "
    SELECT id, tenant_id, updated_at, ordering = 'fifo' AS fifo FROM webhooks
    WHERE tenant_id = ANY($1) AND active";

// Set on the first failure after a success, cleared on a success; written
// only when it changes.
const FAILING_SINCE: &str = "
    UPDATE webhooks w SET failing_since = CASE WHEN v.ok THEN NULL ELSE v.at END
    FROM UNNEST($1::uuid[], $2::bool[], $3::timestamptz[]) AS v(id, ok, at)
    WHERE w.id = v.id
      AND ((v.ok AND w.failing_since IS NOT NULL) OR (NOT v.ok AND w.failing_since IS NULL))";

const DISABLE: &str = "
    UPDATE webhooks w SET active = false, disabled_reason = v.reason, disabled_at = now(), updated_at = now()
    FROM UNNEST($1::uuid[], $2::text[]) AS v(id, reason)
    WHERE w.id = v.id AND w.active
    RETURNING w.id, w.tenant_id, w.disabled_reason, w.disabled_at, w.failing_since";

// Safe to run in every dispatcher: each row is updated once.
const DISABLE_FAILING: &str = "
    UPDATE webhooks SET active = false, disabled_at = now(), updated_at = now(),
        disabled_reason = 'every delivery failed for more than ' || $2 || ' (since ' || failing_since || ')'
    WHERE active AND failing_since IS NOT NULL AND failing_since < now() - make_interval(secs => $1)
    RETURNING id, tenant_id, disabled_reason, disabled_at, failing_since";

// herald.endpoint.failing, once per failure period: an active endpoint
// failing for longer than $1 seconds, not yet announced for this period.
const MARK_FAILING: &str = "
    UPDATE webhooks SET failing_notified_at = now()
    WHERE active AND failing_since < now() - make_interval(secs => $1)
      AND (failing_notified_at IS NULL OR failing_notified_at < failing_since)
    RETURNING id, tenant_id, failing_since, failing_notified_at";

// herald.endpoint.recovered: an announced failure period has ended (a
// success cleared failing_since, or a new period started after it).
const MARK_RECOVERED: &str = "
    WITH ended AS (
        SELECT id, failing_notified_at FROM webhooks
        WHERE failing_notified_at IS NOT NULL
          AND (failing_since IS NULL OR failing_since > failing_notified_at)
        FOR NO KEY UPDATE SKIP LOCKED)
    UPDATE webhooks w SET failing_notified_at = NULL
    FROM ended WHERE w.id = ended.id
    RETURNING w.id, w.tenant_id, ended.failing_notified_at AS notified_at, now() AS recovered_at";

/// Endpoints by state.
const BY_STATE: &str = "
    SELECT count(*) FILTER (WHERE active) AS active, count(*) FILTER (WHERE NOT active) AS disabled
    FROM webhooks";

pub(super) const STATEMENTS: &[&str] = &[
    ALL,
    ONE,
    SUBSCRIBED,
    FAILING_SINCE,
    DISABLE,
    DISABLE_FAILING,
    MARK_FAILING,
    MARK_RECOVERED,
    BY_STATE,
];
pub(super) const HOT: &[&str] = &[SUBSCRIBED, FAILING_SINCE, DISABLE];

/// An endpoint row as stored (secrets still encrypted).
#[derive(Debug, Clone)]
pub struct EndpointRow {
    pub id: Uuid,
    pub tenant_id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub secret_ciphertext: Vec<u8>,
    pub previous_secret_ciphertext: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub headers: serde_json::Value,
    pub custom_payload: Option<serde_json::Value>,
    pub payload_format: String,
    pub rate_limit_per_second: Option<i32>,
    pub max_in_flight: Option<i32>,
    pub active: bool,
    pub updated_at: DateTime<Utc>,
    pub ordering: String,
    pub retry_schedule: Option<Vec<String>>,
    pub retry_on_4xx: bool,
    pub created_at: DateTime<Utc>,
    /// The payload filter, as ingest validated it.
    pub filter: Option<serde_json::Value>,
}

impl EndpointRow {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.try_get("id")?,
            tenant_id: row.try_get("tenant_id")?,
            url: row.try_get("url")?,
            event_types: row.try_get("event_types")?,
            secret_ciphertext: row.try_get("secret_ciphertext")?,
            previous_secret_ciphertext: row.try_get("previous_secret_ciphertext")?,
            previous_secret_expires_at: row.try_get("previous_secret_expires_at")?,
            headers: row.try_get("headers")?,
            custom_payload: row.try_get("custom_payload")?,
            payload_format: row.try_get("payload_format")?,
            rate_limit_per_second: row.try_get("rate_limit_per_second")?,
            max_in_flight: row.try_get("max_in_flight")?,
            active: row.try_get("active")?,
            updated_at: row.try_get("updated_at")?,
            ordering: row.try_get("ordering")?,
            retry_schedule: row.try_get("retry_schedule")?,
            retry_on_4xx: row.try_get("retry_on_4xx")?,
            created_at: row.try_get("created_at")?,
            filter: row.try_get("filter")?,
        })
    }
}

/// Every endpoint.
pub async fn all(pool: &Pool) -> Result<Vec<EndpointRow>, StoreError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(ALL).await?;
    let rows = client.query(&stmt, &[]).await?;
    rows.iter().map(EndpointRow::from_row).collect()
}

/// One endpoint, if it exists.
pub async fn one(pool: &Pool, id: Uuid) -> Result<Option<EndpointRow>, StoreError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(ONE).await?;
    let row = client.query_opt(&stmt, &[&id]).await?;
    row.as_ref().map(EndpointRow::from_row).transpose()
}

/// An active endpoint of a tenant, as Postgres has it now (what it
/// subscribes to is matched on the cache's compiled copy of this version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribed {
    pub id: Uuid,
    pub tenant_id: String,
    /// The row's `updated_at`.
    pub version: DateTime<Utc>,
    /// A FIFO endpoint: its line takes its events, not fan-out.
    pub fifo: bool,
}

/// The active endpoints of `tenants`.
pub async fn subscribed(client: &Client, tenants: &[&str]) -> Result<Vec<Subscribed>, StoreError> {
    let stmt = client.prepare_cached(SUBSCRIBED).await?;
    let rows = client.query(&stmt, &[&tenants]).await?;
    rows.iter()
        .map(|row| {
            Ok(Subscribed {
                id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                version: row.try_get("updated_at")?,
                fifo: row.try_get("fifo")?,
            })
        })
        .collect()
}

/// The latest attempt result of an endpoint in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastResult {
    pub webhook_id: Uuid,
    pub succeeded: bool,
    pub at: DateTime<Utc>,
}

/// Set or clear `failing_since` where it changes.
pub async fn update_failing_since(
    tx: &Transaction<'_>,
    results: &[LastResult],
) -> Result<u64, StoreError> {
    if results.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = results.iter().map(|r| r.webhook_id).collect();
    let ok: Vec<bool> = results.iter().map(|r| r.succeeded).collect();
    let at: Vec<DateTime<Utc>> = results.iter().map(|r| r.at).collect();
    super::execute(tx, FAILING_SINCE, &[&ids, &ok, &at]).await
}

/// An endpoint to disable, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disable<'a> {
    pub webhook_id: Uuid,
    pub reason: &'a str,
}

/// An endpoint a statement just disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    pub webhook_id: Uuid,
    pub tenant_id: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    pub failing_since: Option<DateTime<Utc>>,
}

fn disabled(rows: &[Row]) -> Result<Vec<Disabled>, StoreError> {
    rows.iter()
        .map(|row| {
            Ok(Disabled {
                webhook_id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                reason: row.try_get("disabled_reason")?,
                at: row.try_get("disabled_at")?,
                failing_since: row.try_get("failing_since")?,
            })
        })
        .collect()
}

/// An endpoint whose failure period started or ended (for
/// `herald.endpoint.failing` / `.recovered`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailurePeriod {
    pub webhook_id: Uuid,
    pub tenant_id: String,
    /// When it started failing (`failing`), or when that was announced
    /// (`recovered`: the failure period had lasted at least until then).
    pub since: DateTime<Utc>,
    /// When this was noticed.
    pub at: DateTime<Utc>,
}

fn periods(rows: &[Row], since: &str, at: &str) -> Result<Vec<FailurePeriod>, StoreError> {
    rows.iter()
        .map(|row| {
            Ok(FailurePeriod {
                webhook_id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                since: row.try_get(since)?,
                at: row.try_get(at)?,
            })
        })
        .collect()
}

/// Mark the endpoints failing for longer than `after` whose failure period
/// was not announced yet; each is returned once.
pub async fn mark_failing(
    tx: &Transaction<'_>,
    after: Duration,
) -> Result<Vec<FailurePeriod>, StoreError> {
    let stmt = tx.prepare_cached(MARK_FAILING).await?;
    let rows = tx.query(&stmt, &[&after.as_secs_f64()]).await?;
    periods(&rows, "failing_since", "failing_notified_at")
}

/// Clear the announcement of failure periods that ended; each is returned once.
pub async fn mark_recovered(tx: &Transaction<'_>) -> Result<Vec<FailurePeriod>, StoreError> {
    let stmt = tx.prepare_cached(MARK_RECOVERED).await?;
    let rows = tx.query(&stmt, &[]).await?;
    periods(&rows, "notified_at", "recovered_at")
}

/// Disable the endpoints of `disables` that are still active.
pub async fn disable(
    tx: &Transaction<'_>,
    disables: &[Disable<'_>],
) -> Result<Vec<Disabled>, StoreError> {
    if disables.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = disables.iter().map(|d| d.webhook_id).collect();
    let reasons: Vec<&str> = disables.iter().map(|d| d.reason).collect();
    let stmt = tx.prepare_cached(DISABLE).await?;
    let params: [&(dyn ToSql + Sync); 2] = [&ids, &reasons];
    disabled(&tx.query(&stmt, &params).await?)
}

/// Disable every active endpoint that has been failing for longer than
/// `after` (`after_text` is the same duration for the reason).
pub async fn disable_failing(
    tx: &Transaction<'_>,
    after: Duration,
    after_text: &str,
) -> Result<Vec<Disabled>, StoreError> {
    let stmt = tx.prepare_cached(DISABLE_FAILING).await?;
    disabled(
        &tx.query(&stmt, &[&after.as_secs_f64(), &after_text])
            .await?,
    )
}

/// How many endpoints are active and disabled, for the gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByState {
    pub active: i64,
    pub disabled: i64,
}

/// Endpoints by state.
pub async fn by_state(client: &Client) -> Result<ByState, StoreError> {
    let stmt = client.prepare_cached(BY_STATE).await?;
    let row = client.query_one(&stmt, &[]).await?;
    Ok(ByState {
        active: row.try_get("active")?,
        disabled: row.try_get("disabled")?,
    })
}
