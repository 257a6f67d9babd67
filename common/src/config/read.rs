//! Reading each section from its declared settings. Every variable is read
//! (so every error is reported) before a section is built; a section is
//! `None` when any of its parts was bad.

use std::path::PathBuf;
use std::time::Duration;

use super::nats::{parse_server, NatsSettings};
use super::parse::{parse_max_bytes, parse_retry_schedule, Reader};
use super::sections::*;
use super::settings::*;
use super::Secret;
use crate::crypto::{EncryptionKey, KeyId, Keyring};
use crate::domain::TenantId;
use crate::url_guard::{AllowEntry, UrlGuard};

/// The admin token of local mode when none is configured.
const LOCAL_ADMIN_TOKEN: &str = "herald-local-admin-token";

const ADDRESS: &str = "a socket address (host:port)";

pub(super) fn mode(r: &mut Reader) -> Option<Mode> {
    use Mode::*;
    let names = [
        ("local", Local),
        ("development", Local),
        ("dev", Local),
        ("production", Production),
        ("prod", Production),
    ];
    r.choice(&MODE, &names)
}

pub(super) fn database(r: &mut Reader) -> Option<DatabaseSettings> {
    let url = r.read(&DATABASE_URL, |v| {
        if v.starts_with("postgres://") || v.starts_with("postgresql://") {
            Ok(Secret::new(v))
        } else {
            Err("must start with postgres:// or postgresql://".into())
        }
    });
    let pool_size = r.positive(&DATABASE_POOL_SIZE);
    Some(DatabaseSettings {
        url: url?,
        pool_size: pool_size?,
    })
}

pub(super) fn nats(r: &mut Reader) -> Option<NatsSettings> {
    let servers = r.list(&NATS_URL, parse_server)?;
    if servers.is_empty() {
        r.error(format!("{} lists no server", NATS_URL.name));
        return None;
    }
    Some(NatsSettings { servers })
}

pub(super) fn streams(r: &mut Reader) -> Option<StreamSettings> {
    let storage = r.choice(
        &STREAM_STORAGE,
        &[("file", StorageKind::File), ("memory", StorageKind::Memory)],
    );
    let replicas = r.number(&STREAM_REPLICAS, 1..=5);
    let max_age = r.duration(&STREAM_MAX_AGE);
    let duplicate_window = r.duration(&DUPLICATE_WINDOW);
    let events_max_bytes = r.read(&EVENTS_MAX_BYTES, parse_max_bytes);
    let deliveries_max_bytes = r.read(&DELIVERIES_MAX_BYTES, parse_max_bytes);
    let ack_wait = r.duration(&ACK_WAIT);
    let fanout_max_ack_pending = r.positive(&FANOUT_MAX_ACK_PENDING);
    let deliver_max_ack_pending = r.positive(&DELIVER_MAX_ACK_PENDING);
    Some(StreamSettings {
        replicas: replicas?,
        storage: storage?,
        max_age: max_age?,
        duplicate_window: duplicate_window?,
        events_max_bytes: events_max_bytes?,
        deliveries_max_bytes: deliveries_max_bytes?,
        ack_wait: ack_wait?,
        fanout_max_ack_pending: fanout_max_ack_pending?,
        deliver_max_ack_pending: deliver_max_ack_pending?,
    })
}

pub(super) fn ingest(r: &mut Reader) -> Option<IngestSettings> {
    let listen = r.parse(&LISTEN, ADDRESS);
    let max_body_bytes = r.positive(&MAX_BODY_BYTES);
    let max_batch_events = r.positive(&MAX_BATCH_EVENTS);
    let idempotency_window = r.duration(&IDEMPOTENCY_WINDOW);
    let retention = r.duration(&RETENTION);
    if retention.is_some_and(|d| d < Duration::from_secs(3600)) {
        r.error("HERALD_RETENTION must be at least 1h (deliveries are retried for about a day)");
    }
    let retention_interval = r.duration(&RETENTION_INTERVAL);
    let retention_batch = r.positive(&RETENTION_BATCH);
    let max_endpoints_per_tenant =
        r.parse::<u32>(&MAX_ENDPOINTS_PER_TENANT, "a whole number (0 or more)");
    let secret_rotation_grace = r.duration(&SECRET_ROTATION_GRACE);
    let request_timeout = r.duration(&REQUEST_TIMEOUT);
    let event_writers = r.positive(&EVENT_WRITERS);
    let outbox_interval = r.duration(&OUTBOX_INTERVAL);
    let metrics_listen = r.optional(&INGEST_METRICS_LISTEN, |v| {
        v.parse().map_err(|_| format!("not {ADDRESS}"))
    });
    let rate_limits = rate_limits(r);
    Some(IngestSettings {
        listen: listen?,
        max_body_bytes: max_body_bytes?,
        max_batch_events: max_batch_events?,
        idempotency_window: idempotency_window?,
        retention: retention?,
        retention_interval: retention_interval?,
        retention_batch: retention_batch?,
        max_endpoints_per_tenant: max_endpoints_per_tenant?.into(),
        secret_rotation_grace: secret_rotation_grace?,
        request_timeout: request_timeout?,
        event_writers: event_writers?,
        outbox_interval: outbox_interval?,
        metrics_listen: metrics_listen?,
        rate_limits: rate_limits?,
    })
}

