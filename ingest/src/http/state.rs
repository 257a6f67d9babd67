//! What every handler shares.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use deadpool_postgres::Pool;
use herald_common::config::Config;
use herald_common::crypto::Keyring;
use herald_common::messages::{ChangeOp, WebhookChange};
use herald_common::subjects::WEBHOOK_CHANGES;
use herald_common::url_guard::UrlGuard;
use uuid::Uuid;

use crate::http::rate_limit::TenantLimiter;
use crate::pipeline::publisher::Publisher;
use crate::pipeline::resend::Resend;
use crate::pipeline::writer::EventWriter;
use crate::store::cache::{ApiKeys, EventTypes, Tenants};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub db: Pool,
    pub nats: async_nats::Client,
    pub js: jetstream::Context,
    pub guard: UrlGuard,
    /// Encrypts endpoint secrets (`config.security.keys`, read once at start).
    pub keyring: Keyring,
    pub writer: EventWriter,
    /// Publishes events committed outside the writer (operational events
    /// of endpoint changes); the outbox relay covers what it cannot.
    pub publisher: Publisher,
    pub event_types: EventTypes,
    pub tenants: Tenants,
    pub keys: ApiKeys,
    /// Per-tenant event rate limits.
    pub rate_limits: TenantLimiter,
    /// Set once the streams and consumers are known to exist.
    pub provisioned: AtomicBool,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    pub fn nats_ready(&self) -> bool {
        self.provisioned.load(Ordering::Relaxed)
            && self.nats.connection_state() == async_nats::connection::State::Connected
    }

    /// Manual re-sends, with NATS's readiness as of now.
    pub fn resend(&self) -> Resend<'_> {
        Resend {
            db: &self.db,
            js: &self.js,
            nats_ready: self.nats_ready(),
            lease: self.config.streams.claim_lease(),
        }
    }

    /// Tell dispatchers an endpoint changed (best effort: they also refresh
    /// periodically, so a notice skipped while NATS is down only delays it).
    /// The notice is flushed to the server before the response, so it is on
    /// its way to every dispatcher before the caller can send an event (fan-out
    /// reads the subscribed endpoints from Postgres anyway; the notice keeps
    /// the caches current). Never holds up the response for long.
    pub async fn announce_webhook_change(&self, webhook_id: Uuid, tenant_id: &str, op: ChangeOp) {
        if self.nats.connection_state() != async_nats::connection::State::Connected {
            tracing::debug!(%webhook_id, "NATS is down; dispatchers will see the change on their next refresh.");
            return;
        }
        let change = WebhookChange {
            webhook_id,
            tenant_id: tenant_id.to_string(),
            op,
        };
        let Ok(body) = serde_json::to_vec(&change) else {
            return;
        };
        let nats = &self.nats;
        let publish = async move {
            nats.publish(WEBHOOK_CHANGES, body.into())
                .await
                .map_err(|e| e.to_string())?;
            nats.flush().await.map_err(|e| e.to_string())
        };
        match tokio::time::timeout(Duration::from_secs(1), publish).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, %webhook_id, "Could not announce an endpoint change.")
            }
            Err(_) => tracing::warn!(%webhook_id, "Announcing an endpoint change timed out."),
        }
    }
}
