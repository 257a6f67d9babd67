//! The sections of [`super::Config`], one per [`super::settings::Section`]:
//! each binary takes the parts it needs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::Secret;
use crate::crypto::key_file::{self, KeyFileError};
use crate::crypto::Keyring;
use crate::url_guard::UrlGuard;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Local development: insecure defaults allowed, with loud warnings.
    Local,
    /// Production: secrets must be configured explicitly.
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    File,
    Memory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// PostgreSQL.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: Secret,
    pub pool_size: usize,
}

/// JetStream stream and consumer settings.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    pub replicas: usize,
    pub storage: StorageKind,
    pub max_age: Duration,
    pub duplicate_window: Duration,
    /// `max_bytes` of `HERALD_EVENTS` (`None`: unlimited).
    pub events_max_bytes: Option<u64>,
    /// `max_bytes` of `HERALD_DELIVERIES` (`None`: unlimited).
    pub deliveries_max_bytes: Option<u64>,
    pub ack_wait: Duration,
    pub fanout_max_ack_pending: i64,
    pub deliver_max_ack_pending: i64,
}

impl StreamSettings {
    /// How long a delivery claimed for sending (by the retry scheduler, or
    /// created by ingest for a test event or a replay) is left alone before
    /// the scheduler may send it again: the ack wait, at most half the
    /// duplicate window (so a second publish is still dropped as a
    /// duplicate), at least a second.
    pub fn claim_lease(&self) -> Duration {
        (self.duplicate_window / 2)
            .min(self.ack_wait)
            .max(Duration::from_secs(1))
    }
}

/// The REST API node.
#[derive(Debug, Clone)]
pub struct IngestSettings {
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    pub max_batch_events: usize,
    /// How long an idempotency key returns its event; a key reused later
    /// makes a new event.
    pub idempotency_window: Duration,
    /// Events, deliveries and attempts older than this are deleted.
    pub retention: Duration,
    /// How often the retention task starts a round.
    pub retention_interval: Duration,
    /// Events deleted per retention batch (with their deliveries and attempts).
    pub retention_batch: i64,
    pub max_endpoints_per_tenant: i64,
    pub secret_rotation_grace: Duration,
    pub request_timeout: Duration,
    /// Most event insert statements ingest keeps in flight at once; a second
    /// one starts only for a large group (`ingest/src/pipeline/writer.rs`).
    pub event_writers: usize,
    pub outbox_interval: Duration,
    /// Where `/metrics` is served instead of the API listener, if apart.
    pub metrics_listen: Option<SocketAddr>,
    /// Events per second per tenant on `POST /events` and `/events/batch`.
    pub rate_limits: RateLimits,
}

/// A tenant's event rate: `per_second` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRate {
    pub per_second: u32,
    pub burst: u32,
}

/// `HERALD_RATE_LIMIT(_BURST)` and `HERALD_TENANT_RATE_LIMITS`; `None` is
/// no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimits {
    pub default: Option<EventRate>,
    pub tenants: Vec<(String, Option<EventRate>)>,
}

impl RateLimits {
    /// The rate that applies to `tenant`.
    pub fn for_tenant(&self, tenant: &str) -> Option<EventRate> {
        self.tenants
            .iter()
            .find(|(t, _)| t == tenant)
            .map_or(self.default, |(_, rate)| *rate)
    }

    /// Whether any tenant is limited.
    pub fn any(&self) -> bool {
        self.default.is_some() || self.tenants.iter().any(|(_, r)| r.is_some())
    }
}

/// The delivery node.
#[derive(Debug, Clone)]
pub struct DispatcherSettings {
    pub id: String,
    pub metrics_listen: SocketAddr,
    pub concurrency: usize,
    pub fetch_batch: usize,
    pub delivery_timeout: Duration,
    pub connect_timeout: Duration,
    pub response_body_limit: usize,
    pub endpoint_max_in_flight: usize,
    pub auto_disable_after: Duration,
    /// Emit `herald.endpoint.failing` once an endpoint's deliveries have
    /// failed this long since its last success.
    pub endpoint_failing_after: Duration,
    pub endpoint_refresh_interval: Duration,
    pub retry_poll_interval: Duration,
    /// How often to look for (and remove) orphaned deliveries and attempts.
    pub integrity_check_interval: Duration,
    pub shutdown_grace: Duration,
    /// Fan-out makes a new delivery's first attempt itself when its
    /// endpoint has room at once (docs/dispatcher.md, "Direct first attempts").
    pub direct_first_attempt: bool,
}

/// When to try a failed delivery again: `schedule[n]` is the delay after
/// attempt n + 1, spread by `±jitter` (a fraction, e.g. 0.2).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub schedule: Vec<Duration>,
    pub jitter: f64,
    /// `false`: 4xx answers other than 408, 409, 425 and 429 fail at once.
    /// Global policy: `true`; an endpoint may choose otherwise.
    pub retry_on_4xx: bool,
}

impl RetryPolicy {
    /// This (global) policy as an endpoint overrides it: its own schedule,
    /// if it has one, and its 4xx choice.
    pub fn for_endpoint(&self, schedule: Option<&[Duration]>, retry_on_4xx: bool) -> Self {
        Self {
            schedule: schedule.map_or_else(|| self.schedule.clone(), <[Duration]>::to_vec),
            jitter: self.jitter,
            retry_on_4xx,
        }
    }
}

/// Credentials, secrets at rest, and which endpoint URLs are allowed.
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    /// The first admin token (`HERALD_ADMIN_TOKEN`, else the first of
    /// `HERALD_ADMIN_TOKENS`): what local tools send.
    pub admin_token: Secret,
    /// Every admin token accepted, `admin_token` first.
    pub admin_tokens: Vec<Secret>,
    /// Where the keys that encrypt endpoint secrets come from.
    pub keys: KeySource,
    /// `HERALD_ALLOW_PRIVATE_URLS` and `HERALD_URL_ALLOWLIST`.
    pub url_guard: UrlGuard,
}

/// The keys of secrets at rest.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `HERALD_ENCRYPTION_KEY` or `HERALD_ENCRYPTION_KEYS`.
    Configured(Keyring),
    /// Local mode without either: the install's key file (made on first use).
    LocalFile(PathBuf),
}

impl KeySource {
    /// The keyring, reading (or making) the local key file if that is the
    /// source. Each process calls this once at start.
    pub fn keyring(&self) -> Result<Keyring, KeyFileError> {
        match self {
            KeySource::Configured(ring) => Ok(ring.clone()),
            KeySource::LocalFile(path) => {
                let (ring, created) = key_file::local_keyring(path)?;
                if created {
                    tracing::warn!(path = %path.display(), "Generated this install's encryption key (local mode). Keep the file with your backups; production needs HERALD_ENCRYPTION_KEY(S).");
                } else {
                    tracing::info!(path = %path.display(), "Endpoint secrets are encrypted with the local key file (local mode).");
                }
                Ok(ring)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    pub log_filter: String,
    pub log_format: LogFormat,
}
