//! The attempt log: every attempt, and the delivery's new status, reach
//! Postgres before the job is acked.
//!
//! Concurrent deliveries hand their records to one writer task through a
//! bounded channel; the writer takes everything that is waiting (up to
//! [`MAX_BATCH`]) and writes it in **one transaction** of a few multi-row
//! statements (`UNNEST` arrays, see [`batch`] and the [`crate::store`]
//! modules): the attempts, the delivery updates, parked deliveries, the
//! endpoints' `failing_since`, endpoints disabled by a `410`, and the
//! operational events those transitions make ([`crate::operational`]). Only after
//! the commit does each delivery task hear "recorded" and ack its job. While
//! Postgres is down the writer holds the batch and retries; the channel fills
//! and delivery tasks wait, so nothing unrecorded is acked.

pub mod batch;
pub mod record;

pub use record::{AttemptRecord, Record};

use crate::control::{self, DisableReason};
use crate::endpoints_cache::EndpointsCache;
use crate::operational::{self, Emitter};
use crate::store::endpoints::Disabled;
use crate::store::events::{self as stored_events, NewEvent};
use crate::store::{attempts, deliveries, endpoints, StoreError};
use batch::Batch;
use chrono::Utc;
use deadpool_postgres::Pool;
use herald_common::backoff::Backoff;
use herald_common::metrics::ATTEMPT_LOG_FLUSH_SECONDS;
use herald_common::operational::DisabledBy;
use herald_common::shutdown::CancellationToken;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Flushing again while Postgres is down.
const FLUSH_RETRY: Backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
/// The most records written in one transaction.
pub const MAX_BATCH: usize = 512;
const CHANNEL: usize = 4096;

/// A record and the delivery task waiting for its commit.
struct Pending {
    record: Record,
    recorded: oneshot::Sender<()>,
}

/// The handle delivery tasks use. Dropping every handle ends the writer after
/// it has flushed what it holds.
#[derive(Clone)]
pub struct AttemptLog {
    tx: mpsc::Sender<Pending>,
}

impl AttemptLog {
    /// Hand a record to the writer and wait until it is committed. `false`
    /// if it could not be recorded (shutdown gave up on Postgres): do not ack.
    pub async fn record(&self, record: Record) -> bool {
        let (recorded, committed) = oneshot::channel();
        let pending = Pending { record, recorded };
        if self.tx.send(pending).await.is_err() {
            return false;
        }
        committed.await.is_ok()
    }
}

/// What the writer needs besides its channel.
pub struct Writer {
    pub pool: Pool,
    pub nats: async_nats::Client,
    pub dispatcher_id: String,
    /// Told at once about endpoints this writer disabled.
    pub cache: Arc<EndpointsCache>,
    /// Cancelled when shutdown stops waiting for Postgres: a batch that
    /// still cannot be written is dropped (its jobs are not acked, so
    /// JetStream redelivers them).
    pub give_up: CancellationToken,
    /// Publishes the operational events a batch stored.
    pub emitter: Emitter,
}

pub fn spawn(writer: Writer) -> (AttemptLog, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(CHANNEL);
    let handle = tokio::spawn(writer.run(rx));
    (AttemptLog { tx }, handle)
}

impl Writer {
    async fn run(self, mut rx: mpsc::Receiver<Pending>) {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            self.write(batch).await;
        }
        tracing::debug!("Attempt log closed.");
    }

    /// Write `pending` in one transaction, retrying with backoff until it is
    /// committed (then wake the waiting tasks) or shutdown gives up.
    async fn write(&self, pending: Vec<Pending>) {
        let (records, waiters): (Vec<Record>, Vec<oneshot::Sender<()>>) =
            pending.into_iter().map(|p| (p.record, p.recorded)).unzip();
        let batch = batch::build(&records, Utc::now());
        let written = FLUSH_RETRY
            .retry(
                "Attempt log flush failed",
                &self.give_up,
                |_| false,
                || async {
                    let started = Instant::now();
                    let written = write(&self.pool, &self.dispatcher_id, &batch, &records).await?;
                    metrics::histogram!(ATTEMPT_LOG_FLUSH_SECONDS)
                        .record(started.elapsed().as_secs_f64());
                    Ok::<_, StoreError>(written)
                },
            )
            .await;
        let Ok(Written { disabled, events }) = written else {
            tracing::error!(
                records = records.len(),
                "Giving up on the attempt log at shutdown; the jobs stay unacked."
            );
            return;
        };
        tracing::debug!(records = records.len(), "Attempt log flushed.");
        for w in waiters {
            let _ = w.send(());
        }
        control::disabled(&self.nats, &self.cache, &disabled, DisableReason::Gone).await;
        self.emitter.publish(events);
    }
}

/// What a committed batch changed beyond its deliveries.
struct Written {
    /// Endpoints it disabled.
    disabled: Vec<Disabled>,
    /// The operational events it stored, to publish.
    events: Vec<NewEvent>,
}

/// Write `batch` (made of `records`) in one transaction, its statements
/// pipelined on one connection (one round trip for all of them, not one
/// each), then the operational events of its transitions, if any.
#[tracing::instrument(skip_all, fields(attempts = batch.attempts.len()))]
async fn write(
    pool: &Pool,
    dispatcher_id: &str,
    batch: &Batch<'_>,
    records: &[Record],
) -> Result<Written, StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    // Endpoint rows before delivery rows (each in id order), the order an
    // endpoint delete locks them in: the other order deadlocked with it (the
    // delete holds the endpoint and waits for its delivery rows while this
    // transaction holds them and waits for the endpoint).
    let (_, disabled, _, transitions, _) = futures::try_join!(
        endpoints::update_failing_since(&tx, &batch.results),
        endpoints::disable(&tx, &batch.disables),
        attempts::insert(&tx, dispatcher_id, &batch.attempts),
        deliveries::update(&tx, &batch.updates),
        deliveries::park(&tx, &batch.parks),
    )?;
    let mut ops = operational::disabled(&disabled, DisabledBy::Gone);
    ops.extend(operational::deliveries(&transitions, records));
    let now = Utc::now();
    let events: Vec<NewEvent> = ops
        .into_iter()
        .map(|op| operational::new_event(op, now))
        .collect();
    stored_events::insert(&tx, &events).await?;
    tx.commit().await?;
    Ok(Written { disabled, events })
}
