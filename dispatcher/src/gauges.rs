//! The dispatcher's periodic gauges: the JetStream consumers' backlog and
//! redeliveries, the retry backlog and endpoints by state from Postgres, and
//! the process-wide ones of `herald_common::gauges`. Every dispatcher reports
//! the same cluster-wide values; dashboards and alerts take their `max`.

use crate::store::{deliveries, endpoints, StoreError};
use deadpool_postgres::Pool;
use herald_common::gauges::{sample_every, RuntimeGauges, SAMPLE_INTERVAL};
use herald_common::metrics::{
    self as names, CONSUMER_ACK_PENDING, CONSUMER_PENDING, CONSUMER_REDELIVERED, ENDPOINTS,
    RETRY_BACKLOG, RETRY_DUE,
};
use herald_common::shutdown::CancellationToken;
use herald_common::subjects::{
    DELIVERIES_STREAM, DELIVER_CONSUMER, EVENTS_STREAM, FANOUT_CONSUMER,
};

/// Sample every gauge of this dispatcher until `shutdown`.
/// `pool` answers the gauges' own queries; `pools` are all of the process's.
pub async fn run(
    pool: Pool,
    pools: Vec<Pool>,
    nats: async_nats::Client,
    js: async_nats::jetstream::Context,
    shutdown: CancellationToken,
) {
    names::zero_dispatcher_counters();
    let runtime = RuntimeGauges::new(pools, nats);
    sample_every(SAMPLE_INTERVAL, shutdown, || async {
        runtime.sample();
        if let Err(error) = sample_postgres(&pool).await {
            tracing::debug!(%error, "Could not read the retry backlog or endpoints.");
        }
        sample_consumers(&js).await;
    })
    .await;
}

async fn sample_postgres(pool: &Pool) -> Result<(), StoreError> {
    let client = pool.get().await?;
    let backlog = deliveries::retry_backlog(&client).await?;
    metrics::gauge!(RETRY_BACKLOG).set(backlog.waiting as f64);
    metrics::gauge!(RETRY_DUE).set(backlog.due as f64);
    let by_state = endpoints::by_state(&client).await?;
    metrics::gauge!(ENDPOINTS, "state" => "active").set(by_state.active as f64);
    metrics::gauge!(ENDPOINTS, "state" => "disabled").set(by_state.disabled as f64);
    Ok(())
}

/// Export `num_pending`, `num_ack_pending` and `num_redelivered` of both consumers.
async fn sample_consumers(js: &async_nats::jetstream::Context) {
    let consumers = [
        (EVENTS_STREAM, FANOUT_CONSUMER),
        (DELIVERIES_STREAM, DELIVER_CONSUMER),
    ];
    for (stream, name) in consumers {
        let info = match js.get_stream(stream).await {
            Ok(s) => s.consumer_info(name).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match info {
            Ok(info) => {
                metrics::gauge!(CONSUMER_PENDING, "consumer" => name).set(info.num_pending as f64);
                metrics::gauge!(CONSUMER_ACK_PENDING, "consumer" => name)
                    .set(info.num_ack_pending as f64);
                metrics::gauge!(CONSUMER_REDELIVERED, "consumer" => name)
                    .set(info.num_redelivered as f64);
            }
            Err(error) => {
                tracing::debug!(%error, consumer = name, "Could not read consumer info.")
            }
        }
    }
}
