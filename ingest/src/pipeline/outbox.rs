//! The outbox relay: re-publishes events that are committed in Postgres but
//! not acknowledged by JetStream (NATS was down, the queue was full, or an
//! ingest node died between commit and publish), oldest first, and marks
//! them published in batches.
//!
//! Several ingest nodes run it at once safely: a batch is claimed with
//! `FOR UPDATE SKIP LOCKED`, so two relays never hold the same events, and
//! `Nats-Msg-Id` = event id lets JetStream drop a repeat of what the fast
//! path already published.

use std::time::Duration;

use async_nats::jetstream;
use deadpool_postgres::Pool;
use herald_common::backoff::Backoff;
use herald_common::jetstream::PubAcks;
use herald_common::metrics::{OUTBOX_PENDING, OUTBOX_PUBLISHED_TOTAL};
use herald_common::shutdown::{self, CancellationToken};
use uuid::Uuid;

use super::publisher::publish_event;
use crate::store::events::{self, Event};
use crate::store::{self, StoreError};

/// Events claimed per round.
pub const BATCH: i64 = 500;
/// Younger events are left to the fast path.
const GRACE: Duration = Duration::from_secs(2);
/// Longest wait between rounds while publishing keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Outbox {
    pub db: Pool,
    pub js: jetstream::Context,
    pub nats: async_nats::Client,
    pub interval: Duration,
    /// Only events at least this old are re-published.
    pub grace: Duration,
}

/// Why a relay round stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// JetStream did not acknowledge every claimed event (they stay in the
    /// outbox for the next round).
    #[error("JetStream acknowledged {} of {} claimed events", .0.published, .0.claimed)]
    Unacknowledged(Round),
}

/// The result of one round.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub published: usize,
}

impl Outbox {
    pub fn new(
        db: Pool,
        js: jetstream::Context,
        nats: async_nats::Client,
        interval: Duration,
    ) -> Self {
        Self {
            db,
            js,
            nats,
            interval,
            grace: GRACE,
        }
    }

    /// Committed events not yet acknowledged by JetStream.
    pub async fn pending(&self) -> Result<i64, StoreError> {
        events::count_unpublished(&self.db).await
    }

    /// One round: claim the oldest due unpublished events, publish them in
    /// creation order, mark the acknowledged ones. [`Outbox::run`] calls it
    /// on a timer; tests call it directly to drive the relay step by step.
    pub async fn step(&self) -> Result<Round, StoreError> {
        let mut client = store::client(&self.db).await?;
        let claim = events::claim_unpublished(&mut client, self.grace, BATCH).await?;
        let acked = publish_in_order(&self.js, &claim.events).await;
        let claimed = claim.events.len();
        claim.finish(&acked).await?;
        metrics::counter!(OUTBOX_PUBLISHED_TOTAL).increment(acked.len() as u64);
        Ok(Round {
            claimed,
            published: acked.len(),
        })
    }

    /// Rounds until the outbox is drained or a round fails.
    async fn drain(&self) -> Result<(), RelayError> {
        loop {
            let round = self.step().await?;
            if round.published > 0 {
                tracing::info!(n = round.published, "Relay published outbox events.");
            }
            if round.published < round.claimed {
                return Err(RelayError::Unacknowledged(round));
            }
            if round.claimed < BATCH as usize {
                return Ok(());
            }
        }
    }

    /// Run until `shutdown`: every `interval`, update `herald_outbox_pending`
    /// and drain the outbox; back off (from twice the interval up to 5 s)
    /// while publishing fails.
    pub async fn run(self, shutdown: CancellationToken) {
        let backoff = Backoff::new(self.interval * 2, MAX_BACKOFF.max(self.interval));
        let mut failures = backoff.delays();
        let mut delay = self.interval;
        while shutdown::sleep(&shutdown, delay).await {
            match self.pending().await {
                Ok(n) => metrics::gauge!(OUTBOX_PENDING).set(n as f64),
                Err(error) => tracing::debug!(?error, "Could not count the outbox."),
            }
            if self.nats.connection_state() != async_nats::connection::State::Connected {
                continue;
            }
            match self.drain().await {
                Ok(()) => {
                    delay = self.interval;
                    failures = backoff.delays();
                }
                Err(error) => {
                    delay = failures.next_delay();
                    tracing::warn!(?error, retry_in = ?delay, "Outbox relay round failed.");
                }
            }
        }
    }
}

/// Send `events` in order (stopping at the first that cannot be sent), then
/// await every PubAck; the ids JetStream acknowledged.
async fn publish_in_order(js: &jetstream::Context, events: &[Event]) -> Vec<Uuid> {
    let mut acks = PubAcks::new(js.clone(), BATCH as usize);
    for e in events {
        if let Err(error) = publish_event(&mut acks, e).await {
            tracing::debug!(%error, event_id = %e.id, "Relay publish failed.");
            break;
        }
    }
    let mut acked = Vec::with_capacity(events.len());
    for done in acks.flush().await {
        match done.result {
            Ok(_) => acked.push(done.key),
            Err(error) => tracing::debug!(%error, event_id = %done.key, "Relay got no PubAck."),
        }
    }
    acked
}
