//! One FIFO endpoint's line in this dispatcher: pull the next event of its
//! consumer (one at a time: the consumer hands out nothing else until it is
//! acknowledged), deliver it, and only then let it go:
//!
//! * delivered, or failed for good (schedule exhausted, 4xx not retried,
//!   410): ack, and the next event comes;
//! * a retry is due later: NAK with that delay, so the same event comes back
//!   (to whichever dispatcher pulls first) and the line waits;
//! * this dispatcher dies: after the ack wait the event comes back to
//!   another one, which reads the delivery row and goes on from there (the
//!   request may be sent again, never overtaken).

use crate::attempt_log::Record;
use crate::deliver::job::JobContext;
use crate::deliver::outcome::Decision;
use crate::endpoints_cache::{Endpoint, EndpointsCache};
use crate::fanout::plan;
use crate::store::deliveries::{self, DeliveryKey, DeliveryRow, NewDelivery};
use crate::store::StoreError;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::{AckKind, Message};
use chrono::Utc;
use deadpool_postgres::Pool;
use futures::StreamExt;
use herald_common::domain::DeliveryStatus;
use herald_common::jetstream::{ack, in_progress};
use herald_common::messages::{DeliveryJob, EventMessage, JobTarget};
use herald_common::shutdown::CancellationToken;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;
use uuid::Uuid;

/// How long a pull waits on the server for the line's next event.
const PULL_EXPIRES: Duration = Duration::from_secs(5);
/// The pause after a failed pull or a failed read of Postgres.
const RETRY_LATER: Duration = Duration::from_secs(1);

pub struct Line {
    pub webhook_id: Uuid,
    pub consumer: PullConsumer,
    pub ctx: Arc<JobContext>,
    pub cache: Arc<EndpointsCache>,
    pub pool: Pool,
}

/// What to do with the line's message after handling it.
enum Then {
    Ack,
    Nak(Option<Duration>),
}

impl Line {
    /// Pull and deliver until `stop` (the endpoint left, or shutdown).
    pub async fn run(self, stop: CancellationToken) {
        loop {
            let pull = self
                .consumer
                .batch()
                .max_messages(1)
                .expires(PULL_EXPIRES)
                .messages();
            let next = tokio::select! {
                _ = stop.cancelled() => break,
                pull = pull => match pull {
                    Ok(mut batch) => tokio::select! {
                        _ = stop.cancelled() => break,
                        msg = batch.next() => msg,
                    },
                    Err(error) => {
                        tracing::debug!(%error, webhook_id = %self.webhook_id, "FIFO pull failed.");
                        pause(&stop).await;
                        continue;
                    }
                },
            };
            match next {
                Some(Ok(msg)) if stop.is_cancelled() => ack(&msg, AckKind::Nak(None)).await,
                Some(Ok(msg)) => self.handle(msg).await,
                Some(Err(error)) => {
                    tracing::debug!(%error, webhook_id = %self.webhook_id, "FIFO pull ended with a status.");
                    pause(&stop).await;
                }
                None => {}
            }
        }
        tracing::debug!(webhook_id = %self.webhook_id, "FIFO line stopped.");
    }

    async fn handle(&self, msg: Message) {
        let event: EventMessage = match serde_json::from_slice(&msg.payload) {
            Ok(e) => e,
            Err(error) => {
                tracing::error!(%error, subject = %msg.subject, "Dropping a malformed event.");
                return ack(&msg, AckKind::Term).await;
            }
        };
        let span = tracing::info_span!("fifo", webhook_id = %self.webhook_id, event_id = %event.id);
        let work = self.deliver(event);
        let then = in_progress(std::slice::from_ref(&msg), self.ctx.ack_wait, work)
            .instrument(span)
            .await;
        match then {
            Then::Ack => ack(&msg, AckKind::Ack).await,
            Then::Nak(delay) => ack(&msg, AckKind::Nak(delay)).await,
        }
    }

    /// Deliver the line's current event (or find it already done).
    async fn deliver(&self, event: EventMessage) -> Then {
        let endpoint = match self.cache.get_at_least(self.webhook_id, None).await {
            Ok(Some(e)) => e,
            Ok(None) => return Then::Ack, // deleted: its line is being removed
            Err(error) => {
                tracing::warn!(%error, "Could not load the endpoint.");
                return Then::Nak(Some(RETRY_LATER));
            }
        };
        let row = match self.row(&endpoint, &event).await {
            Ok(Some(row)) => row,
            Ok(None) => return Then::Ack,
            Err(error) => {
                tracing::warn!(%error, "Could not read the delivery.");
                return Then::Nak(Some(RETRY_LATER));
            }
        };
        match row.status {
            DeliveryStatus::Delivered | DeliveryStatus::Failed => return Then::Ack,
            DeliveryStatus::Pending | DeliveryStatus::Retrying => {}
        }
        if !endpoint.active {
            let fail = Record::Fail {
                delivery_id: row.id,
                reason: "endpoint is disabled".to_string(),
            };
            return recorded(self.ctx.record(fail).await);
        }
        if let Some(wait) = row
            .next_retry_at
            .and_then(|t| (t - Utc::now()).to_std().ok())
        {
            return Then::Nak(Some(wait)); // came back early (a crash): wait for its time
        }
        let created_at = event.created_at;
        let target = JobTarget {
            delivery_id: row.id,
            webhook_id: self.webhook_id,
            attempts_made: row.attempts,
            webhook_version: None,
        };
        let job = DeliveryJob::new(event, target);
        let Some(sent) = self.ctx.attempt(&endpoint, &job).await else {
            return Then::Nak(None);
        };
        let Some(decided) = self.ctx.conclude(&job, &endpoint, sent).await else {
            return Then::Nak(None);
        };
        decided.count(created_at);
        match decided.decision {
            Decision::Retry { delay } => Then::Nak(Some(delay)),
            _ => Then::Ack,
        }
    }

    /// The event's delivery row: created now (or found, when the event came
    /// back). A disabled endpoint, and an event the endpoint's routing does
    /// not want (its payload filter, or a type its consumer's subjects let
    /// through), get no new rows (as with fan-out): `None` unless the row
    /// exists.
    async fn row(
        &self,
        endpoint: &Endpoint,
        event: &EventMessage,
    ) -> Result<Option<DeliveryRow>, StoreError> {
        let key = DeliveryKey {
            event_id: event.id,
            webhook_id: self.webhook_id,
        };
        let client = self.pool.get().await?;
        let mut rows = if endpoint.active && plan::wants(&endpoint.routing, event) {
            let new = [NewDelivery {
                key,
                tenant_id: &event.tenant_id,
                event_type: &event.event_type,
            }];
            deliveries::create_or_find(&client, &new).await?
        } else {
            deliveries::find(&client, &[key]).await?
        };
        Ok(rows.remove(&key))
    }
}

fn recorded(ok: bool) -> Then {
    if ok {
        Then::Ack
    } else {
        Then::Nak(None)
    }
}

async fn pause(stop: &CancellationToken) {
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = tokio::time::sleep(RETRY_LATER) => {}
    }
}
