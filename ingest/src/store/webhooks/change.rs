//! Writes to `webhooks`: insert under the tenant's limit, change, rotate the
//! secret, delete with the delivery log.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use herald_common::backoff::{Backoff, GaveUp};
use herald_common::domain::{Ordering, PayloadFormat, SignatureScheme, TenantId};
use herald_common::operational::{About, DisabledBy, Operational};
use herald_common::shutdown::CancellationToken;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::record::{webhook, Webhook};
use crate::store::error::StoreError;
use crate::store::events::{self, Event};
use crate::store::pg::{client, Columns};
use crate::store::{deliveries, tenants};

/// A validated endpoint to insert.
pub struct NewWebhook {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub custom_payload: Option<serde_json::Value>,
    pub payload_format: PayloadFormat,
    pub rate_limit_per_second: Option<i32>,
    pub max_in_flight: Option<i32>,
    pub active: bool,
    pub secret_ciphertext: Vec<u8>,
    pub ordering: Ordering,
    pub signature_scheme: SignatureScheme,
    /// The `whpk_` key of an ed25519 endpoint.
    pub public_key: Option<String>,
    pub retry_schedule: Option<Vec<String>>,
    pub retry_on_4xx: bool,
    /// A parsed payload filter.
    pub filter: Option<serde_json::Value>,
}

/// The validated fields of a change; `None` leaves a field as it is.
pub struct Change {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub custom_payload: Option<Option<serde_json::Value>>,
    pub payload_format: Option<PayloadFormat>,
    pub rate_limit_per_second: Option<Option<i32>>,
    pub max_in_flight: Option<Option<i32>>,
    pub active: Option<bool>,
    pub retry_schedule: Option<Option<Vec<String>>>,
    pub retry_on_4xx: Option<bool>,
    pub filter: Option<Option<serde_json::Value>>,
}

/// A changed endpoint, and the operational event its change stored
/// (`herald.endpoint.enabled` or `.disabled`), for the caller to publish.
#[derive(Debug)]
pub struct Updated {
    pub webhook: Webhook,
    pub events: Vec<Event>,
}

/// What [`insert`] did.
#[derive(Debug)]
pub enum Inserted {
    Created(Box<Webhook>),
    /// The tenant does not exist.
    UnknownTenant,
    /// The tenant already has `count` endpoints; its limit is `max`.
    LimitReached {
        count: i64,
        max: i64,
    },
}

/// The result of a secret rotation.
#[derive(Debug)]
pub struct Rotated {
    pub tenant_id: String,
    /// Until then the previous secret still signs too.
    pub previous_secret_expires_at: DateTime<Utc>,
}

pub(super) const COUNT_FOR_TENANT: &str = "SELECT count(*) FROM webhooks WHERE tenant_id = $1";
pub(super) const INSERT: &str = concat!(
    "INSERT INTO webhooks (id, tenant_id, url, description, event_types, secret_ciphertext, \
         headers, custom_payload, payload_format, rate_limit_per_second, max_in_flight, active, \
         disabled_reason, disabled_at, ordering, signature_scheme, public_key, retry_schedule, \
         retry_on_4xx, filter) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         CASE WHEN $12 THEN NULL ELSE 'disabled through the API' END, \
         CASE WHEN $12 THEN NULL ELSE now() END, $13, $14, $15, $16, $17, $18) \
     RETURNING ",
    columns!()
);
pub(super) const GET_FOR_UPDATE: &str = concat!(select_one!(), " FOR UPDATE");
pub(super) const UPDATE: &str = concat!(
    "UPDATE webhooks SET url = $2, description = $3, event_types = $4, headers = $5, \
         custom_payload = $6, payload_format = $7, rate_limit_per_second = $8, \
         max_in_flight = $9, active = $10, retry_schedule = $11, retry_on_4xx = $12, \
         disabled_reason = CASE WHEN $10 THEN NULL WHEN active THEN 'disabled through the API' ELSE disabled_reason END, \
         disabled_at = CASE WHEN $10 THEN NULL WHEN active THEN now() ELSE disabled_at END, \
         failing_since = CASE WHEN $10 AND NOT active THEN NULL ELSE failing_since END, \
         failing_notified_at = CASE WHEN $10 AND NOT active THEN NULL ELSE failing_notified_at END, \
         filter = $13, updated_at = now() \
     WHERE id = $1 RETURNING ",
    columns!()
);
pub(super) const ROTATE_SECRET: &str = "UPDATE webhooks \
     SET previous_secret_ciphertext = secret_ciphertext, \
         previous_secret_expires_at = now() + make_interval(secs => $3), \
         secret_ciphertext = $2, previous_public_key = public_key, public_key = $5, \
         updated_at = now() \
     WHERE id = $1 AND ($4::text IS NULL OR tenant_id = $4) \
     RETURNING tenant_id, previous_secret_expires_at";
