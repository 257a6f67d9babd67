//! What became of a group's deliveries ([`Fanned`]: jobs stored, first
//! attempts started), and settling its events: ack the ones all of whose
//! deliveries are under way, return the others.

use super::RETRY_LATER;
use async_nats::jetstream::{AckKind, Message};
use herald_common::jetstream::ack;
use herald_common::messages::EventMessage;
use herald_common::metrics::FANOUT_EVENTS_TOTAL;
use tokio::task::JoinHandle;

/// What became of a group's deliveries: per event, whether every job of it
/// is stored, and the first attempts started directly.
pub(super) struct Fanned {
    pub stored: Vec<bool>,
    pub started: Vec<Started>,
}

/// A first attempt under way for event `event` of a group; `true` from
/// `handle` once it is recorded.
pub(super) struct Started {
    pub event: usize,
    pub handle: JoinHandle<bool>,
}

/// Ack each event whose deliveries are all under way (`stored`), and
/// return the others to come back later.
pub(super) async fn settle(messages: &[Message], events: &[EventMessage], stored: &[bool]) {
    for ((msg, event), ok) in messages.iter().zip(events).zip(stored) {
        settle_one(msg, event, *ok).await;
    }
}

/// Ack `msg` if every delivery of its event is under way (`ok`), else
/// return it to come back later.
pub(super) async fn settle_one(msg: &Message, event: &EventMessage, ok: bool) {
    if ok {
        ack(msg, AckKind::Ack).await;
        metrics::counter!(FANOUT_EVENTS_TOTAL).increment(1);
    } else {
        tracing::debug!(event_id = %event.id, "Event will be fanned out again.");
        ack(msg, AckKind::Nak(Some(RETRY_LATER))).await;
    }
}
