//! Periodic chore: disable endpoints that have failed for too long.

use deadpool_postgres::Pool;
use herald_common::metrics::ENDPOINTS_DISABLED_TOTAL;
use herald_common::shutdown::CancellationToken;
use std::time::Duration;

/// Disable every active endpoint whose `failing_since` is older than
/// `after`; safe to run in every dispatcher (each row is updated once).
const AUTO_DISABLE: &str = "
    UPDATE webhooks SET active = false, disabled_at = now(), updated_at = now(),
        disabled_reason = 'every delivery failed for more than ' || $2 || ' (since ' || failing_since || ')'
    WHERE active AND failing_since IS NOT NULL AND failing_since < now() - make_interval(secs => $1)
    RETURNING id, tenant_id";

/// One auto-disable pass; returns how many endpoints it disabled.
#[tracing::instrument(skip_all)]
pub async fn auto_disable(
    pool: &Pool,
    nats: &async_nats::Client,
    after: Duration,
) -> Result<usize, crate::DbError> {
    let client = pool.get().await?;
    let human = humanize(after);
    let rows = client
        .query(AUTO_DISABLE, &[&after.as_secs_f64(), &human])
        .await?;
    for row in &rows {
        let (id, tenant): (uuid::Uuid, String) = (row.try_get(0)?, row.try_get(1)?);
        tracing::warn!(webhook_id = %id, failing_for = %human, "Endpoint auto-disabled.");
        metrics::counter!(ENDPOINTS_DISABLED_TOTAL, "reason" => "failing").increment(1);
        crate::control::announce(nats, id, &tenant).await;
    }
    Ok(rows.len())
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
    after: Duration,
    shutdown: CancellationToken,
) {
    let every = auto_disable_interval(after);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
        if let Err(error) = auto_disable(&pool, &nats, after).await {
            tracing::warn!(%error, "Auto-disable pass failed.");
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