fn rate_limits(r: &mut Reader) -> Option<RateLimits> {
    let per_second = r.parse::<u32>(&RATE_LIMIT, "a whole number (0: no limit)");
    let burst = r.positive::<u32>(&RATE_LIMIT_BURST);
    let default_burst = burst.unwrap_or(1);
    let tenants = r.list(&TENANT_RATE_LIMITS, |entry| {
        let (tenant, rate) = entry
            .split_once('=')
            .ok_or("not tenant=rate or tenant=rate/burst")?;
        let tenant = TenantId::parse(tenant.trim()).map_err(|e| e.to_string())?;
        let (rate, burst) = match rate.split_once('/') {
            Some((rate, burst)) => (rate, burst.trim().parse().ok().filter(|b| *b > 0)),
            None => (rate, Some(default_burst)),
        };
        let per_second: u32 = rate
            .trim()
            .parse()
            .map_err(|_| "the rate is not a whole number")?;
        let burst = burst.ok_or("the burst is not a whole number greater than 0")?;
        Ok((tenant.as_str().to_string(), event_rate(per_second, burst)))
    });
    Some(RateLimits {
        default: event_rate(per_second?, burst?),
        tenants: tenants?,
    })
}

fn event_rate(per_second: u32, burst: u32) -> Option<EventRate> {
    (per_second > 0).then_some(EventRate { per_second, burst })
}

pub(super) fn dispatcher(r: &mut Reader) -> Option<DispatcherSettings> {
    let id = r
        .raw(&DISPATCHER_ID)
        .unwrap_or_else(|| format!("dispatcher-{}", std::process::id()));
    let metrics_listen = r.parse(&METRICS_LISTEN, ADDRESS);
    let concurrency = r.positive(&DISPATCHER_CONCURRENCY);
    let fetch_batch = r.positive(&FETCH_BATCH);
    let delivery_timeout = r.duration(&DELIVERY_TIMEOUT);
    let connect_timeout = r.duration(&CONNECT_TIMEOUT);
    let response_body_limit = r.parse(&RESPONSE_BODY_LIMIT, "a size in bytes");
    let endpoint_max_in_flight = r.positive(&ENDPOINT_MAX_IN_FLIGHT);
    let auto_disable_after = r.duration(&AUTO_DISABLE_AFTER);
    let endpoint_failing_after = r.duration(&ENDPOINT_FAILING_AFTER);
    let endpoint_refresh_interval = r.duration(&ENDPOINT_REFRESH_INTERVAL);
    let retry_poll_interval = r.duration(&RETRY_POLL_INTERVAL);
    let integrity_check_interval = r.duration(&INTEGRITY_CHECK_INTERVAL);
    let shutdown_grace = r.duration(&SHUTDOWN_GRACE);
    let direct_first_attempt = r.boolean(&DIRECT_FIRST_ATTEMPT);
    Some(DispatcherSettings {
        id,
        metrics_listen: metrics_listen?,
        concurrency: concurrency?,
        fetch_batch: fetch_batch?,
        delivery_timeout: delivery_timeout?,
        connect_timeout: connect_timeout?,
        response_body_limit: response_body_limit?,
        endpoint_max_in_flight: endpoint_max_in_flight?,
        auto_disable_after: auto_disable_after?,
        endpoint_failing_after: endpoint_failing_after?,
        endpoint_refresh_interval: endpoint_refresh_interval?,
        retry_poll_interval: retry_poll_interval?,
        integrity_check_interval: integrity_check_interval?,
        shutdown_grace: shutdown_grace?,
        direct_first_attempt: direct_first_attempt?,
    })
}

pub(super) fn retry(r: &mut Reader) -> Option<RetryPolicy> {
    let schedule = r.read(&RETRY_SCHEDULE, parse_retry_schedule);
    let jitter = r.number(&RETRY_JITTER, 0.0..=1.0);
    Some(RetryPolicy {
        schedule: schedule?,
        jitter: jitter?,
        retry_on_4xx: true,
    })
}

