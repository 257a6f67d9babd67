//! Delivery: jobs from the `deliver` consumer become signed HTTP requests.
//!
//! The puller takes concurrency permits (`HERALD_DISPATCHER_CONCURRENCY`)
//! *before* it pulls, and asks JetStream for exactly as many jobs as it holds
//! permits, so this dispatcher never holds a job it cannot start. Each job runs
//! in its own task (see [`job`]); on shutdown the puller stops pulling and NAKs
//! (no delay) whatever its last pull still brings.
//!
//! A job is admitted by its endpoint ([`admission`]), its request built and
//! signed ([`request`], pure), sent ([`http`], the only code that touches
//! hyper, through the SSRF-pinning [`connector`]), and its result judged
//! ([`judge`] and [`outcome`], pure).

pub mod admission;
pub mod connector;
pub mod http;
pub mod job;
pub mod judge;
pub mod outcome;
pub mod request;

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::AckKind;
use futures::StreamExt;
use herald_common::shutdown::CancellationToken;
use job::JobContext;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
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
        loop {
            let first = tokio::select! {
                _ = shutdown.cancelled() => break,
                p = self.concurrency.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let mut permits = vec![first];
            while permits.len() < self.batch {
                match self.concurrency.clone().try_acquire_owned() {
                    Ok(p) => permits.push(p),
                    Err(_) => break,
                }
            }
            let pull = consumer
                .batch()
                .max_messages(permits.len())
                .expires(PULL_EXPIRES)
                .messages()
                .await;
            let mut jobs = match pull {
                Ok(jobs) => jobs,
                Err(error) => {
                    tracing::warn!(%error, "Could not pull delivery jobs.");
                    drop(permits);
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(PULL_EXPIRES) => continue,
                    }
                }
            };
            let mut ended_with_error = false;
            while let Some(next) = jobs.next().await {
                let msg = match next {
                    Ok(msg) => msg,
                    Err(error) => {
                        tracing::debug!(%error, "Pull ended with a status.");
                        ended_with_error = true;
                        break;
                    }
                };
                match (shutdown.is_cancelled(), permits.pop()) {
                    (false, Some(permit)) => {
                        let ctx = self.ctx.clone();
                        tasks.spawn(async move { ctx.handle(msg, permit).await });
                    }
                    _ => {
                        if let Err(error) = msg.ack_with(AckKind::Nak(None)).await {
                            tracing::warn!(%error, "Could not return a job.");
                        }
                    }
                }
            }
            drop(permits);
            if ended_with_error {
                // e.g. a leader change: do not spin on a failing consumer.
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(ERROR_PAUSE) => {}
                }
            }
        }
        tracing::debug!("Delivery puller stopped.");
    }
}
