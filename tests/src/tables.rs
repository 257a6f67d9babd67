//! What tests read from Herald's tables, as named rows read by column name:
//! an endpoint's deliveries and attempts, one endpoint's row, row counts,
//! and the waits built on them. Also the event types a test app starts
//! with ([`install_event_types`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::wait::{wait_until, WAIT};
use crate::TestApp;

/// The event types migration 0001 seeds for the README's tour. A test app
/// that names its event types ([`TestAppOptions::event_types`]) starts
/// without them, so a test cannot lean on them unknowingly.
///
/// [`TestAppOptions::event_types`]: crate::TestAppOptions::event_types
pub const DEMO_EVENT_TYPES: [&str; 3] = ["order.created", "order.updated", "user.signed_up"];

const DELIVERIES: &str = "SELECT id, event_id, webhook_id, tenant_id, event_type, status, \
     attempts, last_status_code, last_error, next_retry_at, delivered_at, failed_at, parked, \
     created_at FROM deliveries WHERE webhook_id = $1 ORDER BY id";
const ATTEMPTS: &str = "SELECT a.id, a.delivery_id, a.attempt, a.started_at, a.duration_ms, \
     a.status_code, a.error, a.response_body, a.dispatcher_id, a.headers \
     FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id \
     WHERE d.webhook_id = $1 ORDER BY a.started_at, a.attempt";
const ENDPOINT: &str = "SELECT id, tenant_id, url, active, disabled_reason, disabled_at, \
     failing_since, headers, secret_ciphertext, previous_secret_ciphertext, \
     previous_secret_expires_at, updated_at FROM webhooks WHERE id = $1";
const STATUSES: &str =
    "SELECT status, count(*) AS n FROM deliveries WHERE webhook_id = $1 GROUP BY status";
const DROP_DEMO_TYPES: &str = "DELETE FROM event_types WHERE name = ANY($1)";
const ADD_TYPE: &str = "INSERT INTO event_types (name, description) VALUES ($1, 'A test type.') \
     ON CONFLICT (name) DO NOTHING";

/// Every statement of this module, for the test that prepares them all.
pub fn statements() -> Vec<&'static str> {
    vec![
        DELIVERIES,
        ATTEMPTS,
        ENDPOINT,
        STATUSES,
        DROP_DEMO_TYPES,
        ADD_TYPE,
    ]
}

/// One row of `deliveries`.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub webhook_id: Uuid,
    pub tenant_id: String,
    pub event_type: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub parked: i32,
    pub created_at: DateTime<Utc>,
}

/// One row of `delivery_attempts`.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub response_body: Option<String>,
    pub dispatcher_id: Option<String>,
    pub headers: Option<Value>,
}

/// One row of `webhooks` (the columns tests look at).
#[derive(Debug, Clone)]
pub struct EndpointRow {
    pub id: Uuid,
    pub tenant_id: String,
    pub url: String,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub headers: Value,
    pub secret_ciphertext: Vec<u8>,
    pub previous_secret_ciphertext: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// `row.try_get(column)`, panicking with the column's name.
fn col<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, column: &str) -> T {
    row.try_get(column)
        .unwrap_or_else(|e| panic!("column {column}: {e}"))
}

impl DeliveryRow {
    fn read(r: &Row) -> Self {
        Self {
            id: col(r, "id"),
            event_id: col(r, "event_id"),
            webhook_id: col(r, "webhook_id"),
            tenant_id: col(r, "tenant_id"),
            event_type: col(r, "event_type"),
            status: col(r, "status"),
            attempts: col(r, "attempts"),
            last_status_code: col(r, "last_status_code"),
            last_error: col(r, "last_error"),
            next_retry_at: col(r, "next_retry_at"),
            delivered_at: col(r, "delivered_at"),
            failed_at: col(r, "failed_at"),
            parked: col(r, "parked"),
            created_at: col(r, "created_at"),
        }
    }
}

