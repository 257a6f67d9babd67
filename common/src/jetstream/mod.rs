//! JetStream, the way both binaries use it: [`provision`] the streams and
//! consumers, publish with `Nats-Msg-Id` and a bounded number of PubAcks
//! outstanding ([`PubAcks`]), [`ack`] what was consumed, and keep what is
//! still being worked on [`in_progress`].

mod provision;
mod publish;
mod streams;

pub use provision::*;
pub use publish::{Acked, Outgoing, PubAcks};
pub use streams::*;

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{AckKind, Message};

/// Acknowledge a consumed message with `kind` (ack, NAK with or without a
/// delay, in progress, terminate). A failure is only logged: an
/// unacknowledged message comes back after the ack wait anyway.
pub async fn ack(msg: &Message, kind: AckKind) {
    if let Err(error) = msg.ack_with(kind).await {
        tracing::warn!(%error, subject = %msg.subject, ?kind, "Could not acknowledge a message.");
    }
}

/// The least time between two in-progress acks of one message.
const MIN_PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Run `work`, telling JetStream every third of the ack wait that each of
/// `msgs` is still being worked on (`AckKind::Progress`, which restarts its
/// ack wait). So the ack wait only has to cover a *dead* consumer: a live
/// one keeps a slow request, a slow Postgres or a long wait for a slot from
/// sending its messages to another consumer (a duplicate). Work shorter
/// than a third of the ack wait sends nothing. A third, not a half: a
/// message may go through two of these in a row (a wait for a slot, then
/// the work), and the count of the second starts over.
pub async fn in_progress<T>(
    msgs: &[Message],
    ack_wait: Duration,
    work: impl Future<Output = T>,
) -> T {
    tokio::pin!(work);
    let every = (ack_wait / 3).max(MIN_PROGRESS_EVERY);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = tokio::time::sleep(every) => {
                progress(msgs).await;
            }
        }
    }
}

/// Tell JetStream at once that each of `msgs` is still being worked on.
pub async fn progress(msgs: &[Message]) {
    for msg in msgs {
        ack(msg, AckKind::Progress).await;
    }
}
