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
pub mod schema;
pub mod store;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use herald_common::config::Config;
use herald_common::db::{self, DbError};
use herald_common::jetstream::{provision_with_retry, ProvisionError};
use herald_common::migrate::{self, MigrateError, MigrationReport, RollbackReport};
use herald_common::shutdown::CancellationToken;
use herald_common::url_guard::UrlGuard;
use tokio::sync::Notify;

pub use http::{router, AppState};

use crate::http::state::Inner;
use crate::pipeline::outbox::Outbox;
use crate::pipeline::publisher::Publisher;
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
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot set up the NATS client: {0}")]
    Nats(String),
}

/// How long start-up waits for Postgres before giving up.
const DB_START_DEADLINE: Duration = Duration::from_secs(30);
/// How long shutdown waits for queued events to be written and published.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// Apply pending migrations under the advisory lock, waiting up to 30 s for
/// Postgres to accept connections.
pub async fn migrate(config: &Config) -> Result<MigrationReport, IngestError> {
    let mut client = migration_client(config).await?;
    let report = migrate::run(&mut client).await?;
    if !report.applied.is_empty() {
        tracing::info!(applied = ?report.applied, "Migrations applied.");
    }
    Ok(report)
}

/// Roll back the newest `steps` migrations under the same lock
/// (`herald-ingest migrate down [N]`).
pub async fn migrate_down(config: &Config, steps: usize) -> Result<RollbackReport, IngestError> {
    let mut client = migration_client(config).await?;
    let report = migrate::rollback(&mut client, steps).await?;
    tracing::info!(reverted = ?report.reverted, "Migrations rolled back.");
    Ok(report)
}

/// A connection for the migration runner, waiting up to 30 s for Postgres.
async fn migration_client(config: &Config) -> Result<tokio_postgres::Client, IngestError> {
    let start = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        match db::connect(config.database_url.expose()).await {
            Ok(c) => return Ok(c),
            Err(e @ DbError::Url(_)) => return Err(e.into()),
            Err(e) if start.elapsed() > DB_START_DEADLINE => return Err(e.into()),
            Err(error) => {
                tracing::warn!(%error, "Postgres not reachable yet; retrying.");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// Provision the streams now and again after every reconnect (a restarted
/// server with an empty store gets them back). Sets `state.provisioned`.
async fn keep_provisioned(state: AppState, reconnected: Arc<Notify>, stop: CancellationToken) {
    loop {
        let attempt =
            provision_with_retry(&state.js, &state.config.streams, Duration::from_secs(30));
        tokio::select! {
            _ = stop.cancelled() => return,
            res = attempt => match res {
                Ok(report) => {
                    state.provisioned.store(true, Ordering::Relaxed);
                    tracing::debug!(?report, "JetStream provisioned.");
                }
                Err(error @ ProvisionError::StorageMismatch { .. }) => {
                    tracing::error!(%error, "JetStream streams cannot be provisioned.");
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "JetStream not provisioned yet; still trying.");
                    continue;
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = reconnected.notified() => {}
        }
    }
}

/// A node's state and its background tasks, built without touching the
/// network (Postgres and NATS connect lazily), so router tests can use it.
pub struct Node {
    pub state: AppState,
    reconnected: Arc<Notify>,
    writer_task: tokio::task::JoinHandle<()>,
    publisher_task: tokio::task::JoinHandle<()>,
}

impl Node {
    pub async fn build(config: Config) -> Result<Self, IngestError> {
        let guard = UrlGuard::new(config.allow_private_urls, &config.url_allowlist)
            .map_err(IngestError::Config)?;
        let pool = db::pool(config.database_url.expose(), config.database_pool_size)?;
        let reconnected = Arc::new(Notify::new());
        let notify = reconnected.clone();
        let nats = async_nats::ConnectOptions::new()
            .name("herald-ingest")
            .retry_on_initial_connect()
            .event_callback(move |event| {
                let notify = notify.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => notify.notify_one(),
                        async_nats::Event::Disconnected => tracing::warn!("NATS disconnected."),
                        _ => {}
                    }
                }
            })
            // One URL or a comma-separated cluster list (a `&str` is one address).
            .connect(
                config
                    .nats_url
                    .split(',')
                    .map(str::trim)
                    .collect::<Vec<_>>(),
            )
            .await
            .map_err(|e| IngestError::Nats(e.to_string()))?;
        let js = jetstream::new(nats.clone());
        let (publisher, publisher_task) = Publisher::spawn(js.clone(), nats.clone(), pool.clone());
        let in_flight = config.event_writers.min(config.database_pool_size);
        let (writer, writer_task) = EventWriter::spawn(
            pool.clone(),
            publisher.clone(),
            in_flight,
            config.idempotency_window,
        );
        let state = AppState::new(Inner {
            config,
            db: pool,
            nats,
            js,
            guard,
            writer,
            publisher,
            event_types: EventTypes::default(),
            tenants: Tenants::default(),
            keys: ApiKeys::default(),
            provisioned: AtomicBool::new(false),
        });
        Ok(Self {
            state,
            reconnected,
            writer_task,
            publisher_task,
        })
    }
}

/// Run an ingest node on `listener` until `shutdown` is cancelled: apply
/// migrations, connect to NATS (in the background; events are accepted while
/// it is down), provision the streams, start the writer, publisher and
/// outbox relay, serve, then drain.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), IngestError> {
    let _ = herald_common::metrics::prometheus();
    if config.encryption_key_is_dev {
        tracing::warn!(
            "HERALD_ENCRYPTION_KEY is not set: endpoint secrets are encrypted with the \
             well-known development key. Never run like this in production."
        );
    }
    migrate(&config).await?;
    let Node {
        state,
        reconnected,
        writer_task,
        publisher_task,
    } = Node::build(config).await?;
    let outbox = Outbox::new(
        state.db.clone(),
        state.js.clone(),
        state.nats.clone(),
        state.config.outbox_interval,
    );
    let background = CancellationToken::new();
    let provision_task = tokio::spawn(keep_provisioned(
        state.clone(),
        reconnected,
        background.clone(),
    ));
    let outbox_task = tokio::spawn(outbox.run(background.clone()));
    let gauges_task = tokio::spawn(gauges::run(
        state.db.clone(),
        state.nats.clone(),
        background.clone(),
    ));

    tracing::info!(addr = ?listener.local_addr().ok(), "herald-ingest listening.");
    let served = axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await;

    // Drain: no new requests; let queued events be written and published.
    let nats = state.nats.clone();
    drop(state);
    background.cancel();
    let drained = tokio::time::timeout(DRAIN_DEADLINE, async {
        let _ = writer_task.await;
        let _ = publisher_task.await;
        let _ = outbox_task.await;
        let _ = gauges_task.await;
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
