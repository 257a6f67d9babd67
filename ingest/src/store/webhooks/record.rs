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
        filter: r.col("filter")?,
    })
}