pub(super) fn security(r: &mut Reader, mode: Option<Mode>) -> Option<SecuritySettings> {
    let production = mode == Some(Mode::Production);
    let admin_tokens = admin_tokens(r, production);
    let keys = key_source(r, production);
    let allow_private = r.boolean(&ALLOW_PRIVATE_URLS);
    let allowlist = r.list(&URL_ALLOWLIST, AllowEntry::parse);
    let admin_tokens = admin_tokens?;
    Some(SecuritySettings {
        admin_token: admin_tokens.first()?.clone(),
        admin_tokens,
        keys: keys?,
        url_guard: UrlGuard::new(allow_private?, allowlist?),
    })
}

/// `HERALD_ADMIN_TOKEN` then each of `HERALD_ADMIN_TOKENS`; at least one in
/// production, the local token otherwise.
fn admin_tokens(r: &mut Reader, production: bool) -> Option<Vec<Secret>> {
    let check = |t: &str| {
        if t.len() < 16 {
            Err("must be at least 16 characters".to_string())
        } else {
            Ok(Secret::new(t))
        }
    };
    let single = r.optional(&ADMIN_TOKEN, check);
    let more = r.list(&ADMIN_TOKENS, check);
    let tokens: Vec<Secret> = single?.into_iter().chain(more?).collect();
    if !tokens.is_empty() {
        return Some(tokens);
    }
    if production {
        r.error(format!(
            "{} (or {}) is required when HERALD_MODE=production",
            ADMIN_TOKEN.name, ADMIN_TOKENS.name
        ));
        return None;
    }
    Some(vec![Secret::new(LOCAL_ADMIN_TOKEN)])
}

/// The configured keys; in local mode without any, the install's key file.
fn key_source(r: &mut Reader, production: bool) -> Option<KeySource> {
    let single = r.optional(&ENCRYPTION_KEY, |v| {
        let key = EncryptionKey::from_base64(v).map_err(|e| e.to_string())?;
        Ok(vec![(
            KeyId::parse("primary").map_err(|e| e.to_string())?,
            key,
        )])
    });
    let many = r.optional(&ENCRYPTION_KEYS, parse_keys);
    match (single?, many?) {
        (Some(_), Some(_)) => {
            r.error(format!(
                "set {} or {}, not both (HERALD_ENCRYPTION_KEY=k is HERALD_ENCRYPTION_KEYS=primary:k)",
                ENCRYPTION_KEY.name, ENCRYPTION_KEYS.name
            ));
            None
        }
        (Some(keys), None) | (None, Some(keys)) => match Keyring::new(keys) {
            Ok(ring) => Some(KeySource::Configured(ring)),
            Err(e) => {
                r.error(format!("{}: {e}", ENCRYPTION_KEYS.name));
                None
            }
        },
        (None, None) if production => {
            r.error(format!(
                "{} (or {}) is required when HERALD_MODE=production \
                 (32 random bytes, base64; e.g. `openssl rand -base64 32`)",
                ENCRYPTION_KEY.name, ENCRYPTION_KEYS.name
            ));
            None
        }
        (None, None) => Some(KeySource::LocalFile(key_file_path(r))),
    }
}

/// `id:base64,id:base64`.
fn parse_keys(v: &str) -> Result<Vec<(KeyId, EncryptionKey)>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (id, key) = entry
                .split_once(':')
                .ok_or_else(|| "each entry is id:base64-key".to_string())?;
            let id = KeyId::parse(id.trim()).map_err(|e| e.to_string())?;
            let key = EncryptionKey::from_base64(key)
                .map_err(|e| format!("key {:?}: {e}", id.as_str()))?;
            Ok((id, key))
        })
        .collect()
}

/// `HERALD_KEY_FILE`, else under `$XDG_STATE_HOME`, else `~/.local/state`,
/// else the working directory.
fn key_file_path(r: &Reader) -> PathBuf {
    if let Some(path) = r.raw(&KEY_FILE) {
        return PathBuf::from(path);
    }
    let base = r
        .outside("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            r.outside("HOME")
                .map(|home| PathBuf::from(home).join(".local/state"))
        })
        .unwrap_or_else(|| PathBuf::from(".local/state"));
    base.join("herald/encryption.key")
}

pub(super) fn telemetry(r: &mut Reader) -> Option<TelemetrySettings> {
    let log_filter = r.read(&LOG, |v| Ok(v.to_string()));
    let log_format = r.choice(
        &LOG_FORMAT,
        &[("text", LogFormat::Text), ("json", LogFormat::Json)],
    );
    Some(TelemetrySettings {
        log_filter: log_filter?,
        log_format: log_format?,
    })
}
