//! Starting a dispatcher: connect to NATS and Postgres, load the endpoints,
//! find the consumers, and build the job context.

use super::Stops;
use crate::attempt_log::{self, Writer};
use crate::control;
use crate::deliver::admission::Gates;
use crate::deliver::http::HttpClient;
use crate::deliver::job::JobContext;
use crate::endpoints_cache::EndpointsCache;
use crate::operational::Emitter;
use crate::server::Health;
use crate::DispatcherError;
use async_nats::jetstream::consumer::PullConsumer;
use deadpool_postgres::Pool;
use herald_common::backoff::{Backoff, GaveUp};
use herald_common::config::Config;
use herald_common::jetstream::{provision_with_retry, ProvisionError};
use herald_common::shutdown::CancellationToken;
use herald_common::subjects::{
    DELIVERIES_STREAM, DELIVER_CONSUMER, EVENTS_STREAM, FANOUT_CONSUMER,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

const PROVISION_DEADLINE: Duration = Duration::from_secs(60);
/// Loading the endpoints while Postgres (or its schema) is not ready yet.
const LOAD_RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));

/// Connections kept for everything but fan-out and the attempt log
/// (endpoint loads, retries, FIFO lines, housekeeping, gauges, the
/// integrity check).
const COLD_CONNECTIONS: usize = 4;

/// NATS (with the streams provisioned) and the Postgres pools: `hot`
/// ([`herald_common::db::Plans::Indexed`]) for fan-out and the attempt log,
/// `pool` for the rest.
pub(super) struct Links {
    pub nats: async_nats::Client,
    pub js: async_nats::jetstream::Context,
    pub pool: Pool,
    pub hot: Pool,
}

/// Every part built, nothing running yet but the attempt log.
pub(super) struct Node {
    pub links: Links,
    pub cache: Arc<EndpointsCache>,
    pub notices: async_nats::Subscriber,
    pub fanout: PullConsumer,
    pub deliver: PullConsumer,
    pub ctx: Arc<JobContext>,
    pub log_task: JoinHandle<()>,
    pub stops: Stops,
    pub emitter: Emitter,
}

/// Connect to NATS (waiting until shutdown: `None`), provision the
/// streams, and make the pool.
pub(super) async fn connect(
    config: &Config,
    shutdown: &CancellationToken,
) -> Result<Option<Links>, DispatcherError> {
    let (nats, mut link) = herald_common::nats::connect(&config.dispatcher.id, &config.nats)
        .await
        .map_err(|e| DispatcherError::Nats(e.to_string()))?;
    if !link.connected(shutdown).await {
        return Ok(None);
    }
    let js = async_nats::jetstream::new(nats.clone());
    match provision_with_retry(&js, &config.streams, Some(PROVISION_DEADLINE), shutdown).await {
        Ok(_) => {}
        Err(ProvisionError::Cancelled) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let size = config.database.pool_size;
    let pools = herald_common::db::pools(
        config.database.url.expose(),
        size,
        size.saturating_sub(COLD_CONNECTIONS),
    )?;
    Ok(Some(Links {
        nats,
        js,
        pool: pools.any,
        hot: pools.hot,
    }))
}

/// Load the endpoints (retrying until shutdown: `None`), find the
/// consumers, start the attempt log and make the job context.
pub(super) async fn build(
    config: &Config,
    links: Links,
    health: &Health,
    shutdown: &CancellationToken,
) -> Result<Option<Node>, DispatcherError> {
    let cache = Arc::new(EndpointsCache::new(
        links.pool.clone(),
        config.security.keys.keyring()?,
    ));
    let _ = health.cache.set(cache.clone());
    let notices = control::subscribe(&links.nats)
        .await
        .map_err(|e| DispatcherError::Nats(e.to_string()))?;
    if !load_endpoints(&cache, shutdown).await {
        return Ok(None);
    }
    let Some(fanout) = consumer(&links.js, EVENTS_STREAM, FANOUT_CONSUMER, shutdown).await? else {
        return Ok(None);
    };
    let Some(deliver) = consumer(&links.js, DELIVERIES_STREAM, DELIVER_CONSUMER, shutdown).await?
    else {
        return Ok(None);
    };
    let stops = Stops::default();
    let emitter = Emitter {
        js: links.js.clone(),
        pool: links.pool.clone(),
    };
    let (log, log_task) = attempt_log::spawn(Writer {
        pool: links.hot.clone(),
        nats: links.nats.clone(),
        dispatcher_id: config.dispatcher.id.clone(),
        cache: cache.clone(),
        give_up: stops.give_up.clone(),
        emitter: emitter.clone(),
    });
    let ctx = Arc::new(JobContext {
        cache: cache.clone(),
        gates: Gates::new(config.dispatcher.endpoint_max_in_flight, links.pool.clone()),
        http: HttpClient::new(
            Arc::new(config.security.url_guard.clone()),
            config.dispatcher.connect_timeout,
            config.dispatcher.delivery_timeout,
            config.dispatcher.response_body_limit,
        ),
        log,
        policy: config.retry.clone(),
        ack_wait: config.streams.ack_wait,
        shutdown: shutdown.clone(),
        hard_stop: stops.hard_stop.clone(),
    });
    Ok(Some(Node {
        links,
        cache,
        notices,
        fanout,
        deliver,
        ctx,
        log_task,
        stops,
        emitter,
    }))
}

/// Load every endpoint, retrying while Postgres (or its schema) is not
/// ready yet. `false` if shutdown came first.
async fn load_endpoints(cache: &EndpointsCache, shutdown: &CancellationToken) -> bool {
    let loaded = LOAD_RETRY
        .retry(
            "Could not load endpoints",
            shutdown,
            |_| false,
            || cache.load_all(),
        )
        .await;
    if let Ok(n) = loaded {
        tracing::info!(endpoints = n, "Loaded endpoints.");
    }
    loaded.is_ok()
}

/// Find a consumer, retrying (up to the provisioning deadline) while a
/// freshly formed cluster has not settled the stream's raft group yet: a
/// lookup can time out there even though provisioning succeeded. `None` if
/// shutdown came first.
async fn consumer(
    js: &async_nats::jetstream::Context,
    stream: &str,
    name: &str,
    shutdown: &CancellationToken,
) -> Result<Option<PullConsumer>, DispatcherError> {
    let lookup = || async move {
        js.get_stream(stream)
            .await
            .map_err(|e| e.to_string())?
            .get_consumer(name)
            .await
            .map_err(|e| e.to_string())
    };
    let found = LOAD_RETRY
        .deadline(PROVISION_DEADLINE)
        .retry("Could not find a consumer", shutdown, |_| false, lookup)
        .await;
    match found {
        Ok(c) => Ok(Some(c)),
        Err(GaveUp::Cancelled) => Ok(None),
        Err(GaveUp::Failed(e)) => Err(DispatcherError::Nats(format!("{stream}/{name}: {e}"))),
    }
}
