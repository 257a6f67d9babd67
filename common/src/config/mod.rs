//! Configuration from `HERALD_*` environment variables.
//!
//! Read through the [`Env`] trait so tests can build a [`Config`] from a map
//! without touching the process environment. Every bad variable is reported at
//! once (`ConfigErrors`), so an operator fixes them in one go.

use std::net::SocketAddr;
use std::time::Duration;

mod env;
mod parse;

pub use env::{Env, MapEnv, ProcessEnv, Secret};
use parse::Reader;
pub use parse::{parse_duration, parse_retry_schedule};

use crate::crypto::EncryptionKey;

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

/// JetStream stream and consumer settings.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    pub replicas: usize,
    pub storage: StorageKind,
    pub max_age: Duration,
    pub duplicate_window: Duration,
    pub ack_wait: Duration,
    pub fanout_max_ack_pending: i64,
    pub deliver_max_ack_pending: i64,
}

/// Every Herald setting. Both binaries read the same struct and use the
/// parts they need; the README's settings table lists them all.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub database_url: Secret,
    pub database_pool_size: usize,
    /// Most event insert statements ingest keeps in flight at once; a second
    /// one starts only for a large group (ingest/src/writer.rs).
    pub event_writers: usize,
    pub nats_url: String,
    pub listen: SocketAddr,
    pub metrics_listen: SocketAddr,
    pub admin_token: Secret,
    pub encryption_key: EncryptionKey,
    /// True when the key was not configured and the insecure dev key is in use.
    pub encryption_key_is_dev: bool,
    pub streams: StreamSettings,
    pub retry_schedule: Vec<Duration>,
    pub retry_jitter: f64,
    pub retry_poll_interval: Duration,
    pub max_body_bytes: usize,
    pub max_batch_events: usize,
    pub allow_private_urls: bool,
    pub url_allowlist: Vec<String>,
    pub max_endpoints_per_tenant: i64,
    pub secret_rotation_grace: Duration,
    pub request_timeout: Duration,
    pub outbox_interval: Duration,
    pub delivery_timeout: Duration,
    pub connect_timeout: Duration,
    pub response_body_limit: usize,
    pub endpoint_max_in_flight: usize,
    pub dispatcher_concurrency: usize,
    pub fetch_batch: usize,
    pub auto_disable_after: Duration,
    /// Emit `herald.endpoint.failing` once an endpoint's deliveries have
    /// failed this long since its last success.
    pub endpoint_failing_after: Duration,
    /// How long an idempotency key returns its event; a key reused later
    /// makes a new event.
    pub idempotency_window: Duration,
    pub endpoint_refresh_interval: Duration,
    pub shutdown_grace: Duration,
    pub dispatcher_id: String,
    pub log_filter: String,
    pub log_format: LogFormat,
}

/// All configuration problems found, one line each.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<String>);

/// Default retry schedule: 8 attempts over about a day.
pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";

/// The well-known insecure key used in local mode when none is configured.
/// Deterministic so that every local process (ingest, dispatchers) agrees.
const DEV_KEY_SEED: &[u8] = b"herald insecure local development key";

