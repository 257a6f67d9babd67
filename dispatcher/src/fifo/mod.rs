//! FIFO endpoints: one delivery at a time, in the order JetStream accepted
//! their events, held while one fails (docs/dispatcher.md explains the
//! design).
//!
//! Each FIFO endpoint has its own durable consumer on `HERALD_EVENTS`
//! ([`consumer`]: filtered on the endpoint's tenant and types, starting at
//! its creation, `max_ack_pending = 1`), and fan-out leaves it out. Every
//! dispatcher runs a [`line`] for every FIFO endpoint it knows; JetStream
//! hands the one message in flight to one of them, and a message NAKed
//! for a retry, or left by a crashed dispatcher, to whichever pulls next.
//! [`Lines`] keeps the consumers and line tasks in step with the endpoint
//! cache: created when an endpoint appears, updated when its types change,
//! deleted with it. Fan-out makes sure of a line's consumer too before it
//! lets an event of the line go ([`registry`]).

pub mod consumer;
pub mod line;
pub mod registry;

use crate::deliver::job::JobContext;
use crate::endpoints_cache::EndpointsCache;
use crate::store::endpoints;
use async_nats::jetstream;
use consumer::LineSpec;
use deadpool_postgres::Pool;
use futures::TryStreamExt;
use herald_common::domain::Ordering;
use herald_common::shutdown::CancellationToken;
use herald_common::subjects::{EVENTS_STREAM, FIFO_CONSUMER_PREFIX};
use line::Line;
use registry::LineConsumers;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

/// How often every line's consumer is ensured again (one deleted by a
/// dispatcher with a stale view comes back) and consumers of deleted
/// endpoints are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How often the lines are compared with the cache without a change.
const RECHECK_EVERY: Duration = Duration::from_secs(5);

pub struct Lines {
    pub consumers: Arc<LineConsumers>,
    pub js: jetstream::Context,
    pub ctx: Arc<JobContext>,
    pub cache: Arc<EndpointsCache>,
    pub pool: Pool,
    /// Where line tasks run (drained like delivery jobs at shutdown).
    pub tasks: TaskTracker,
}

/// A line running in this dispatcher.
struct Running {
    spec: LineSpec,
    stop: CancellationToken,
}

impl Lines {
    /// Keep lines in step with the endpoints until shutdown.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut changes = self.cache.subscribe();
        let mut running: HashMap<Uuid, Running> = HashMap::new();
        let mut next_sweep = Instant::now();
        loop {
            let sweep = Instant::now() >= next_sweep;
            if sweep {
                next_sweep = Instant::now() + SWEEP_EVERY;
                running.values_mut().for_each(|r| r.spec.filters.clear());
                self.consumers.forget_all();
            }
            self.reconcile(&mut running, &shutdown).await;
            if sweep {
                self.sweep(&running).await;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = changes.changed() => {}
                _ = tokio::time::sleep(RECHECK_EVERY) => {}
            }
        }
        for r in running.values() {
            r.stop.cancel();
        }
    }

    /// Start, update and stop lines to match the cache's FIFO endpoints.
    async fn reconcile(&self, running: &mut HashMap<Uuid, Running>, shutdown: &CancellationToken) {
        let want: HashMap<Uuid, LineSpec> = self
            .cache
            .fifo()
            .iter()
            .map(|e| {
                let spec = LineSpec::new(e.id, &e.tenant_id, &e.event_types, e.created_at);
                (e.id, spec)
            })
            .collect();
        let gone: Vec<Uuid> = running
            .keys()
            .filter(|id| !want.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            if let Some(r) = running.remove(&id) {
                r.stop.cancel();
            }
            self.consumers.delete(id).await;
        }
        for (id, spec) in want {
            if running.get(&id).is_some_and(|r| r.spec == spec) {
                continue;
            }
            let consumer = match self.consumers.ensure(&spec).await {
                Ok(c) => c,
                Err(error) => {
                    tracing::warn!(%error, webhook_id = %id, "Could not create a FIFO line's consumer; retrying.");
                    continue;
                }
            };
            match running.get_mut(&id) {
                Some(r) => r.spec = spec,
                None => {
                    let stop = shutdown.child_token();
                    self.start(id, consumer, stop.clone());
                    running.insert(id, Running { spec, stop });
                }
            }
        }
    }

    fn start(
        &self,
        webhook_id: Uuid,
        consumer: jetstream::consumer::PullConsumer,
        stop: CancellationToken,
    ) {
        let line = Line {
            webhook_id,
            consumer,
            ctx: self.ctx.clone(),
            cache: self.cache.clone(),
            pool: self.pool.clone(),
        };
        self.tasks.spawn(line.run(stop));
        tracing::debug!(%webhook_id, "FIFO line started.");
    }

    /// Delete the consumers of FIFO endpoints that no longer exist (deleted
    /// while no dispatcher ran). Postgres decides, not this cache, so a
    /// dispatcher that has not heard of a new endpoint yet deletes nothing.
    async fn sweep(&self, running: &HashMap<Uuid, Running>) {
        let names: Vec<String> = match self.js.get_stream(EVENTS_STREAM).await {
            Ok(stream) => stream
                .consumer_names()
                .try_collect()
                .await
                .unwrap_or_default(),
            Err(_) => return,
        };
        for name in names {
            let Some(id) = name
                .strip_prefix(FIFO_CONSUMER_PREFIX)
                .and_then(|s| Uuid::parse_str(s).ok())
            else {
                continue;
            };
            if running.contains_key(&id) {
                continue;
            }
            match endpoints::one(&self.pool, id).await {
                Ok(Some(row)) if Ordering::parse(&row.ordering) == Ok(Ordering::Fifo) => {}
                Ok(_) => self.consumers.delete(id).await,
                Err(error) => {
                    tracing::debug!(%error, "Could not check a FIFO consumer's endpoint.")
                }
            }
        }
    }
}
