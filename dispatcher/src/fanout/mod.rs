//! Fan-out: events from the `fanout` consumer become delivery jobs.
//!
//! Events are pulled in batches and handled in groups, up to
//! [`GROUPS_IN_FLIGHT`] groups at once (this module). For each group
//! ([`group`]): one query for the tenants' active endpoints (so an endpoint
//! committed before an event was accepted is always seen), one `INSERT ...
//! SELECT FROM UNNEST ... ON CONFLICT DO NOTHING` for its delivery rows (a
//! redelivered event re-uses its rows), then one job per (event, endpoint)
//! that [`plan`] says needs one, published asynchronously with
//! `Nats-Msg-Id: <event>.<webhook>`, or started here at once ([`direct`]).
//! An event is acked only after JetStream has stored every one of its jobs
//! and every direct attempt of it is recorded.

pub mod direct;
mod group;
mod outcome;
pub mod plan;

use crate::endpoints_cache::EndpointsCache;
use crate::fifo::registry::LineConsumers;
use async_nats::jetstream::consumer::pull::Batch;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::Message;
use deadpool_postgres::Pool;
use futures::StreamExt;
use herald_common::jetstream::{in_progress, progress};
use herald_common::shutdown::{self, CancellationToken};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;

/// How long a pull request waits on the server for events.
const PULL_EXPIRES: Duration = Duration::from_secs(1);
/// Groups of events being fanned out at once by one dispatcher.
const GROUPS_IN_FLIGHT: usize = 2;
/// How long a failed event waits before it comes back, and the pause
/// after a failed pull.
const RETRY_LATER: Duration = Duration::from_secs(1);
/// The pause after a pull that ended with an error status.
const ERROR_PAUSE: Duration = Duration::from_millis(100);
/// Delivery-job PubAcks awaited at once per group (see
/// `herald_common::jetstream::PubAcks`).
const MAX_PENDING_ACKS: usize = 1_024;

pub struct Fanout {
    pub js: async_nats::jetstream::Context,
    pub pool: Pool,
    pub cache: Arc<EndpointsCache>,
    pub batch: usize,
    /// The consumer's ack wait: events held longer are kept in progress.
    pub ack_wait: Duration,
    /// FIFO lines' consumers, made sure of before their events are acked.
    pub lines: Arc<LineConsumers>,
    /// Start first attempts here when their endpoint has room
    /// (`HERALD_DIRECT_FIRST_ATTEMPT`); `None`: every attempt is a job.
    pub direct: Option<direct::Direct>,
}

/// The groups being fanned out: at most [`GROUPS_IN_FLIGHT`] at once.
struct Groups {
    slots: Arc<Semaphore>,
    tasks: TaskTracker,
}

impl Fanout {
    /// Pull events until shutdown. A group goes to Postgres and JetStream as
    /// soon as one of [`GROUPS_IN_FLIGHT`] slots is free; events arriving
    /// while every slot is busy form the next group. So an event alone waits
    /// for nothing, and under load the groups (and the statements) grow.
    pub async fn run(self, consumer: PullConsumer, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let groups = Groups {
            slots: Arc::new(Semaphore::new(GROUPS_IN_FLIGHT)),
            tasks: TaskTracker::new(),
        };
        while !shutdown.is_cancelled() {
            let pull = consumer
                .batch()
                .max_messages(this.batch)
                .expires(PULL_EXPIRES)
                .messages();
            let pause = match pull.await {
                Ok(batch) => this.consume(batch, &groups).await,
                Err(error) => {
                    tracing::warn!(%error, "Could not pull events.");
                    Some(RETRY_LATER)
                }
            };
            // e.g. a leader change: do not spin on a failing consumer.
            if let Some(pause) = pause {
                if !shutdown::sleep(&shutdown, pause).await {
                    break;
                }
            }
        }
        groups.tasks.close();
        groups.tasks.wait().await;
        tracing::debug!("Fan-out stopped.");
    }

    /// Consume one pull to its end (nothing it delivers may be left behind),
    /// starting a group whenever a slot is free. Returns a pause if the pull
    /// ended with an error status.
    async fn consume(self: &Arc<Self>, mut batch: Batch, groups: &Groups) -> Option<Duration> {
        let mut group: Vec<Message> = Vec::new();
        let mut pause = None;
        loop {
            tokio::select! {
                biased;
                next = batch.next() => match next {
                    Some(Ok(msg)) => {
                        group.push(msg);
                        if group.len() >= self.batch {
                            self.start(groups, std::mem::take(&mut group)).await;
                        }
                    }
                    Some(Err(error)) => {
                        tracing::debug!(%error, "Pull ended with a status.");
                        pause = Some(ERROR_PAUSE);
                        break;
                    }
                    None => break,
                },
                Ok(slot) = groups.slots.clone().acquire_owned(), if !group.is_empty() => {
                    self.spawn(groups, std::mem::take(&mut group), slot);
                }
            }
        }
        if !group.is_empty() {
            self.start(groups, group).await;
        }
        pause
    }

    /// Process `group` in the background once a slot is free. Its first
    /// events may have waited up to a pull's length already: their ack wait
    /// restarts now, and they are kept in progress while every slot is busy.
    async fn start(self: &Arc<Self>, groups: &Groups, group: Vec<Message>) {
        progress(&group).await;
        let free = groups.slots.clone().acquire_owned();
        let Ok(slot) = in_progress(&group, self.ack_wait, free).await else {
            return; // never closed
        };
        self.spawn(groups, group, slot);
    }

    /// Process `group` in the background, holding `slot` until it is done.
    fn spawn(self: &Arc<Self>, groups: &Groups, group: Vec<Message>, slot: OwnedSemaphorePermit) {
        let this = self.clone();
        groups.tasks.spawn(async move {
            this.process(group).await;
            drop(slot);
        });
    }
}
