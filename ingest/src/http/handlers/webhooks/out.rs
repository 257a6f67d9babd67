//! The endpoint as the API shows it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::store::webhooks::Webhook;

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

impl From<Webhook> for WebhookOut {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            tenant_id: w.tenant_id,
            url: w.url,
            description: w.description,
            event_types: w.event_types,
            headers: w.headers,
            custom_payload: w.custom_payload,
            payload_format: w.payload_format,
            rate_limit_per_second: w.rate_limit_per_second,
            max_in_flight: w.max_in_flight,
            active: w.active,
            disabled_reason: w.disabled_reason,
            disabled_at: w.disabled_at,
            previous_secret_expires_at: w.previous_secret_expires_at,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}
