//! Wiring: connect and build every part ([`build`]), spawn the tasks, wait
//! for the shutdown signal, drain in order.

mod build;

use crate::deliver::job::JobContext;
use crate::deliver::permits::Permits;
use crate::deliver::Puller;
use crate::fanout::direct::Direct;
use crate::fanout::Fanout;
use crate::fifo::registry::LineConsumers;
use crate::fifo::Lines;
use crate::integrity::IntegrityCheck;
use crate::retry::Scheduler;
use crate::server::{self, Health};
use crate::{control, gauges, housekeeping, DispatcherError};
use build::{build, connect, Node};
use herald_common::config::Config;
use herald_common::shutdown::CancellationToken;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

/// After the grace period, how long abandoned jobs get to NAK and recorded
/// attempts get to reach Postgres before the log gives up.
const FLUSH_DEADLINE: Duration = Duration::from_secs(10);

/// Run a dispatcher until `shutdown` is cancelled, serving `/metrics` and
/// `/healthz` on `metrics_listener`. Returns `Ok` after a graceful drain.
pub async fn run(
    config: Config,
    metrics_listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), DispatcherError> {
    let _ = herald_common::metrics::prometheus();
    let health = Arc::new(Health::default());
    let server_stop = CancellationToken::new();
    let server = tokio::spawn(server::serve(
        metrics_listener,
        health.clone(),
        server_stop.clone(),
    ));
    let result = run_nodes(&config, &health, &shutdown).await;
    server_stop.cancel();
    match server.await {
        Ok(Err(e)) if result.is_ok() => return Err(e.into()),
        _ => {}
    }
    result
}

async fn run_nodes(
    config: &Config,
    health: &Arc<Health>,
    shutdown: &CancellationToken,
) -> Result<(), DispatcherError> {
    let Some(links) = connect(config, shutdown).await? else {
        return Ok(());
    };
    let Some(node) = build(config, links, health, shutdown).await? else {
        return Ok(());
    };
    let endpoints = node.cache.len();
    let nats = node.links.nats.clone();
    let running = spawn(config, node, shutdown);
    health.ready.store(true, Ordering::SeqCst);
    tracing::info!(dispatcher_id = %config.dispatcher.id, endpoints, "Dispatcher running.");
    shutdown.cancelled().await;
    drain(config.dispatcher.shutdown_grace, running).await;
    // The last acks are still in the client's buffer: send them, or their
    // jobs come back to another dispatcher after the ack wait (duplicates).
    if tokio::time::timeout(FLUSH_DEADLINE, nats.flush())
        .await
        .is_err()
    {
        tracing::warn!("Could not flush the last acknowledgements to NATS.");
    }
    Ok(())
}

/// The later stages of a shutdown, after the shutdown signal itself.
#[derive(Clone, Default)]
struct Stops {
    /// The grace period is over: abandon requests still running.
    hard_stop: CancellationToken,
    /// Stop waiting for Postgres: unrecorded attempts stay unacked.
    give_up: CancellationToken,
}

/// What shutdown drains, in order.
struct Running {
    background: TaskTracker,
    jobs: TaskTracker,
    ctx: Arc<JobContext>,
    log_task: JoinHandle<()>,
    stops: Stops,
}

/// Start the background tasks and the consumers.
fn spawn(config: &Config, node: Node, shutdown: &CancellationToken) -> Running {
    let links = &node.links;
    let background = TaskTracker::new();
    background.spawn(control::keep_current(
        node.cache.clone(),
        node.notices,
        config.dispatcher.endpoint_refresh_interval,
        shutdown.clone(),
    ));
    let chores = housekeeping::Housekeeping {
        emitter: node.emitter.clone(),
        nats: links.nats.clone(),
        cache: node.cache.clone(),
        auto_disable_after: config.dispatcher.auto_disable_after,
        failing_after: config.dispatcher.endpoint_failing_after,
    };
    background.spawn(chores.run(shutdown.clone()));
    let integrity = IntegrityCheck {
        pool: links.pool.clone(),
        interval: config.dispatcher.integrity_check_interval,
    };
    background.spawn(integrity.run(shutdown.clone()));
    background.spawn(gauges::run(
        links.pool.clone(),
        vec![links.pool.clone(), links.hot.clone()],
        links.nats.clone(),
        links.js.clone(),
        shutdown.clone(),
    ));
    let scheduler = Scheduler {
        pool: links.pool.clone(),
        js: links.js.clone(),
        poll_interval: config.dispatcher.retry_poll_interval,
        lease: config.streams.claim_lease(),
        batch: config.dispatcher.fetch_batch,
    };
    background.spawn(scheduler.run(shutdown.clone()));
    let line_consumers = Arc::new(LineConsumers::new(
        links.js.clone(),
        config.streams.ack_wait,
    ));
    let jobs = TaskTracker::new();
    let permits = Arc::new(Permits::new(config.dispatcher.concurrency));
    let direct = config.dispatcher.direct_first_attempt.then(|| Direct {
        ctx: node.ctx.clone(),
        permits: permits.clone(),
        tasks: jobs.clone(),
    });
    let fanout = Fanout {
        js: links.js.clone(),
        pool: links.hot.clone(),
        cache: node.cache.clone(),
        batch: config.dispatcher.fetch_batch,
        ack_wait: config.streams.ack_wait,
        lines: line_consumers.clone(),
        direct,
    };
    background.spawn(fanout.run(node.fanout, shutdown.clone()));
    let puller = Puller {
        ctx: node.ctx.clone(),
        permits,
        batch: config.dispatcher.fetch_batch,
    };
    background.spawn(puller.run(node.deliver, shutdown.clone(), jobs.clone()));
    let lines = Lines {
        consumers: line_consumers,
        js: links.js.clone(),
        ctx: node.ctx.clone(),
        cache: node.cache.clone(),
        pool: links.pool.clone(),
        tasks: jobs.clone(),
    };
    background.spawn(lines.run(shutdown.clone()));
    Running {
        background,
        jobs,
        ctx: node.ctx,
        log_task: node.log_task,
        stops: node.stops,
    }
}

/// After the shutdown signal: stop pulling, let jobs finish within `grace`
/// (then abandon them), and flush the attempt log.
async fn drain(grace: Duration, running: Running) {
    let Running {
        background,
        jobs,
        ctx,
        mut log_task,
        stops,
    } = running;
    tracing::info!("Shutting down: no more pulls; finishing in-flight deliveries.");
    background.close();
    background.wait().await;
    jobs.close();
    if tokio::time::timeout(grace, jobs.wait()).await.is_err() {
        tracing::warn!(?grace, "Grace period over; returning unfinished jobs.");
        stops.hard_stop.cancel();
        if tokio::time::timeout(FLUSH_DEADLINE, jobs.wait())
            .await
            .is_err()
        {
            stops.give_up.cancel();
            jobs.wait().await;
        }
    }
    drop(ctx); // the last handle on the attempt log: the writer flushes and ends
    if tokio::time::timeout(FLUSH_DEADLINE, &mut log_task)
        .await
        .is_err()
    {
        stops.give_up.cancel();
        let _ = log_task.await;
    }
    tracing::info!("Dispatcher drained.");
}
