//! The fast path to JetStream: events just committed are published at once,
//! with many PubAcks outstanding (bounded), and marked `published_at` in
//! batches. Nothing here is needed for safety: an event that is not marked
//! (NATS down, queue full, process killed) stays in the outbox and the relay
//! publishes it; `Nats-Msg-Id` makes a second publish harmless.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::context::PublishError;
use deadpool_postgres::Pool;
use herald_common::jetstream::{Outgoing, PubAcks};
use herald_common::messages::EventMessage;
use herald_common::subjects::event_subject;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::store::events::{self, Event};

/// Events waiting to be published; beyond this they are left to the relay.
const QUEUE: usize = 50_000;
/// Bytes of events waiting to be published (payloads and names), so large
/// payloads cannot grow the queue past what a node should hold in memory;
/// beyond this they are left to the relay.
const QUEUE_BYTES: usize = 16 * 1024 * 1024;
/// PubAcks awaited at once (see `herald_common::jetstream::PubAcks`).
const MAX_OUTSTANDING: usize = 4_096;
/// How often acknowledged events are marked published.
const MARK_EVERY: Duration = Duration::from_millis(50);
const MARK_BATCH: usize = 2_000;

#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<Event>,
    queued: Arc<Queued>,
}

/// Bytes of the events in the queue.
#[derive(Default)]
struct Queued(AtomicUsize);

impl Queued {
    /// Count `e` in if it fits under [`QUEUE_BYTES`].
    fn admit(&self, e: &Event) -> bool {
        let n = size(e);
        let before = self.0.fetch_add(n, Ordering::Relaxed);
        if before + n > QUEUE_BYTES {
            self.release(e);
            return false;
        }
        true
    }

    fn release(&self, e: &Event) {
        self.0.fetch_sub(size(e), Ordering::Relaxed);
    }
}

/// What an event holds in memory, roughly.
fn size(e: &Event) -> usize {
    e.payload.len() + e.tenant_id.len() + e.event_type.len() + 128
}

/// Why an event could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishFailure {
    #[error("could not encode the event: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("JetStream publish failed: {0}")]
    Publish(#[from] PublishError),
}

/// Send one event to `herald.events.<tenant>.<type>` with `Nats-Msg-Id` =
/// its id; its PubAck comes back from `acks`, keyed by the id.
pub async fn publish_event(acks: &mut PubAcks<Uuid>, e: &Event) -> Result<(), PublishFailure> {
    let msg = EventMessage {
        id: e.id,
        tenant_id: e.tenant_id.clone(),
        event_type: e.event_type.clone(),
        created_at: e.created_at,
        payload: serde_json::value::RawValue::from_string(e.payload.clone())?,
    };
    let body = serde_json::to_vec(&msg)?;
    let subject = event_subject(&e.tenant_id, &e.event_type);
    let message = Outgoing::new(subject, &e.id.to_string(), body.into());
    Ok(acks.publish(e.id, message).await?)
}

impl Publisher {
    /// Start the publisher task; it ends when every handle is dropped,
    /// after a bounded wait for outstanding acks.
    pub fn spawn(
        js: jetstream::Context,
        nats: async_nats::Client,
        db: Pool,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let queued = Arc::new(Queued::default());
        let task = tokio::spawn(run(js, nats, db, rx, queued.clone()));
        (Self { tx, queued }, task)
    }

    /// Queue freshly committed events; never waits. Events that do not fit
    /// (by count or by bytes) are left to the outbox relay.
    pub fn offer(&self, events: Vec<Event>) {
        for e in events {
            if !self.queued.admit(&e) {
                break;
            }
            if let Err(refused) = self.tx.try_send(e) {
                self.queued.release(&refused.into_inner());
                break;
            }
        }
    }
}

fn spawn_mark(db: &Pool, ids: &mut Vec<Uuid>) {
    if ids.is_empty() {
        return;
    }
    let ids = std::mem::take(ids);
    let db = db.clone();
    tokio::spawn(async move {
        if let Err(error) = events::mark_published(&db, &ids).await {
            // The relay will publish them again; JetStream drops the repeats.
            tracing::debug!(?error, n = ids.len(), "Could not mark events published.");
        }
    });
}

async fn run(
    js: jetstream::Context,
    nats: async_nats::Client,
    db: Pool,
    mut rx: mpsc::Receiver<Event>,
    queued: Arc<Queued>,
) {
    let mut acks = PubAcks::new(js, MAX_OUTSTANDING);
    let mut acked: Vec<Uuid> = Vec::new();
    let mut tick = tokio::time::interval(MARK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut open = true;
    while open || !acks.is_empty() {
        tokio::select! {
            item = rx.recv(), if open && !acks.is_full() => match item.inspect(|e| queued.release(e)) {
                None => open = false,
                // While disconnected, leave events to the relay rather
                // than filling the client's buffer.
                Some(e) if nats.connection_state() == async_nats::connection::State::Connected => {
                    if let Err(error) = publish_event(&mut acks, &e).await {
                        tracing::debug!(%error, event_id = %e.id, "Publish failed; the relay will retry.");
                    }
                }
                Some(_) => {}
            },
            Some(done) = acks.next(), if !acks.is_empty() => match done.result {
                Ok(_) => {
                    acked.push(done.key);
                    if acked.len() >= MARK_BATCH {
                        spawn_mark(&db, &mut acked);
                    }
                }
                Err(error) => tracing::debug!(%error, event_id = %done.key, "No PubAck; the relay will retry."),
            },
            _ = tick.tick() => spawn_mark(&db, &mut acked),
        }
    }
    if !acked.is_empty() {
        if let Err(error) = events::mark_published(&db, &acked).await {
            tracing::debug!(?error, "Could not mark events published at shutdown.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{size, Queued, QUEUE_BYTES};
    use crate::store::events::Event;

    fn event(payload_bytes: usize) -> Event {
        Event {
            id: uuid::Uuid::now_v7(),
            tenant_id: "t".into(),
            event_type: "order.created".into(),
            payload: "x".repeat(payload_bytes),
            idempotency_key: None,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_queue_admits_events_up_to_its_bytes_and_room_comes_back_on_release() {
        let queued = Queued::default();
        let big = event(QUEUE_BYTES / 4);
        let admitted = (0..8).take_while(|_| queued.admit(&big)).count();
        assert_eq!(
            admitted, 3,
            "three quarters plus overhead fit, a fourth does not"
        );
        assert_eq!(
            queued.0.load(std::sync::atomic::Ordering::Relaxed),
            3 * size(&big)
        );
        let small = event(100);
        assert!(queued.admit(&small), "a small event still fits");
        queued.release(&big);
        assert!(queued.admit(&big), "room came back");
    }
}
