//! Deliveries that ingest creates and sends itself, never through fan-out:
//!
//! - a **test event** (`POST /webhooks/{id}/test`): a `webhook.test` event
//!   addressed to one endpoint, stored as already published (the outbox
//!   relay never puts it on `HERALD_EVENTS`, so no other subscriber of
//!   `webhook.test` gets it) with its single delivery, whose job is
//!   published straight to `herald.deliveries.<webhook id>`;
//! - a **replay** (`POST /webhooks/{id}/replay`): a delivery for every event
//!   of the endpoint's tenant and subscribed types (names or wildcard
//!   patterns) in a window that it has no delivery for and its payload
//!   filter passes (for example events that arrived while it was
//!   disabled), at most [`MAX_REPLAY`] per call; a second call finds nothing
//!   missing and creates nothing.
//!
//! The rows are committed before their jobs are published, `pending` with
//! `next_retry_at` a lease ahead: if a job is not published (NATS went
//! away, the node died), the dispatchers' retry scheduler sends it after
//! the lease, under the same `Nats-Msg-Id`.

use chrono::{DateTime, SecondsFormat, Utc};
use herald_common::routing::{Filter, Pattern};
use serde_json::json;
use uuid::Uuid;

use super::resend::{jobs, MsgId, Resend, ResendError};
use crate::store::deliveries::create::{self, Subscriber};
use crate::store::events::Event;
use crate::store::time_ids::{now_micros, IdRange};
use crate::store::{self, webhooks::Webhook};

/// The event type of test events.
pub const TEST_EVENT_TYPE: &str = "webhook.test";
/// At most this many deliveries are created by one replay call.
pub const MAX_REPLAY: i64 = 10_000;
/// Deliveries published per round of a replay.
const CHUNK: usize = 256;

impl Resend<'_> {
    /// Send a `webhook.test` event to `webhook` alone; its delivery's id.
    pub async fn test_event(&self, webhook: &Webhook) -> Result<Uuid, ResendError> {
        self.ready()?;
        let event = test_event(webhook, now_micros());
        let row = create::test_event(self.db, &event, webhook.id, self.lease).await?;
        let delivery_id = row.delivery_id;
        let published = self.publish(jobs(vec![row])?, MsgId::First).await?;
        if published.is_empty() {
            tracing::warn!(%delivery_id, "Test event not acknowledged; the retry scheduler sends it after its lease.");
        }
        tracing::info!(webhook_id = %webhook.id, %delivery_id, "Test event sent.");
        Ok(delivery_id)
    }

    /// Create and send the deliveries `webhook` never got for the events
    /// in `window`; how many were created.
    pub async fn replay(&self, webhook: &Webhook, window: IdRange) -> Result<usize, ResendError> {
        self.ready()?;
        let webhook_id = webhook.id;
        let to = subscriber(webhook);
        let created = create::missing(self.db, &to, window, MAX_REPLAY, self.lease).await?;
        let client = store::client(self.db).await?;
        let mut published = 0;
        for chunk in created.chunks(CHUNK) {
            let rows = create::for_jobs(&client, chunk).await?;
            published += self.publish(jobs(rows)?, MsgId::First).await?.len();
        }
        if published < created.len() {
            tracing::warn!(%webhook_id, created = created.len(), published, "Some replayed deliveries were not acknowledged; the retry scheduler sends them after their lease.");
        }
        tracing::info!(%webhook_id, created = created.len(), "Missed events replayed.");
        Ok(created.len())
    }
}

/// What a replay matches events with: the endpoint's plain types, its
/// wildcard subscriptions as regular expressions, its payload filter (each
/// as fan-out reads them; an entry that does not parse matches nothing).
fn subscriber(webhook: &Webhook) -> Subscriber<'_> {
    let patterns: Vec<Pattern> = webhook
        .event_types
        .iter()
        .filter_map(|t| Pattern::parse(t).ok())
        .collect();
    let (plain, wild): (Vec<&Pattern>, Vec<&Pattern>) =
        patterns.iter().partition(|p| p.is_literal());
    Subscriber {
        webhook_id: webhook.id,
        tenant_id: &webhook.tenant_id,
        event_types: plain.iter().map(|p| p.as_str().to_string()).collect(),
        patterns: wild.iter().map(|p| p.regex()).collect(),
        filter: webhook.filter.as_ref().and_then(|f| Filter::parse(f).ok()),
    }
}

/// The test event for `webhook`, accepted at `now`.
pub fn test_event(webhook: &Webhook, now: DateTime<Utc>) -> Event {
    let payload = json!({
        "webhook_id": webhook.id,
        "message": "This is a test event sent by Herald.",
        "sent_at": now.to_rfc3339_opts(SecondsFormat::Millis, true),
    });
    Event {
        id: Uuid::now_v7(),
        tenant_id: webhook.tenant_id.clone(),
        event_type: TEST_EVENT_TYPE.to_string(),
        payload: payload.to_string(),
        idempotency_key: None,
        created_at: now,
    }
}
