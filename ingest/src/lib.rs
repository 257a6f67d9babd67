//! herald-ingest: the REST API node. Validates requests, writes endpoints
//! and events to Postgres, publishes events to JetStream (with a
//! transactional outbox behind it) and serves the delivery log.
//!
//! [`run`] is the whole node; `main.rs` only reads the config and binds.
//! [`Node`] builds the state and the background tasks without touching the
//! network. The code is grouped in three layers, each importing only the
//! ones below it:
//!
//! - [`http`]: the edge. The router, auth, extractors, pagination, the
//!   OpenAPI document, the handlers (`http/handlers/<resource>.rs`) and
//!   [`http::error`], the only place that turns a failure into a status.
//! - [`pipeline`]: the event pipeline. The writer (group commit), the
//!   publisher (fast path to JetStream), the outbox relay, and manual
//!   re-sends of deliveries.
//! - [`store`]: the storage layer. One module per table or aggregate, each
//!   owning its SQL; every function returns a [`store::StoreError`].
//!
//! [`schema`] (event types' JSON Schemas, compiled and checked) is pure and
//! used by the store's cache and the handlers alike.

pub mod gauges;
pub mod http;
pub mod pipeline;
pub mod rotate_keys;
pub mod schema;
pub mod store;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream;
use herald_common::backoff::{Backoff, GaveUp};
use herald_common::config::Config;
use herald_common::db::{self, DbError};
use herald_common::jetstream::{provision_with_retry, ProvisionError};
use herald_common::migrate::{self, MigrateError, MigrationReport, RollbackReport};
use herald_common::nats::Link;
use herald_common::shutdown::CancellationToken;

pub use http::{router, AppState};

use crate::http::rate_limit::TenantLimiter;
use crate::http::state::Inner;
use crate::pipeline::outbox::Outbox;
use crate::pipeline::publisher::Publisher;
use crate::pipeline::retention::Retention;
use crate::pipeline::writer::EventWriter;
use crate::store::cache::{ApiKeys, EventTypes, Tenants};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    #[error("cannot set up the NATS client: {0}")]
    Nats(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Keys(#[from] herald_common::crypto::key_file::KeyFileError),
    #[error("{0} endpoint secret(s) could not be read with any configured key")]
    Unreadable(u64),
    #[error("stopped by shutdown before starting")]
    Cancelled,
}

/// How long start-up waits for Postgres before giving up.
const DB_START: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2))
    .deadline(Duration::from_secs(30));
/// How long shutdown waits for queued events to be written and published.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// Apply pending migrations under the advisory lock, waiting up to 30 s for
/// Postgres to accept connections (or until `stop`).
pub async fn migrate(
    config: &Config,
    stop: &CancellationToken,
) -> Result<MigrationReport, IngestError> {
    let mut client = migration_client(config, stop).await?;
    let report = migrate::run(&mut client).await?;
    if !report.applied.is_empty() {
        tracing::info!(applied = ?report.applied, "Migrations applied.");
    }
    Ok(report)
}

/// Roll back the newest `steps` migrations under the same lock
/// (`herald-ingest migrate down [N]`).
pub async fn migrate_down(
    config: &Config,
    steps: usize,
    stop: &CancellationToken,
) -> Result<RollbackReport, IngestError> {
    let mut client = migration_client(config, stop).await?;
    let report = migrate::rollback(&mut client, steps).await?;
    tracing::info!(reverted = ?report.reverted, "Migrations rolled back.");
    Ok(report)
}

/// A connection for the migration runner, waiting up to 30 s for Postgres
/// (or until `stop`).
async fn migration_client(
    config: &Config,
    stop: &CancellationToken,
) -> Result<tokio_postgres::Client, IngestError> {
    let url = config.database.url.expose();
    let permanent = |e: &DbError| matches!(e, DbError::Url(_));
    let connected = DB_START
        .retry("Postgres not reachable yet", stop, permanent, || {
            db::connect(url)
        })
        .await;
    match connected {
        Ok(client) => Ok(client),
        Err(GaveUp::Failed(e)) => Err(e.into()),
        Err(GaveUp::Cancelled) => Err(IngestError::Cancelled),
    }
}

