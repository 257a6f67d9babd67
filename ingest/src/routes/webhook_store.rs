//! SQL for `webhooks`: insert under the per-tenant limit, fetch, list, update.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use herald_common::domain::{PayloadFormat, TenantId};
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::routes::webhooks::headers_from_json;
use crate::state::AppState;

/// An endpoint as the API shows it: everything but the secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: Uuid,
    pub tenant_id: String,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    #[schema(value_type = Option<Object>)]
    pub custom_payload: Option<serde_json::Value>,
    /// `standard` or `raw`.
    pub payload_format: String,
    pub rate_limit_per_second: Option<i32>,
    pub max_in_flight: Option<i32>,
    pub active: bool,
    /// Why the endpoint is disabled (for example after `410 Gone`).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// While set and in the future, the previous secret still signs too.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, tenant_id, url, description, event_types, headers, custom_payload, \
     payload_format, rate_limit_per_second, max_in_flight, active, disabled_reason, disabled_at, \
     previous_secret_expires_at, created_at, updated_at";

fn from_row(r: &Row) -> WebhookOut {
    WebhookOut {
        id: r.get(0),
        tenant_id: r.get(1),
        url: r.get(2),
        description: r.get(3),
        event_types: r.get(4),
        headers: headers_from_json(r.get(5)),
        custom_payload: r.get(6),
        payload_format: r.get(7),
        rate_limit_per_second: r.get(8),
        max_in_flight: r.get(9),
        active: r.get(10),
        disabled_reason: r.get(11),
        disabled_at: r.get(12),
        previous_secret_expires_at: r.get(13),
        created_at: r.get(14),
        updated_at: r.get(15),
    }
}

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
}

fn headers_json(h: &BTreeMap<String, String>) -> serde_json::Value {
    serde_json::to_value(h).unwrap_or_else(|_| serde_json::json!({}))
}

/// Insert, holding the tenant row lock so that concurrent creates cannot
/// pass the tenant's endpoint limit together.
pub async fn insert(state: &AppState, w: NewWebhook) -> Result<WebhookOut, ApiError> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let tenant = tx
        .query_opt(
            "SELECT max_endpoints FROM tenants WHERE id = $1 FOR UPDATE",
            &[&w.tenant_id.as_str()],
        )
        .await?
        .ok_or_else(|| {
            ApiError::unprocessable(
                "unknown_tenant",
                format!("the tenant {:?} does not exist", w.tenant_id.as_str()),
            )
        })?;
    let max: Option<i32> = tenant.get(0);
    let max = max
        .map(i64::from)
        .unwrap_or(state.config.max_endpoints_per_tenant);
    let count: i64 = tx
        .query_one(
            "SELECT count(*) FROM webhooks WHERE tenant_id = $1",
            &[&w.tenant_id.as_str()],
        )
        .await?
        .get(0);
    if count >= max {
        return Err(ApiError::conflict(
            "endpoint_limit_reached",
            format!("the tenant already has {count} endpoints, its limit is {max}"),
        ));
    }
    let sql = format!(
        "INSERT INTO webhooks (id, tenant_id, url, description, event_types, secret_ciphertext, \
             headers, custom_payload, payload_format, rate_limit_per_second, max_in_flight, active, \
             disabled_reason, disabled_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             CASE WHEN $12 THEN NULL ELSE 'disabled through the API' END, \
             CASE WHEN $12 THEN NULL ELSE now() END) \
         RETURNING {COLUMNS}"
    );
    let row = tx
        .query_one(
            &sql,
            &[
                &w.id,
                &w.tenant_id.as_str(),
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
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(from_row(&row))
}

pub async fn fetch<C: GenericClient>(
    client: &C,
    id: Uuid,
    scope: Option<String>,
    for_update: bool,
) -> Result<Option<WebhookOut>, ApiError> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let sql = format!(
        "SELECT {COLUMNS} FROM webhooks WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2){lock}"
    );
    Ok(client
        .query_opt(&sql, &[&id, &scope])
        .await?
        .as_ref()
        .map(from_row))
}

pub async fn list(
    state: &AppState,
    scope: Option<String>,
    before: Option<Uuid>,
    active: Option<bool>,
    event_type: Option<String>,
    limit: i64,
) -> Result<Vec<WebhookOut>, ApiError> {
    let client = state.db.get().await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM webhooks \
         WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR id < $2) \
           AND ($3::bool IS NULL OR active = $3) AND ($4::text IS NULL OR $4 = ANY(event_types)) \
         ORDER BY id DESC LIMIT $5"
    );
    let rows = client
        .query(&sql, &[&scope, &before, &active, &event_type, &limit])
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// The validated fields of a PATCH; `None` leaves a field as it is.
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
}

/// Apply a change; `None` if the endpoint is not in scope.
pub async fn update(
    state: &AppState,
    id: Uuid,
    scope: Option<String>,
    c: Change,
) -> Result<Option<WebhookOut>, ApiError> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let Some(cur) = fetch(&tx, id, scope, true).await? else {
        return Ok(None);
    };
    let format = c
        .payload_format
        .map(PayloadFormat::as_str)
        .map(str::to_string);
    let sql = format!(
        "UPDATE webhooks SET url = $2, description = $3, event_types = $4, headers = $5, \
             custom_payload = $6, payload_format = $7, rate_limit_per_second = $8, \
             max_in_flight = $9, active = $10, \
             disabled_reason = CASE WHEN $10 THEN NULL WHEN active THEN 'disabled through the API' ELSE disabled_reason END, \
             disabled_at = CASE WHEN $10 THEN NULL WHEN active THEN now() ELSE disabled_at END, \
             failing_since = CASE WHEN $10 AND NOT active THEN NULL ELSE failing_since END, \
             updated_at = now() \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = tx
        .query_one(
            &sql,
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
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(Some(from_row(&row)))
}
