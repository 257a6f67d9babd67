//! Delivery: jobs from the `deliver` consumer become signed HTTP requests.
//!
//! The puller takes concurrency permits (`HERALD_DISPATCHER_CONCURRENCY`)
//! *before* it pulls, and asks JetStream for exactly as many jobs as it holds
//! permits, so this dispatcher never holds a job it cannot start (fan-out's
//! direct attempts may take a held permit meanwhile, see [`permits`]). Each job runs
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
pub mod permits;
pub mod request;

use async_nats::jetstream::consumer::pull::Batch;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::AckKind;
use futures::StreamExt;
use herald_common::jetstream::ack;
use herald_common::shutdown::{self, CancellationToken};
use job::JobContext;
use permits::{Permits, JOB_WAIT};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

const PULL_EXPIRES: Duration = Duration::from_secs(1);
const ERROR_PAUSE: Duration = Duration::from_millis(100);

pub struct Puller {
    pub ctx: Arc<JobContext>,
    pub permits: Arc<Permits>,
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
        while let Some(held) = self.permits.hold(self.batch, &shutdown).await {
            let pull = consumer
                .batch()
                .max_messages(held)
                .expires(PULL_EXPIRES)
                .messages()
                .await;
            let pause = match pull {
                Ok(jobs) => self.start(jobs, &shutdown, &tasks).await,
                Err(error) => {
                    tracing::warn!(%error, "Could not pull delivery jobs.");
                    Some(PULL_EXPIRES)
                }
            };
            self.permits.release_held();
            // e.g. a leader change: do not spin on a failing consumer.
            if let Some(pause) = pause {
                if !shutdown::sleep(&shutdown, pause).await {
                    break;
                }
            }
        }
        tracing::debug!("Delivery puller stopped.");
    }

    /// Start a task per job of the pull, each with a permit
    /// ([`Permits::for_job`]); after shutdown, or without a permit, return
    /// the job (NAK, no delay). Returns a pause if the pull ended with an
    /// error status.
    async fn start(
        &self,
        mut jobs: Batch,
        shutdown: &CancellationToken,
        tasks: &TaskTracker,
    ) -> Option<Duration> {
        let mut deadline = None;
        while let Some(next) = jobs.next().await {
            let msg = match next {
                Ok(msg) => msg,
                Err(error) => {
                    tracing::debug!(%error, "Pull ended with a status.");
                    return Some(ERROR_PAUSE);
                }
            };
            if shutdown.is_cancelled() {
                ack(&msg, AckKind::Nak(None)).await;
                continue;
            }
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + JOB_WAIT);
            match self.permits.for_job(deadline).await {
                Some(permit) => {
                    let ctx = self.ctx.clone();
                    tasks.spawn(async move { ctx.handle(msg, permit).await });
                }
                None => {
                    tracing::debug!(subject = %msg.subject, "No concurrency permit freed in time; returning the job.");
                    ack(&msg, AckKind::Nak(None)).await
                }
            }
        }
        None
    }
}
