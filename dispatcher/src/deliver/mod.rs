//! Delivery: jobs from the `deliver` consumer become signed HTTP requests.
//!
//! The puller takes concurrency permits (`HERALD_DISPATCHER_CONCURRENCY`)
//! *before* it pulls, and asks JetStream for exactly as many jobs as it holds
//! permits, so this dispatcher never holds a job it cannot start. Each job runs
//! in its own task (see [`job`]); on shutdown the puller stops pulling and NAKs
//! (no delay) whatever its last pull still brings.
//!
//! A job is admitted by its endpoint ([`admission`]), its request built and
//! signed ([`request`], pure; [`header_log`] keeps its headers), sent ([`http`], the only code that touches
//! hyper, through the SSRF-pinning [`connector`]), and its result judged
//! ([`judge`] and [`outcome`], pure).

pub mod admission;
pub mod connector;
pub mod header_log;
pub mod http;
pub mod job;
pub mod judge;
pub mod outcome;
pub mod request;

use async_nats::jetstream::consumer::pull::Batch;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::AckKind;
use futures::StreamExt;
use herald_common::jetstream::ack;
use herald_common::shutdown::{self, CancellationToken};
use job::JobContext;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;

const PULL_EXPIRES: Duration = Duration::from_secs(1);
const ERROR_PAUSE: Duration = Duration::from_millis(100);

pub struct Puller {
    pub ctx: Arc<JobContext>,
    pub concurrency: Arc<Semaphore>,
    pub batch: usize,
}

impl Puller {
    /// Pull and start jobs until shutdown; the tasks are tracked by `tasks`.
    pub async fn run(
        self,
        consumer: PullConsumer,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) {
        while let Some(permits) = self.permits(&shutdown).await {
            let pull = consumer
                .batch()
                .max_messages(permits.len())
                .expires(PULL_EXPIRES)
                .messages()
                .await;
            let pause = match pull {
                Ok(jobs) => self.start(jobs, permits, &shutdown, &tasks).await,
                Err(error) => {
                    tracing::warn!(%error, "Could not pull delivery jobs.");
                    Some(PULL_EXPIRES)
                }
            };
            // e.g. a leader change: do not spin on a failing consumer.
            if let Some(pause) = pause {
                if !shutdown::sleep(&shutdown, pause).await {
                    break;
                }
            }
        }
        tracing::debug!("Delivery puller stopped.");
    }

    /// Wait for one concurrency permit, then take as many more as are free
    /// (up to a batch); `None` at shutdown.
    async fn permits(&self, shutdown: &CancellationToken) -> Option<Vec<OwnedSemaphorePermit>> {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return None,
            p = self.concurrency.clone().acquire_owned() => p.ok()?,
        };
        let mut permits = vec![first];
        while permits.len() < self.batch {
            match self.concurrency.clone().try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => break,
            }
        }
        Some(permits)
    }

    /// Start a task per job of the pull, each with one of `permits`; after
    /// shutdown, return the jobs (NAK, no delay). Returns a pause if the pull
    /// ended with an error status.
    async fn start(
        &self,
        mut jobs: Batch,
        mut permits: Vec<OwnedSemaphorePermit>,
        shutdown: &CancellationToken,
        tasks: &TaskTracker,
    ) -> Option<Duration> {
        while let Some(next) = jobs.next().await {
            let msg = match next {
                Ok(msg) => msg,
                Err(error) => {
                    tracing::debug!(%error, "Pull ended with a status.");
                    return Some(ERROR_PAUSE);
                }
            };
            match (shutdown.is_cancelled(), permits.pop()) {
                (false, Some(permit)) => {
                    let ctx = self.ctx.clone();
                    tasks.spawn(async move { ctx.handle(msg, permit).await });
                }
                _ => ack(&msg, AckKind::Nak(None)).await,
            }
        }
        None
    }
}
