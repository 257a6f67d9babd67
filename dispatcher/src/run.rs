//! Wiring: start every part, wait for the shutdown signal, drain in order.

use crate::admission::Gates;
use crate::attempt_log::{self, Writer};
use crate::deliver::http::HttpClient;
use crate::deliver::job::JobContext;
use crate::deliver::Puller;
use crate::endpoints_cache::EndpointsCache;
use crate::fanout::Fanout;
use crate::retry::Scheduler;
use crate::server::{self, Health};
use crate::{control, gauges, housekeeping, DispatcherError};
use async_nats::jetstream::consumer::PullConsumer;
use herald_common::config::Config;
use herald_common::jetstream::provision_with_retry;
use herald_common::shutdown::CancellationToken;
use herald_common::subjects::{
    DELIVERIES_STREAM, DELIVER_CONSUMER, EVENTS_STREAM, FANOUT_CONSUMER,
};
use herald_common::url_guard::UrlGuard;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

const PROVISION_DEADLINE: Duration = Duration::from_secs(60);
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
    let Some(nats) = connect(config, shutdown).await else {
        return Ok(());
    };
    let js = async_nats::jetstream::new(nats.clone());
    provision_with_retry(&js, &config.streams, PROVISION_DEADLINE).await?;
    let pool = herald_common::db::pool(config.database_url.expose(), config.database_pool_size)?;
    let guard = UrlGuard::new(config.allow_private_urls, &config.url_allowlist)
        .map_err(DispatcherError::Config)?;

    let cache = Arc::new(EndpointsCache::new(
        pool.clone(),
        config.encryption_key.clone(),
    ));
    let _ = health.cache.set(cache.clone());
    let notices = control::subscribe(&nats)
        .await
        .map_err(|e| DispatcherError::Nats(e.to_string()))?;
    if !load_endpoints(&cache, shutdown).await {
        return Ok(());
    }
    let fanout_consumer = consumer(&js, EVENTS_STREAM, FANOUT_CONSUMER).await?;
    let deliver_consumer = consumer(&js, DELIVERIES_STREAM, DELIVER_CONSUMER).await?;

    let give_up = CancellationToken::new();
    let (log, log_task) = attempt_log::spawn(Writer {
        pool: pool.clone(),
        nats: nats.clone(),
        dispatcher_id: config.dispatcher_id.clone(),
        cache: cache.clone(),
        give_up: give_up.clone(),
    });
    let hard_stop = CancellationToken::new();
    let ctx = Arc::new(JobContext {
        cache: cache.clone(),
        gates: Gates::new(config.endpoint_max_in_flight, pool.clone()),
        http: HttpClient::new(
            Arc::new(guard),
            config.connect_timeout,
            config.delivery_timeout,
            config.response_body_limit,
        ),
        log,
        schedule: config.retry_schedule.clone(),
        jitter: config.retry_jitter,
        ack_wait: config.streams.ack_wait,
        shutdown: shutdown.clone(),
        hard_stop: hard_stop.clone(),
    });

    let background = TaskTracker::new();
    background.spawn(control::keep_current(
        cache.clone(),
        notices,
        config.endpoint_refresh_interval,
        shutdown.clone(),
    ));
    background.spawn(housekeeping::run_auto_disable(
        pool.clone(),
        nats.clone(),
        config.auto_disable_after,
        shutdown.clone(),
    ));
    background.spawn(gauges::run(
        pool.clone(),
        nats.clone(),
        js.clone(),
        shutdown.clone(),
    ));
    background.spawn(
        Scheduler {
            pool: pool.clone(),
            js: js.clone(),
            poll_interval: config.retry_poll_interval,
            lease: (config.streams.duplicate_window / 2)
                .min(config.streams.ack_wait)
                .max(Duration::from_secs(1)),
            batch: config.fetch_batch,
        }
        .run(shutdown.clone()),
    );
    background.spawn(
        Fanout {
            js: js.clone(),
            pool: pool.clone(),
            cache: cache.clone(),
            batch: config.fetch_batch,
        }
        .run(fanout_consumer, shutdown.clone()),
    );
    let jobs = TaskTracker::new();
    background.spawn(
        Puller {
            ctx: ctx.clone(),
            concurrency: Arc::new(Semaphore::new(config.dispatcher_concurrency)),
            batch: config.fetch_batch,
        }
        .run(deliver_consumer, shutdown.clone(), jobs.clone()),
    );
    health.ready.store(true, Ordering::SeqCst);
    tracing::info!(dispatcher_id = %config.dispatcher_id, endpoints = cache.len(), "Dispatcher running.");

    shutdown.cancelled().await;
    tracing::info!("Shutting down: no more pulls; finishing in-flight deliveries.");
    background.close();
    background.wait().await;
    jobs.close();
    if tokio::time::timeout(config.shutdown_grace, jobs.wait())
        .await
        .is_err()
    {
        tracing::warn!(grace = ?config.shutdown_grace, "Grace period over; returning unfinished jobs.");
        hard_stop.cancel();
        if tokio::time::timeout(FLUSH_DEADLINE, jobs.wait())
            .await
            .is_err()
        {
            give_up.cancel();
            jobs.wait().await;
        }
    }
    drop(ctx); // the last handle on the attempt log: the writer flushes and ends
    let mut log_task = log_task;
    if tokio::time::timeout(FLUSH_DEADLINE, &mut log_task)
        .await
        .is_err()
    {
        give_up.cancel();
        let _ = log_task.await;
    }
    tracing::info!("Dispatcher drained.");
    Ok(())
}

async fn connect(config: &Config, shutdown: &CancellationToken) -> Option<async_nats::Client> {
    let mut delay = Duration::from_millis(100);
    loop {
        let options = async_nats::ConnectOptions::new().name(&config.dispatcher_id);
        // One URL or a comma-separated cluster list (a `&str` is one address).
        let urls: Vec<&str> = config.nats_url.split(',').map(str::trim).collect();
        match options.connect(urls).await {
            Ok(c) => return Some(c),
            Err(error) => {
                tracing::warn!(%error, url = %config.nats_url, "NATS not reachable; retrying.")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// Load every endpoint, retrying while Postgres (or its schema) is not
/// ready yet. `false` if shutdown came first.
async fn load_endpoints(cache: &EndpointsCache, shutdown: &CancellationToken) -> bool {
    let mut delay = Duration::from_millis(100);
    loop {
        match cache.load_all().await {
            Ok(n) => {
                tracing::info!(endpoints = n, "Loaded endpoints.");
                return true;
            }
            Err(error) => tracing::warn!(%error, "Could not load endpoints; retrying."),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

async fn consumer(
    js: &async_nats::jetstream::Context,
    stream: &str,
    name: &str,
) -> Result<PullConsumer, DispatcherError> {
    let nats = |e: String| DispatcherError::Nats(format!("{stream}/{name}: {e}"));
    js.get_stream(stream)
        .await
        .map_err(|e| nats(e.to_string()))?
        .get_consumer(name)
        .await
        .map_err(|e| nats(e.to_string()))
}
