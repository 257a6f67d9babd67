//! The stored endpoint and its row mapping. The API shows it as it is
//! (`WebhookOut` in the OpenAPI document).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::store::error::StoreError;
use crate::store::pg::Columns;

/// An endpoint as the API shows it: everything but the secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = WebhookOut)]
pub struct Webhook {
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
    /// `unordered` or `fifo` (one delivery at a time, in acceptance order).
    pub ordering: String,
    /// `hmac` (`v1` signatures) or `ed25519` (`v1a`).
    pub signature_scheme: String,
    /// For `ed25519`: the `whpk_` key receivers verify signatures with.
    pub public_key: Option<String>,
    /// For `ed25519`, while `previous_secret_expires_at` is in the future:
    /// the rotated-out public key, whose signatures are still sent too.
    pub previous_public_key: Option<String>,
    /// This endpoint's retry delays; `null` follows `HERALD_RETRY_SCHEDULE`.
    pub retry_schedule: Option<Vec<String>>,
    /// `false`: 4xx answers other than 408, 409, 425, 429 are not retried.
    pub retry_on_4xx: bool,
    /// The payload filter; `null` delivers every event of the types.
    #[schema(value_type = Option<Object>)]
    pub filter: Option<serde_json::Value>,
}

pub(super) fn webhook(r: &Row) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: r.col("id")?,
        tenant_id: r.col("tenant_id")?,
        url: r.col("url")?,
        description: r.col("description")?,
        event_types: r.col("event_types")?,
        // A JSON object of strings, as written by `change`.
        headers: serde_json::from_value(r.col("headers")?).unwrap_or_default(),
        custom_payload: r.col("custom_payload")?,
        payload_format: r.col("payload_format")?,
        rate_limit_per_second: r.col("rate_limit_per_second")?,
        max_in_flight: r.col("max_in_flight")?,
        active: r.col("active")?,
        disabled_reason: r.col("disabled_reason")?,
        disabled_at: r.col("disabled_at")?,
        previous_secret_expires_at: r.col("previous_secret_expires_at")?,
        created_at: r.col("created_at")?,
        updated_at: r.col("updated_at")?,
        ordering: r.col("ordering")?,
        signature_scheme: r.col("signature_scheme")?,
        public_key: r.col("public_key")?,
        previous_public_key: r.col("previous_public_key")?,
        retry_schedule: r.col("retry_schedule")?,
        retry_on_4xx: r.col("retry_on_4xx")?,
        filter: r.col("filter")?,
    })
}
