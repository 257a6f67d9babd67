//! Gauges every Herald process samples on a timer: build info, the Postgres
//! pool, the NATS connection and the standard process metrics (CPU, memory,
//! open files; from `metrics-process`). Each binary runs one sampling loop
//! ([`sample_every`]) that adds its own gauges (ingest's outbox age, the
//! dispatcher's retry backlog) to these.

use std::future::Future;
use std::time::Duration;

use async_nats::connection::State;
use deadpool_postgres::Pool;

use crate::metrics::{
    BUILD_INFO, DB_POOL_AVAILABLE, DB_POOL_CONNECTIONS, DB_POOL_MAX_CONNECTIONS, DB_POOL_WAITERS,
    NATS_CONNECTED, PROCESS_PREFIX,
};
use crate::shutdown::{self, CancellationToken};

/// How often the gauges are sampled (Prometheus scrapes every 15 s by default).
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);

/// The gauges of one process.
pub struct RuntimeGauges {
    /// Every pool of the process (`herald_db_pool_*` is their sum).
    pools: Vec<Pool>,
    nats: async_nats::Client,
    process: metrics_process::Collector,
}

impl RuntimeGauges {
    /// Describe the process metrics and set `herald_build_info`.
    pub fn new(pools: Vec<Pool>, nats: async_nats::Client) -> Self {
        crate::metrics::prometheus();
        let process = metrics_process::Collector::new(PROCESS_PREFIX);
        process.describe();
        metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        Self {
            pools,
            nats,
            process,
        }
    }

    /// Read the pools, the connection and the process once.
    pub fn sample(&self) {
        let sum = |f: fn(&deadpool_postgres::Status) -> usize| {
            self.pools.iter().map(|p| f(&p.status())).sum::<usize>() as f64
        };
        metrics::gauge!(DB_POOL_CONNECTIONS).set(sum(|s| s.size));
        metrics::gauge!(DB_POOL_AVAILABLE).set(sum(|s| s.available));
        metrics::gauge!(DB_POOL_MAX_CONNECTIONS).set(sum(|s| s.max_size));
        metrics::gauge!(DB_POOL_WAITERS).set(sum(|s| s.waiting));
        let connected = self.nats.connection_state() == State::Connected;
        metrics::gauge!(NATS_CONNECTED).set(if connected { 1.0 } else { 0.0 });
        self.process.collect();
    }
}

/// Run `sample` now and then every `every` until `shutdown` is cancelled.
pub async fn sample_every<F, Fut>(every: Duration, shutdown: CancellationToken, mut sample: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = sample() => {}
        }
        if !shutdown::sleep(&shutdown, every).await {
            return;
        }
    }
}
