//! Publishing to JetStream: every message carries a `Nats-Msg-Id` (so a
//! repeat within the duplicate window is dropped by the server), and its
//! PubAck is awaited through a [`PubAcks`] that bounds how many are
//! outstanding.
//!
//! Why the bound: the JetStream context lends each publish one of its 5,000
//! ack permits (async-nats's `max_ack_inflight`) until the ack is awaited or
//! dropped. Publishing more than that before awaiting any ack waits forever
//! for a permit, and the permits are shared by everything publishing through
//! one context. So every publisher has a limit, and the limits of one
//! context add up to less than 5,000: in ingest the fast path (4,096), the
//! outbox relay (500) and manual re-sends (256); in a dispatcher the
//! fan-out (1,024 per group, two groups at once) and the retry scheduler
//! (1,024).
//!
//! Acks are awaited as they come (a `FuturesUnordered`), so a slow ack never
//! holds up the publishes behind it.

use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use async_nats::jetstream::context::{PublishAckFuture, PublishError};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::Context;
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};

/// One message to publish.
pub struct Outgoing {
    subject: String,
    message: PublishMessage,
}

impl Outgoing {
    /// A message for `subject` with `Nats-Msg-Id: msg_id`.
    pub fn new(subject: String, msg_id: &str, payload: Bytes) -> Self {
        let message = PublishMessage::build().payload(payload).message_id(msg_id);
        Self { subject, message }
    }

    /// Add a header.
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.message = self.message.header(name, value);
        self
    }
}

/// A PubAck (or its failure), with the caller's key for the message.
#[derive(Debug)]
pub struct Acked<K> {
    pub key: K,
    pub result: Result<PublishAck, PublishError>,
}

type AckFuture = <PublishAckFuture as IntoFuture>::IntoFuture;

/// An outstanding PubAck and its key.
struct Pending<K> {
    key: Option<K>,
    ack: AckFuture,
}

impl<K: Unpin> Future for Pending<K> {
    type Output = Acked<K>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Acked<K>> {
        let result = std::task::ready!(self.ack.as_mut().poll(cx));
        match self.key.take() {
            Some(key) => Poll::Ready(Acked { key, result }),
            None => Poll::Pending, // polled after completion: never again
        }
    }
}

/// Publishes with at most `limit` PubAcks outstanding; completed acks come
/// back, with their keys, as they arrive.
pub struct PubAcks<K> {
    js: Context,
    limit: usize,
    pending: FuturesUnordered<Pending<K>>,
    /// Acks that completed while [`PubAcks::publish`] waited for room.
    done: VecDeque<Acked<K>>,
}

impl<K: Unpin> PubAcks<K> {
    pub fn new(js: Context, limit: usize) -> Self {
        Self {
            js,
            limit: limit.max(1),
            pending: FuturesUnordered::new(),
            done: VecDeque::new(),
        }
    }

    /// Acks awaited now.
    pub fn outstanding(&self) -> usize {
        self.pending.len()
    }

    /// `limit` acks are outstanding: the next publish would wait.
    pub fn is_full(&self) -> bool {
        self.pending.len() >= self.limit
    }

    /// Nothing outstanding and nothing completed left to take.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.done.is_empty()
    }

    /// Send `message`, first waiting (and keeping the acks that complete
    /// meanwhile, see [`PubAcks::completed`]) while `limit` are outstanding.
    /// An error means it was not sent (no ack will come for it).
    pub async fn publish(&mut self, key: K, message: Outgoing) -> Result<(), PublishError> {
        while self.is_full() {
            match self.pending.next().await {
                Some(acked) => self.done.push_back(acked),
                None => break,
            }
        }
        let ack = self
            .js
            .send_publish(message.subject, message.message)
            .await?;
        self.pending.push(Pending {
            key: Some(key),
            ack: ack.into_future(),
        });
        Ok(())
    }

    /// The acks that completed while publishing waited, without waiting.
    pub fn completed(&mut self) -> impl Iterator<Item = Acked<K>> + '_ {
        self.done.drain(..)
    }

    /// The next completed ack; `None` when nothing is outstanding. Safe to
    /// use in `select!`.
    pub async fn next(&mut self) -> Option<Acked<K>> {
        match self.done.pop_front() {
            Some(acked) => Some(acked),
            None => self.pending.next().await,
        }
    }

    /// Wait for every outstanding ack; every ack not yet taken.
    pub async fn flush(&mut self) -> Vec<Acked<K>> {
        let mut all: Vec<Acked<K>> = self.done.drain(..).collect();
        while let Some(acked) = self.pending.next().await {
            all.push(acked);
        }
        all
    }
}