pub(super) const DELETE: &str =
    "DELETE FROM webhooks WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2) \
     RETURNING tenant_id";

fn headers_json(h: &BTreeMap<String, String>) -> serde_json::Value {
    serde_json::to_value(h).unwrap_or_else(|_| serde_json::json!({}))
}

/// Insert, holding the tenant's row lock so that concurrent creates cannot
/// pass its endpoint limit together; `default_max` applies to tenants
/// without a limit of their own.
pub async fn insert(db: &Pool, w: NewWebhook, default_max: i64) -> Result<Inserted, StoreError> {
    let mut client = client(db).await?;
    let tx = client.transaction().await?;
    let tenant = w.tenant_id.as_str();
    let Some(max) = tenants::lock_endpoint_limit(&tx, tenant).await? else {
        return Ok(Inserted::UnknownTenant);
    };
    let max = max.map(i64::from).unwrap_or(default_max);
    let count: i64 = tx
        .query_one(COUNT_FOR_TENANT, &[&tenant])
        .await?
        .col("count")?;
    if count >= max {
        return Ok(Inserted::LimitReached { count, max });
    }
    let row = tx
        .query_one(
            INSERT,
            &[
                &w.id,
                &tenant,
                &w.url,
                &w.description,
                &w.event_types,
                &w.secret_ciphertext,
                &headers_json(&w.headers),
                &w.custom_payload,
                &w.payload_format.as_str(),
                &w.rate_limit_per_second,
                &w.max_in_flight,
                &w.active,
                &w.ordering.as_str(),
                &w.signature_scheme.as_str(),
                &w.public_key,
                &w.retry_schedule,
                &w.retry_on_4xx,
                &w.filter,
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(Inserted::Created(Box::new(webhook(&row)?)))
}

/// Apply a change under the row's lock; `None` if the endpoint is not in
/// `scope`. Disabling through the API records why; enabling clears it. Either
/// stores its operational event in the same transaction.
pub async fn update(
    db: &Pool,
    id: Uuid,
    scope: Option<&str>,
    c: Change,
) -> Result<Option<Updated>, StoreError> {
    let mut client = client(db).await?;
    let tx = client.transaction().await?;
    let Some(row) = tx.query_opt(GET_FOR_UPDATE, &[&id, &scope]).await? else {
        return Ok(None);
    };
    let cur = webhook(&row)?;
    let was_active = cur.active;
    let format = c.payload_format.map(|f| f.as_str().to_string());
    let row = tx
        .query_one(
            UPDATE,
            &[
                &id,
                &c.url.unwrap_or(cur.url),
                &c.description.unwrap_or(cur.description),
                &c.event_types.unwrap_or(cur.event_types),
                &headers_json(&c.headers.unwrap_or(cur.headers)),
                &c.custom_payload.unwrap_or(cur.custom_payload),
                &format.unwrap_or(cur.payload_format),
                &c.rate_limit_per_second.unwrap_or(cur.rate_limit_per_second),
                &c.max_in_flight.unwrap_or(cur.max_in_flight),
                &c.active.unwrap_or(cur.active),
                &c.retry_schedule.unwrap_or(cur.retry_schedule),
                &c.retry_on_4xx.unwrap_or(cur.retry_on_4xx),
                &c.filter.unwrap_or(cur.filter),
            ],
        )
        .await?;
    let webhook = webhook(&row)?;
    let events: Vec<Event> = toggled(&webhook, was_active)
        .map(|op| Event::operational(op, webhook.updated_at))
        .into_iter()
        .collect();
    events::insert_operational(&tx, &events).await?;
    tx.commit().await?;
    Ok(Some(Updated { webhook, events }))
}

/// The operational event of a change of `active`, if it changed.
fn toggled(w: &Webhook, was_active: bool) -> Option<Operational> {
    let about = About {
        webhook_id: w.id,
        tenant_id: &w.tenant_id,
    };
    match (was_active, w.active) {
        (false, true) => Some(about.enabled(w.updated_at)),
        (true, false) => Some(about.disabled(
            DisabledBy::Api,
            w.disabled_reason.as_deref(),
            w.updated_at,
            None,
        )),
        _ => None,
    }
}

/// Store a new secret (and, for ed25519, its `public_key`); the current one
/// keeps signing for `grace_secs`. `None` if the endpoint is not in `scope`.
pub async fn rotate_secret(
    db: &Pool,
    id: Uuid,
    scope: Option<&str>,
    secret_ciphertext: &[u8],
    public_key: Option<&str>,
    grace_secs: f64,
) -> Result<Option<Rotated>, StoreError> {
    let params: [&(dyn ToSql + Sync); 5] =
        [&id, &secret_ciphertext, &grace_secs, &scope, &public_key];
    let Some(row) = client(db).await?.query_opt(ROTATE_SECRET, &params).await? else {
        return Ok(None);
    };
    Ok(Some(Rotated {
        tenant_id: row.col("tenant_id")?,
        previous_secret_expires_at: row.col("previous_secret_expires_at")?,
    }))
}

/// Retries of a delete that Postgres cancelled to break a deadlock (its
/// delivery rows race with the attempt log's and retention's writes). Postgres
/// finds a deadlock after `deadlock_timeout` (1 s by default), so the
/// deadline allows about three tries.
const DELETE_RETRY: Backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(200))
    .deadline(Duration::from_secs(3));

/// Delete the endpoint and its delivery log; its tenant, or `None` if it is
/// not in `scope`. A transaction Postgres cancelled to break a deadlock is
/// tried again (nothing of it was written).
pub async fn delete(
    db: &Pool,
    id: Uuid,
    scope: Option<&str>,
) -> Result<Option<String>, StoreError> {
    // A request is not cut short by shutdown: nothing cancels this token.
    let never = CancellationToken::new();
    let tried = DELETE_RETRY
        .retry(
            "Endpoint delete met a deadlock",
            &never,
            |e| !matches!(e, StoreError::Contended(_)),
            || delete_once(db, id, scope),
        )
        .await;
    match tried {
        Ok(tenant) => Ok(tenant),
        Err(GaveUp::Failed(e)) => Err(e),
        Err(GaveUp::Cancelled) => unreachable!("the delete's token is never cancelled"),
    }
}

/// One try of [`delete`]. Deleting the row first waits for any fan-out that
/// locked it; the deliveries are then deleted by a later statement, which
/// sees what that fan-out wrote (migrations/0003_hot_path.sql).
async fn delete_once(
    db: &Pool,
    id: Uuid,
    scope: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let mut client = client(db).await?;
    let tx = client.transaction().await?;
    let Some(row) = tx.query_opt(DELETE, &[&id, &scope]).await? else {
        return Ok(None);
    };
    let tenant: String = row.col("tenant_id")?;
    deliveries::delete_for_webhook(&tx, id).await?;
    tx.commit().await?;
    Ok(Some(tenant))
}
