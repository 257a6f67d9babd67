//! Endpoint change notices on the core subject `herald.control.webhooks`:
//! listening to them keeps the [`EndpointsCache`] current; [`disabled`]
//! publishes one when this dispatcher disabled an endpoint.

use crate::endpoints_cache::EndpointsCache;
use crate::store::endpoints::Disabled;
use futures::StreamExt;
use herald_common::messages::{ChangeOp, WebhookChange};
use herald_common::metrics::ENDPOINTS_DISABLED_TOTAL;
use herald_common::shutdown::CancellationToken;
use herald_common::subjects::WEBHOOK_CHANGES;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Why this dispatcher disabled an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisableReason {
    /// It answered `410 Gone`.
    Gone,
    /// Every delivery failed for longer than `HERALD_AUTO_DISABLE_AFTER`.
    Failing,
}

impl DisableReason {
    /// The `reason` label of `herald_endpoints_disabled_total`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Gone => "gone",
            Self::Failing => "failing",
        }
    }
}

/// Endpoints this dispatcher has just disabled in Postgres: stop using them
/// here at once, log and count them, and tell every other node.
pub async fn disabled(
    nats: &async_nats::Client,
    cache: &EndpointsCache,
    endpoints: &[Disabled],
    reason: DisableReason,
) {
    for e in endpoints {
        cache.deactivate(e.webhook_id);
        tracing::warn!(webhook_id = %e.webhook_id, reason = reason.label(), "Endpoint disabled.");
        metrics::counter!(ENDPOINTS_DISABLED_TOTAL, "reason" => reason.label()).increment(1);
        announce(nats, e.webhook_id, &e.tenant_id).await;
    }
}

/// Tell every node that an endpoint changed. Best effort: the periodic full
/// refresh catches a lost notice.
async fn announce(nats: &async_nats::Client, webhook_id: Uuid, tenant_id: &str) {
    let change = WebhookChange {
        webhook_id,
        tenant_id: tenant_id.to_string(),
        op: ChangeOp::Upsert,
    };
    let payload = match serde_json::to_vec(&change) {
        Ok(p) => p,
        Err(_) => return,
    };
    if let Err(error) = nats.publish(WEBHOOK_CHANGES, payload.into()).await {
        tracing::warn!(%error, %webhook_id, "Could not announce the endpoint change.");
    }
}

/// Subscribe to change notices. Done before the first full load, so no
/// change can fall between the load and the subscription.
pub async fn subscribe(
    nats: &async_nats::Client,
) -> Result<async_nats::Subscriber, async_nats::SubscribeError> {
    nats.subscribe(WEBHOOK_CHANGES).await
}

/// Apply notices as they come and reload everything every `refresh_every`,
/// until shutdown.
pub async fn keep_current(
    cache: Arc<EndpointsCache>,
    mut notices: async_nats::Subscriber,
    refresh_every: Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(refresh_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; the caller just loaded
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => match cache.load_all().await {
                Ok(n) => tracing::debug!(endpoints = n, "Reloaded endpoints."),
                Err(error) => tracing::warn!(%error, "Could not reload endpoints."),
            },
            msg = notices.next() => {
                let Some(msg) = msg else { break };
                apply(&cache, &msg.payload).await;
            }
        }
    }
}

async fn apply(cache: &EndpointsCache, payload: &[u8]) {
    let change: WebhookChange = match serde_json::from_slice(payload) {
        Ok(c) => c,
        Err(error) => {
            tracing::warn!(%error, "Ignoring a malformed endpoint change notice.");
            return;
        }
    };
    match change.op {
        ChangeOp::Delete => cache.forget(change.webhook_id),
        ChangeOp::Upsert => {
            // A failed read leaves the old entry; the periodic reload repairs it.
            if let Err(error) = cache.refresh(change.webhook_id).await {
                tracing::warn!(%error, webhook_id = %change.webhook_id, "Could not refresh an endpoint.");
            }
        }
    }
    tracing::debug!(webhook_id = %change.webhook_id, op = ?change.op, "Applied endpoint change.");
}
