//! JetStream, the way both binaries use it: [`provision`] the streams and
//! consumers, publish with `Nats-Msg-Id` and a bounded number of PubAcks
//! outstanding ([`PubAcks`]), and [`ack`] what was consumed.

mod provision;
mod publish;
mod streams;

pub use provision::*;
pub use publish::{Acked, Outgoing, PubAcks};
pub use streams::*;

use async_nats::jetstream::{AckKind, Message};

/// Acknowledge a consumed message with `kind` (ack, NAK with or without a
/// delay, in progress, terminate). A failure is only logged: an
/// unacknowledged message comes back after the ack wait anyway.
pub async fn ack(msg: &Message, kind: AckKind) {
    if let Err(error) = msg.ack_with(kind).await {
        tracing::warn!(%error, subject = %msg.subject, ?kind, "Could not acknowledge a message.");
    }
}
