//! Periodic chore: disable endpoints that have failed for too long.

use crate::control::{self, DisableReason};
use crate::endpoints_cache::EndpointsCache;
use crate::store::{endpoints, StoreError};
use deadpool_postgres::Pool;
use herald_common::shutdown::{self, CancellationToken};
use std::sync::Arc;
use std::time::Duration;

/// Disables every active endpoint whose `failing_since` is older than
/// `after` (safe to run in every dispatcher) and announces it.
pub struct AutoDisable {
    pub pool: Pool,
    pub nats: async_nats::Client,
    pub cache: Arc<EndpointsCache>,
    pub after: Duration,
}

impl AutoDisable {
    /// A pass every [`auto_disable_interval`] until shutdown.
    pub async fn run(self, shutdown: CancellationToken) {
        let every = auto_disable_interval(self.after);
        while shutdown::sleep(&shutdown, every).await {
            if let Err(error) = self.step().await {
                tracing::warn!(%error, "Auto-disable pass failed.");
            }
        }
    }

    /// One pass; how many endpoints it disabled.
    #[tracing::instrument(skip_all)]
    pub async fn step(&self) -> Result<usize, StoreError> {
        let after = self.after;
        let disabled = endpoints::disable_failing(&self.pool, after, &humanize(after)).await?;
        control::disabled(&self.nats, &self.cache, &disabled, DisableReason::Failing).await;
        Ok(disabled.len())
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

/// How often to look for endpoints to auto-disable: a tenth of the
/// threshold, between 1 s and 1 min.
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
