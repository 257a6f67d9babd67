//! Periodic chores: disable endpoints that have failed for too long, and
//! export the consumers' backlog from JetStream.

use crate::control::{self, DisableReason};
use crate::endpoints_cache::EndpointsCache;
use crate::store::{endpoints, StoreError};
use deadpool_postgres::Pool;
use herald_common::metrics::{CONSUMER_ACK_PENDING, CONSUMER_PENDING};
use herald_common::shutdown::CancellationToken;
use herald_common::subjects::{
    DELIVERIES_STREAM, DELIVER_CONSUMER, EVENTS_STREAM, FANOUT_CONSUMER,
};
use std::sync::Arc;
use std::time::Duration;

const CONSUMER_POLL: Duration = Duration::from_secs(5);

/// One auto-disable pass: disable every active endpoint whose
/// `failing_since` is older than `after` (safe to run in every dispatcher)
/// and announce it. Returns how many endpoints it disabled.
#[tracing::instrument(skip_all)]
async fn auto_disable(
    pool: &Pool,
    nats: &async_nats::Client,
    cache: &EndpointsCache,
    after: Duration,
) -> Result<usize, StoreError> {
    let disabled = endpoints::disable_failing(pool, after, &humanize(after)).await?;
    control::disabled(nats, cache, &disabled, DisableReason::Failing).await;
    Ok(disabled.len())
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.as_millis()),
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// How often to look for endpoints to auto-disable: a tenth of the
/// threshold, between 1 s and 1 min.
pub fn auto_disable_interval(after: Duration) -> Duration {
    (after / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

pub async fn run_auto_disable(
    pool: Pool,
    nats: async_nats::Client,
    cache: Arc<EndpointsCache>,
    after: Duration,
    shutdown: CancellationToken,
) {
    let every = auto_disable_interval(after);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
        if let Err(error) = auto_disable(&pool, &nats, &cache, after).await {
            tracing::warn!(%error, "Auto-disable pass failed.");
        }
    }
}

/// Export `num_pending` and `num_ack_pending` of both consumers.
pub async fn run_consumer_metrics(js: async_nats::jetstream::Context, shutdown: CancellationToken) {
    let consumers = [
        (EVENTS_STREAM, FANOUT_CONSUMER),
        (DELIVERIES_STREAM, DELIVER_CONSUMER),
    ];
    loop {
        for (stream, name) in consumers {
            let info = match js.get_stream(stream).await {
                Ok(s) => s.consumer_info(name).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match info {
                Ok(info) => {
                    metrics::gauge!(CONSUMER_PENDING, "consumer" => name)
                        .set(info.num_pending as f64);
                    metrics::gauge!(CONSUMER_ACK_PENDING, "consumer" => name)
                        .set(info.num_ack_pending as f64);
                }
                Err(error) => {
                    tracing::debug!(%error, consumer = name, "Could not read consumer info.")
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(CONSUMER_POLL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_print_in_their_natural_unit_and_set_the_poll_interval() {
        let cases = [
            (
                Duration::from_secs(5 * 86_400),
                "5d",
                Duration::from_secs(60),
            ),
            (Duration::from_secs(7200), "2h", Duration::from_secs(60)),
            (Duration::from_secs(120), "2m", Duration::from_secs(12)),
            (Duration::from_secs(3), "3s", Duration::from_secs(1)),
            (Duration::from_millis(300), "300ms", Duration::from_secs(1)),
        ];
        for (after, text, every) in cases {
            assert_eq!(humanize(after), text);
            assert_eq!(auto_disable_interval(after), every);
        }
    }
}
