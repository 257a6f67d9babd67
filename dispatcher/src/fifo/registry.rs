//! The FIFO lines' consumers on `HERALD_EVENTS`, and which of them this
//! dispatcher has made sure of.
//!
//! `HERALD_EVENTS` keeps an event only while a consumer still wants it
//! (interest retention), so a FIFO endpoint's consumer must exist before
//! fan-out acknowledges an event the endpoint subscribes to: otherwise that
//! event would leave the stream before the line could take it. Fan-out asks
//! [`LineConsumers::ensure_known`] for every FIFO endpoint its group matches
//! (one JetStream request per endpoint and version per dispatcher); the
//! [`super::Lines`] reconciler creates, updates and deletes them too.

use super::consumer::LineSpec;
use async_nats::jetstream::{self, consumer::PullConsumer};
use herald_common::subjects::{fifo_consumer, EVENTS_STREAM};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use uuid::Uuid;

pub struct LineConsumers {
    js: jetstream::Context,
    ack_wait: Duration,
    /// The spec each line's consumer had when this dispatcher last ensured it.
    ensured: Mutex<HashMap<Uuid, LineSpec>>,
}

impl LineConsumers {
    pub fn new(js: jetstream::Context, ack_wait: Duration) -> Self {
        Self {
            js,
            ack_wait,
            ensured: Mutex::new(HashMap::new()),
        }
    }

    fn ensured(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, LineSpec>> {
        self.ensured.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Create the line's consumer, or update its filters (always asks the
    /// server).
    pub async fn ensure(&self, spec: &LineSpec) -> Result<PullConsumer, async_nats::Error> {
        let stream = self.js.get_stream(EVENTS_STREAM).await?;
        let consumer = stream.create_consumer(spec.config(self.ack_wait)).await?;
        self.ensured().insert(spec.webhook_id, spec.clone());
        Ok(consumer)
    }

    /// Make sure the line's consumer exists as `spec` says, unless this
    /// dispatcher already did.
    pub async fn ensure_known(&self, spec: &LineSpec) -> Result<(), async_nats::Error> {
        if self.ensured().get(&spec.webhook_id) == Some(spec) {
            return Ok(());
        }
        self.ensure(spec).await.map(|_| ())
    }

    /// Forget what was ensured (the next [`Self::ensure_known`] asks the
    /// server again): a consumer may have been deleted by another node.
    pub fn forget_all(&self) {
        self.ensured().clear();
    }

    /// Delete the line's consumer (its endpoint is gone).
    pub async fn delete(&self, webhook_id: Uuid) {
        self.ensured().remove(&webhook_id);
        let deleted = async {
            let stream = self.js.get_stream(EVENTS_STREAM).await?;
            stream.delete_consumer(&fifo_consumer(webhook_id)).await?;
            Ok::<_, async_nats::Error>(())
        };
        match deleted.await {
            Ok(()) => tracing::info!(%webhook_id, "FIFO line removed."),
            Err(error) => {
                tracing::debug!(%error, %webhook_id, "FIFO consumer not deleted (gone already?).")
            }
        }
    }
}