/// Provision the streams now and again after every reconnect (a restarted
/// server with an empty store gets them back). Sets `state.provisioned`.
async fn keep_provisioned(state: AppState, mut link: Link, stop: CancellationToken) {
    loop {
        let seen = link.connects();
        match provision_with_retry(&state.js, &state.config.streams, None, &stop).await {
            Ok(report) => {
                state.provisioned.store(true, Ordering::Relaxed);
                tracing::debug!(?report, "JetStream provisioned.");
            }
            Err(ProvisionError::Cancelled) => return,
            Err(error) => {
                tracing::error!(%error, "JetStream streams cannot be provisioned.");
                return;
            }
        }
        if !link.connected_after(seen, &stop).await {
            return;
        }
    }
}

/// A node's state and its background tasks, built without touching the
/// network (Postgres and NATS connect lazily), so router tests can use it.
pub struct Node {
    pub state: AppState,
    link: Link,
    writer_task: tokio::task::JoinHandle<()>,
    publisher_task: tokio::task::JoinHandle<()>,
}

impl Node {
    pub async fn build(config: Config) -> Result<Self, IngestError> {
        let pool = db::pool(config.database.url.expose(), config.database.pool_size)?;
        let (nats, link) = herald_common::nats::connect("herald-ingest", &config.nats)
            .await
            .map_err(|e| IngestError::Nats(e.to_string()))?;
        let js = jetstream::new(nats.clone());
        let (publisher, publisher_task) = Publisher::spawn(js.clone(), nats.clone(), pool.clone());
        let in_flight = config.ingest.event_writers.min(config.database.pool_size);
        let (writer, writer_task) = EventWriter::spawn(
            pool.clone(),
            publisher.clone(),
            in_flight,
            config.ingest.idempotency_window,
        );
        let keyring = config.security.keys.keyring()?;
        let rate_limits = TenantLimiter::new(config.ingest.rate_limits.clone());
        let state = AppState::new(Inner {
            guard: config.security.url_guard.clone(),
            keyring,
            config,
            db: pool,
            nats,
            js,
            writer,
            publisher,
            event_types: EventTypes::default(),
            tenants: Tenants::default(),
            keys: ApiKeys::default(),
            rate_limits,
            provisioned: AtomicBool::new(false),
        });
        Ok(Self {
            state,
            link,
            writer_task,
            publisher_task,
        })
    }
}

/// Run an ingest node on `listener` until `shutdown` is cancelled: apply
/// migrations, connect to NATS (in the background; events are accepted while
/// it is down), provision the streams, start the writer, publisher and
/// outbox relay and the retention task, serve, then drain.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), IngestError> {
    let _ = herald_common::metrics::prometheus();
    migrate(&config, &shutdown).await?;
    let Node {
        state,
        link,
        writer_task,
        publisher_task,
    } = Node::build(config).await?;
    let outbox = Outbox::new(
        state.db.clone(),
        state.js.clone(),
        state.nats.clone(),
        state.config.ingest.outbox_interval,
    );
    let background = CancellationToken::new();
    let provision_task = tokio::spawn(keep_provisioned(state.clone(), link, background.clone()));
    let outbox_task = tokio::spawn(outbox.run(background.clone()));
    let retention = Retention {
        db: state.db.clone(),
        keep: state.config.ingest.retention,
        interval: state.config.ingest.retention_interval,
        batch: state.config.ingest.retention_batch,
        idempotency_window: state.config.ingest.idempotency_window,
    };
    let retention_task = tokio::spawn(retention.run(background.clone()));
    let gauges_task = tokio::spawn(gauges::run(
        state.db.clone(),
        state.nats.clone(),
        background.clone(),
    ));

    let metrics_task = match state.config.ingest.metrics_listen {
        Some(addr) => {
            let metrics = tokio::net::TcpListener::bind(addr).await?;
            tracing::info!(%addr, "herald-ingest serves /metrics apart.");
            let serve = axum::serve(metrics, http::router::metrics_router())
                .with_graceful_shutdown(shutdown.clone().cancelled_owned());
            Some(tokio::spawn(async move { serve.await }))
        }
        None => None,
    };
    tracing::info!(addr = ?listener.local_addr().ok(), "herald-ingest listening.");
    let served = axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await;

    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    // Drain: no new requests; let queued events be written and published.
    let nats = state.nats.clone();
    drop(state);
    background.cancel();
    let drained = tokio::time::timeout(DRAIN_DEADLINE, async {
        let _ = writer_task.await;
        let _ = publisher_task.await;
        let _ = outbox_task.await;
        let _ = gauges_task.await;
        let _ = retention_task.await;
        let _ = provision_task.await;
        let _ = nats.flush().await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!("Shutdown drain timed out; unpublished events stay in the outbox.");
    }
    tracing::info!("herald-ingest stopped.");
    served.map_err(IngestError::from)
}