impl Config {
    /// Read from the process environment.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_source(&ProcessEnv)
    }

    /// Read from any [`Env`]; all errors are collected.
    pub fn from_source(env: &dyn Env) -> Result<Self, ConfigErrors> {
        let mut r = Reader {
            env,
            errors: Vec::new(),
        };
        let mode = match r.raw("HERALD_MODE").as_deref() {
            None | Some("local") | Some("development") | Some("dev") => Mode::Local,
            Some("production") | Some("prod") => Mode::Production,
            Some(other) => {
                r.errors.push(format!(
                    "HERALD_MODE={other:?} is not one of local, production"
                ));
                Mode::Local
            }
        };
        let database_url = Secret::new(
            r.raw("HERALD_DATABASE_URL")
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/herald".into()),
        );
        if !database_url.expose().starts_with("postgres://")
            && !database_url.expose().starts_with("postgresql://")
        {
            r.errors
                .push("HERALD_DATABASE_URL must start with postgres:// or postgresql://".into());
        }
        let nats_url = r
            .raw("HERALD_NATS_URL")
            .unwrap_or_else(|| "nats://127.0.0.1:4222".into());

        let admin_token = match (r.raw("HERALD_ADMIN_TOKEN"), mode) {
            (Some(t), _) if t.len() < 16 => {
                r.errors
                    .push("HERALD_ADMIN_TOKEN must be at least 16 characters".into());
                Secret::new(t)
            }
            (Some(t), _) => Secret::new(t),
            (None, Mode::Production) => {
                r.errors
                    .push("HERALD_ADMIN_TOKEN is required when HERALD_MODE=production".into());
                Secret::new("")
            }
            (None, Mode::Local) => Secret::new("herald-local-admin-token"),
        };

        let (encryption_key, encryption_key_is_dev) = match r.raw("HERALD_ENCRYPTION_KEY") {
            Some(k) => match EncryptionKey::from_base64(&k) {
                Ok(key) => (key, false),
                Err(e) => {
                    r.errors.push(format!("HERALD_ENCRYPTION_KEY: {e}"));
                    (EncryptionKey::derive_insecure(DEV_KEY_SEED), true)
                }
            },
            None => {
                if mode == Mode::Production {
                    r.errors.push(
                        "HERALD_ENCRYPTION_KEY is required when HERALD_MODE=production \
                         (32 random bytes, base64; e.g. `openssl rand -base64 32`)"
                            .into(),
                    );
                }
                (EncryptionKey::derive_insecure(DEV_KEY_SEED), true)
            }
        };

        let storage = match r.raw("HERALD_STREAM_STORAGE").as_deref() {
            None | Some("file") => StorageKind::File,
            Some("memory") => StorageKind::Memory,
            Some(other) => {
                r.errors.push(format!(
                    "HERALD_STREAM_STORAGE={other:?} is not one of file, memory"
                ));
                StorageKind::File
            }
        };
        let replicas = r.positive("HERALD_STREAM_REPLICAS", 1usize, "a number of replicas");
        if replicas > 5 {
            r.errors
                .push("HERALD_STREAM_REPLICAS must be between 1 and 5".into());
        }
        let streams = StreamSettings {
            replicas,
            storage,
            max_age: r.duration("HERALD_STREAM_MAX_AGE", "7d"),
            duplicate_window: r.duration("HERALD_DUPLICATE_WINDOW", "10m"),
            ack_wait: r.duration("HERALD_ACK_WAIT", "60s"),
            fanout_max_ack_pending: r.positive(
                "HERALD_FANOUT_MAX_ACK_PENDING",
                10_000i64,
                "a positive integer",
            ),
            deliver_max_ack_pending: r.positive(
                "HERALD_DELIVER_MAX_ACK_PENDING",
                10_000i64,
                "a positive integer",
            ),
        };

        let retry_schedule = match r.raw("HERALD_RETRY_SCHEDULE") {
            None => parse_retry_schedule(DEFAULT_RETRY_SCHEDULE).unwrap_or_default(),
            Some(v) => parse_retry_schedule(&v).unwrap_or_else(|e| {
                r.errors.push(format!("HERALD_RETRY_SCHEDULE={v:?}: {e}"));
                Vec::new()
            }),
        };
        let retry_jitter = r.parse("HERALD_RETRY_JITTER", 0.2f64, "a number");
        if !(0.0..=1.0).contains(&retry_jitter) {
            r.errors
                .push("HERALD_RETRY_JITTER must be between 0 and 1".into());
        }

        let log_format = match r.raw("HERALD_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                r.errors.push(format!(
                    "HERALD_LOG_FORMAT={other:?} is not one of text, json"
                ));
                LogFormat::Text
            }
        };

        let default_id = format!("dispatcher-{}", std::process::id());
        let config = Config {
            mode,
            database_pool_size: r.positive("HERALD_DATABASE_POOL_SIZE", 16usize, "a pool size"),
            event_writers: r.positive("HERALD_EVENT_WRITERS", 8usize, "a positive integer"),
            database_url,
            nats_url,
            listen: r.parse(
                "HERALD_LISTEN",
                SocketAddr::from(([127, 0, 0, 1], 8080)),
                "a socket address (host:port)",
            ),
            metrics_listen: r.parse(
                "HERALD_METRICS_LISTEN",
                SocketAddr::from(([127, 0, 0, 1], 9091)),
                "a socket address (host:port)",
            ),
            admin_token,
            encryption_key,
            encryption_key_is_dev,
            streams,
            retry_schedule,
            retry_jitter,
            retry_poll_interval: r.duration("HERALD_RETRY_POLL_INTERVAL", "1s"),
            max_body_bytes: r.positive("HERALD_MAX_BODY_BYTES", 256 * 1024usize, "a size in bytes"),
            max_batch_events: r.positive(
                "HERALD_MAX_BATCH_EVENTS",
                1000usize,
                "a positive integer",
            ),
            allow_private_urls: r.boolean("HERALD_ALLOW_PRIVATE_URLS", false),
            url_allowlist: r
                .raw("HERALD_URL_ALLOWLIST")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            max_endpoints_per_tenant: r.parse(
                "HERALD_MAX_ENDPOINTS_PER_TENANT",
                100i64,
                "a non-negative integer",
            ),
            secret_rotation_grace: r.duration("HERALD_SECRET_ROTATION_GRACE", "24h"),
            request_timeout: r.duration("HERALD_REQUEST_TIMEOUT", "30s"),
            outbox_interval: r.duration("HERALD_OUTBOX_INTERVAL", "1s"),
            delivery_timeout: r.duration("HERALD_DELIVERY_TIMEOUT", "10s"),
            connect_timeout: r.duration("HERALD_CONNECT_TIMEOUT", "10s"),
            response_body_limit: r.parse(
                "HERALD_RESPONSE_BODY_LIMIT",
                1024usize,
                "a size in bytes",
            ),
            endpoint_max_in_flight: r.positive(
                "HERALD_ENDPOINT_MAX_IN_FLIGHT",
                16usize,
                "a positive integer",
            ),
            dispatcher_concurrency: r.positive(
                "HERALD_DISPATCHER_CONCURRENCY",
                256usize,
                "a positive integer",
            ),
            fetch_batch: r.positive("HERALD_FETCH_BATCH", 256usize, "a positive integer"),
            auto_disable_after: r.duration("HERALD_AUTO_DISABLE_AFTER", "5d"),
            endpoint_failing_after: r.duration("HERALD_ENDPOINT_FAILING_AFTER", "1h"),
            idempotency_window: r.duration("HERALD_IDEMPOTENCY_WINDOW", "24h"),
            endpoint_refresh_interval: r.duration("HERALD_ENDPOINT_REFRESH_INTERVAL", "30s"),
            shutdown_grace: r.duration("HERALD_SHUTDOWN_GRACE", "20s"),
            dispatcher_id: r.raw("HERALD_DISPATCHER_ID").unwrap_or(default_id),
            log_filter: r.raw("HERALD_LOG").unwrap_or_else(|| "info".into()),
            log_format,
        };
        if config.max_endpoints_per_tenant < 0 {
            r.errors
                .push("HERALD_MAX_ENDPOINTS_PER_TENANT must be 0 or more".into());
        }
        if r.errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(r.errors))
        }
    }

    /// The variables of a test config: defaults, pointed at the given
    /// servers, loopback endpoints allowed, millisecond retries, port 0.
    pub fn test_env(database_url: &str, nats_url: &str) -> MapEnv {
        MapEnv::new()
            .with("HERALD_DATABASE_URL", database_url)
            .with("HERALD_NATS_URL", nats_url)
            .with("HERALD_ALLOW_PRIVATE_URLS", "true")
            .with("HERALD_RETRY_SCHEDULE", "50ms,100ms,200ms")
            .with("HERALD_RETRY_POLL_INTERVAL", "20ms")
            .with("HERALD_OUTBOX_INTERVAL", "100ms")
            .with("HERALD_LISTEN", "127.0.0.1:0")
            .with("HERALD_METRICS_LISTEN", "127.0.0.1:0")
    }

    /// A config for tests, built from [`Config::test_env`].
    pub fn for_tests(database_url: &str, nats_url: &str) -> Self {
        let env = Self::test_env(database_url, nats_url);
        // The map above only holds valid values.
        match Self::from_source(&env) {
            Ok(c) => c,
            Err(e) => panic!("test config is invalid: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_in_local_mode() {
        let c = Config::from_source(&MapEnv::new()).expect("defaults");
        assert_eq!(c.mode, Mode::Local);
        assert_eq!(c.retry_schedule.len(), 7);
        assert_eq!(c.retry_schedule[0], Duration::from_secs(5));
        assert!(c.encryption_key_is_dev);
        assert_eq!(c.max_body_bytes, 262_144);
        assert_eq!(c.idempotency_window, Duration::from_secs(24 * 3600));
        assert_eq!(c.endpoint_failing_after, Duration::from_secs(3600));
    }

    #[test]
    fn production_requires_secrets_and_reports_every_error() {
        let env = MapEnv::new()
            .with("HERALD_MODE", "production")
            .with("HERALD_DATABASE_POOL_SIZE", "zero")
            .with("HERALD_RETRY_SCHEDULE", "5s,soon");
        let err = Config::from_source(&env).expect_err("must fail");
        let text = err.to_string();
        assert!(text.contains("HERALD_ADMIN_TOKEN"), "{text}");
        assert!(text.contains("HERALD_ENCRYPTION_KEY"), "{text}");
        assert!(text.contains("HERALD_DATABASE_POOL_SIZE"), "{text}");
        assert!(text.contains("HERALD_RETRY_SCHEDULE"), "{text}");
        assert_eq!(err.0.len(), 4);
    }

    #[test]
    fn durations_accept_milliseconds_and_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_retry_schedule("").is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let c =
            Config::from_source(&MapEnv::new().with("HERALD_ADMIN_TOKEN", "a-very-secret-token"))
                .expect("valid");
        let debug = format!("{c:?}");
        assert!(!debug.contains("a-very-secret-token"));
    }
}
