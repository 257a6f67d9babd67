//! The delivery and attempt records and their row mapping. The API shows
//! them as they are (`DeliveryOut`, `AttemptOut` in the OpenAPI document).

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

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AttemptOut)]
pub struct Attempt {
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// The start of the response body, at most 1 KiB.
    pub response_body: Option<String>,
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
    })
}
