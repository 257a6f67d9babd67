//! Ingest's periodic gauges: the age of the oldest unpublished event (is the
//! outbox stuck?) and the process-wide ones of `herald_common::gauges`.
//! `herald_outbox_pending` stays with the relay, which counts it each round.

use deadpool_postgres::Pool;

use crate::store::events;
use herald_common::gauges::{sample_every, RuntimeGauges, SAMPLE_INTERVAL};
use herald_common::metrics::{self as names, OUTBOX_OLDEST_SECONDS};
use herald_common::shutdown::CancellationToken;

/// Sample every gauge of this ingest node until `shutdown`.
pub async fn run(pool: Pool, nats: async_nats::Client, shutdown: CancellationToken) {
    names::zero_ingest_counters();
    let runtime = RuntimeGauges::new(vec![pool.clone()], nats);
    sample_every(SAMPLE_INTERVAL, shutdown, || async {
        runtime.sample();
        match events::oldest_unpublished_age(&pool).await {
            Ok(age) => metrics::gauge!(OUTBOX_OLDEST_SECONDS).set(age.max(0.0)),
            Err(error) => tracing::debug!(%error, "Could not read the outbox's oldest event."),
        }
    })
    .await;
}