impl AttemptRow {
    fn read(r: &Row) -> Self {
        Self {
            id: col(r, "id"),
            delivery_id: col(r, "delivery_id"),
            attempt: col(r, "attempt"),
            started_at: col(r, "started_at"),
            duration_ms: col(r, "duration_ms"),
            status_code: col(r, "status_code"),
            error: col(r, "error"),
            response_body: col(r, "response_body"),
            dispatcher_id: col(r, "dispatcher_id"),
            headers: col(r, "headers"),
        }
    }
}

impl EndpointRow {
    fn read(r: &Row) -> Self {
        Self {
            id: col(r, "id"),
            tenant_id: col(r, "tenant_id"),
            url: col(r, "url"),
            active: col(r, "active"),
            disabled_reason: col(r, "disabled_reason"),
            disabled_at: col(r, "disabled_at"),
            failing_since: col(r, "failing_since"),
            headers: col(r, "headers"),
            secret_ciphertext: col(r, "secret_ciphertext"),
            previous_secret_ciphertext: col(r, "previous_secret_ciphertext"),
            previous_secret_expires_at: col(r, "previous_secret_expires_at"),
            updated_at: col(r, "updated_at"),
        }
    }
}

impl TestApp {
    /// The deliveries of endpoint `webhook`, oldest first.
    pub async fn deliveries_of(&self, webhook: Uuid) -> Vec<DeliveryRow> {
        let rows = self.db().query(DELIVERIES, &[&webhook]).await;
        rows.expect("deliveries")
            .iter()
            .map(DeliveryRow::read)
            .collect()
    }

    /// The attempts of every delivery of endpoint `webhook`, in the order
    /// they started.
    pub async fn attempts_of(&self, webhook: Uuid) -> Vec<AttemptRow> {
        let rows = self.db().query(ATTEMPTS, &[&webhook]).await;
        rows.expect("attempts")
            .iter()
            .map(AttemptRow::read)
            .collect()
    }

    /// The row of endpoint `id`.
    pub async fn endpoint_row(&self, id: Uuid) -> EndpointRow {
        let row = self.db().query_one(ENDPOINT, &[&id]).await;
        EndpointRow::read(&row.unwrap_or_else(|e| panic!("endpoint {id}: {e}")))
    }

    /// How many deliveries endpoint `webhook` has in each status.
    pub async fn delivery_statuses(&self, webhook: Uuid) -> BTreeMap<String, i64> {
        let rows = self.db().query(STATUSES, &[&webhook]).await;
        let rows = rows.expect("statuses");
        rows.iter()
            .map(|r| (col(r, "status"), col(r, "n")))
            .collect()
    }

    /// `SELECT count(*) FROM <from>`, where `from` is a table and an
    /// optional condition: `app.count("events WHERE published_at IS NULL")`.
    pub async fn count(&self, from: &str) -> i64 {
        let sql = format!("SELECT count(*) AS n FROM {from}");
        let row = self.db().query_one(sql.as_str(), &[]).await;
        col(&row.unwrap_or_else(|e| panic!("{sql}: {e}")), "n")
    }

    /// Wait (up to [`WAIT`]) until endpoint `webhook` has at least `n`
    /// deliveries in `status`.
    pub async fn wait_for_deliveries(&self, webhook: Uuid, status: &str, n: i64) {
        let reached = wait_until(WAIT, || async {
            let statuses = self.delivery_statuses(webhook).await;
            statuses.get(status).copied().unwrap_or(0) >= n
        })
        .await;
        assert!(
            reached.is_ok(),
            "waited for {n} {status} deliveries of {webhook}; have {:?}",
            self.delivery_statuses(webhook).await
        );
    }
}

/// Replace the demo event types by `types` (see [`DEMO_EVENT_TYPES`]).
pub(crate) async fn install_event_types(
    db: &tokio_postgres::Client,
    types: &[String],
) -> anyhow::Result<()> {
    let demo: Vec<&str> = DEMO_EVENT_TYPES.to_vec();
    db.execute(DROP_DEMO_TYPES, &[&demo]).await?;
    for name in types {
        db.execute(ADD_TYPE, &[name]).await?;
    }
    Ok(())
}
