//! Periodic chores on the endpoints, in one transaction per pass: disable
//! those that have failed for too long (`HERALD_AUTO_DISABLE_AFTER`), and
//! announce failure periods that passed `HERALD_ENDPOINT_FAILING_AFTER`
//! (`herald.endpoint.failing`) or ended (`herald.endpoint.recovered`). Each
//! statement returns an endpoint once, so every dispatcher may run it.

use crate::control::{self, DisableReason};
use crate::endpoints_cache::EndpointsCache;
use crate::operational::{self, Emitter};
use crate::store::events::{self as stored, NewEvent};
use crate::store::{endpoints, StoreError};
use chrono::Utc;
use herald_common::operational::DisabledBy;
use herald_common::shutdown::{self, CancellationToken};
use std::sync::Arc;
use std::time::Duration;

pub struct Housekeeping {
    pub emitter: Emitter,
    pub nats: async_nats::Client,
    pub cache: Arc<EndpointsCache>,
    pub auto_disable_after: Duration,
    pub failing_after: Duration,
}

impl Housekeeping {
    /// One pass; returns how many endpoints it disabled.
    #[tracing::instrument(skip_all)]
    pub async fn step(&self) -> Result<usize, StoreError> {
        let after = self.auto_disable_after;
        let mut client = self.emitter.pool.get().await?;
        let tx = client.transaction().await?;
        let disabled = endpoints::disable_failing(&tx, after, &humanize(after)).await?;
        let failing = endpoints::mark_failing(&tx, self.failing_after).await?;
        let recovered = endpoints::mark_recovered(&tx).await?;
        let mut ops = operational::disabled(&disabled, DisabledBy::Failing);
        ops.extend(operational::failing(&failing));
        ops.extend(operational::recovered(&recovered));
        let now = Utc::now();
        let events: Vec<NewEvent> = ops
            .into_iter()
            .map(|op| operational::new_event(op, now))
            .collect();
        stored::insert(&tx, &events).await?;
        tx.commit().await?;
        control::disabled(&self.nats, &self.cache, &disabled, DisableReason::Failing).await;
        self.emitter.publish(events);
        Ok(disabled.len())
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let every = auto_disable_interval(self.auto_disable_after)
            .min(auto_disable_interval(self.failing_after));
        while shutdown::sleep(&shutdown, every).await {
            if let Err(error) = self.step().await {
                tracing::warn!(%error, "Housekeeping pass failed.");
            }
        }
    }
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

/// How often to look for endpoints past a threshold: a tenth of it,
/// between 1 s and 1 min.
pub fn auto_disable_interval(after: Duration) -> Duration {
    (after / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
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
