//! The delivery and attempt records and their row mapping. The API shows
//! them as they are (`DeliveryOut`, `AttemptOut` in the OpenAPI document).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::store::error::StoreError;
use crate::store::pg::Columns;

/// One (event, endpoint) pair and where its delivery stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = DeliveryOut)]
pub struct Delivery {
    pub id: Uuid,
    pub event_id: Uuid,
    pub webhook_id: Uuid,
    pub tenant_id: String,
    /// The event's type (`null` only for deliveries older than the
    /// console's migration whose event is gone).
    pub event_type: Option<String>,
    /// `pending`, `delivered`, `retrying` or `failed`.
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Header names and values as the attempt log keeps them.
pub type Headers = BTreeMap<String, String>;

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AttemptOut)]
pub struct Attempt {
    /// 1 for the first attempt; counts every attempt, also across manual re-sends.
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// `null` when no response arrived (timeout, refused connection, ...).
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// The start of the response body, at most 1 KiB.
    pub response_body: Option<String>,
    /// The request's headers as sent; signatures and secret-looking values
    /// (authorization, cookies, names with token, secret, key, ...) read
    /// `[redacted]`. Empty for attempts recorded before Herald kept them.
    pub request_headers: Headers,
    /// The first response headers (at most 16, 1 KiB), redacted the same way.
    pub response_headers: Headers,
    /// The `HERALD_DISPATCHER_ID` of the dispatcher that made the attempt.
    pub dispatcher_id: Option<String>,
}

/// A delivery with every attempt, oldest first.
#[derive(Debug, Clone)]
pub struct WithAttempts {
    pub delivery: Delivery,
    pub attempts: Vec<Attempt>,
}

pub(super) fn delivery(r: &Row) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: r.col("id")?,
        event_id: r.col("event_id")?,
        webhook_id: r.col("webhook_id")?,
        tenant_id: r.col("tenant_id")?,
        event_type: r.col("event_type")?,
        status: r.col("status")?,
        attempts: r.col("attempts")?,
        last_status_code: r.col("last_status_code")?,
        last_error: r.col("last_error")?,
        next_retry_at: r.col("next_retry_at")?,
        delivered_at: r.col("delivered_at")?,
        created_at: r.col("created_at")?,
        updated_at: r.col("updated_at")?,
    })
}

pub(super) fn attempt(r: &Row) -> Result<Attempt, StoreError> {
    Ok(Attempt {
        attempt: r.col("attempt")?,
        started_at: r.col("started_at")?,
        duration_ms: r.col("duration_ms")?,
        status_code: r.col("status_code")?,
        error: r.col("error")?,
        response_body: r.col("response_body")?,
        request_headers: headers(&r.col("headers")?, "request"),
        response_headers: headers(&r.col("headers")?, "response"),
        dispatcher_id: r.col("dispatcher_id")?,
    })
}

/// One side of an attempt's `headers` column (`{"request": {..},
/// "response": {..}}`); empty when absent.
fn headers(column: &Option<serde_json::Value>, side: &str) -> Headers {
    column
        .as_ref()
        .and_then(|v| v.get(side))
        .and_then(|v| v.as_object())
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}
