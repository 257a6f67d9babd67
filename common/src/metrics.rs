//! Metric names (`herald_<area>_<name>_<unit>[_total]`), their help text and
//! the Prometheus recorder. Labels are bounded enums, never ids, URLs or
//! error strings. `docs/metrics.md` is the catalogue; a test holds it to what
//! the binaries export.

use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

// Ingest.
pub const EVENTS_INGESTED_TOTAL: &str = "herald_events_ingested_total";
pub const HTTP_REQUESTS_TOTAL: &str = "herald_http_requests_total";
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "herald_http_request_duration_seconds";
pub const OUTBOX_PENDING: &str = "herald_outbox_pending";
pub const OUTBOX_OLDEST_SECONDS: &str = "herald_outbox_oldest_seconds";
pub const OUTBOX_PUBLISHED_TOTAL: &str = "herald_outbox_published_total";
// Dispatcher.
pub const DELIVERIES_TOTAL: &str = "herald_deliveries_total";
pub const DELIVERY_ATTEMPTS_TOTAL: &str = "herald_delivery_attempts_total";
pub const DELIVERY_ATTEMPT_DURATION_SECONDS: &str = "herald_delivery_attempt_duration_seconds";
pub const DELIVERY_LAG_SECONDS: &str = "herald_delivery_lag_seconds";
pub const DELIVERIES_IN_FLIGHT: &str = "herald_deliveries_in_flight";
pub const FANOUT_EVENTS_TOTAL: &str = "herald_fanout_events_total";
pub const DIRECT_ATTEMPTS_TOTAL: &str = "herald_direct_attempts_total";
pub const HTTP_POOL_CONNECTIONS: &str = "herald_http_pool_connections";
pub const CONSUMER_PENDING: &str = "herald_consumer_pending";
pub const CONSUMER_ACK_PENDING: &str = "herald_consumer_ack_pending";
pub const CONSUMER_REDELIVERED: &str = "herald_consumer_redelivered";
pub const ATTEMPT_LOG_FLUSH_SECONDS: &str = "herald_attempt_log_flush_seconds";
pub const RETRIES_SCHEDULED_TOTAL: &str = "herald_retries_scheduled_total";
pub const RETRY_BACKLOG: &str = "herald_retry_backlog";
pub const RETRY_DUE: &str = "herald_retry_due";
pub const ENDPOINTS: &str = "herald_endpoints";
pub const ENDPOINTS_DISABLED_TOTAL: &str = "herald_endpoints_disabled_total";
pub const INTEGRITY_ORPHANS_REMOVED_TOTAL: &str = "herald_integrity_orphans_removed_total";
// Both binaries (see `crate::gauges`).
pub const BUILD_INFO: &str = "herald_build_info";
pub const NATS_CONNECTED: &str = "herald_nats_connected";
pub const DB_POOL_CONNECTIONS: &str = "herald_db_pool_connections";
pub const DB_POOL_AVAILABLE: &str = "herald_db_pool_available";
pub const DB_POOL_MAX_CONNECTIONS: &str = "herald_db_pool_max_connections";
pub const DB_POOL_WAITERS: &str = "herald_db_pool_waiters";
/// Prefix of the standard process metrics (`herald_process_cpu_seconds_total`,
/// `..._resident_memory_bytes`, `..._open_fds`, ...) from `metrics-process`.
pub const PROCESS_PREFIX: &str = "herald_";

/// Values of `herald_deliveries_total{outcome}`.
pub const DELIVERY_OUTCOMES: &[&str] = &["delivered", "failed", "disabled"];
/// Values of `herald_delivery_attempts_total{result}`: a status class or a
/// transport error (`deliver::http::DeliveryError::label`).
pub const ATTEMPT_RESULTS: &[&str] = &[
    "2xx",
    "3xx",
    "4xx",
    "5xx",
    "timeout",
    "connect_error",
    "tls_error",
    "blocked",
    "error",
];
/// Values of `herald_endpoints_disabled_total{reason}`.
pub const DISABLE_REASONS: &[&str] = &["gone", "failing"];
/// Values of `herald_integrity_orphans_removed_total{table}`.
pub const ORPHAN_TABLES: &[&str] = &["deliveries", "delivery_attempts"];

/// Latency buckets (seconds) for request and delivery histograms.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 3600.0,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One Herald metric: its name, kind, unit and `# HELP` text.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Option<Unit>,
    pub help: &'static str,
}

const fn m(name: &'static str, kind: Kind, unit: Option<Unit>, help: &'static str) -> Metric {
    Metric {
        name,
        kind,
        unit,
        help,
    }
}

use Kind::{Counter, Gauge, Histogram};
const S: Option<Unit> = Some(Unit::Seconds);
const N: Option<Unit> = Some(Unit::Count);

/// Every Herald metric (the process metrics describe themselves).
#[rustfmt::skip]
pub const METRICS: &[Metric] = &[
    m(EVENTS_INGESTED_TOTAL, Counter, N, "Events accepted (committed to Postgres), by event type."),
    m(HTTP_REQUESTS_TOTAL, Counter, N, "HTTP requests answered by ingest, by route template and status code."),
    m(HTTP_REQUEST_DURATION_SECONDS, Histogram, S, "Time ingest took to answer an HTTP request, by route template."),
    m(OUTBOX_PENDING, Gauge, N, "Events committed to Postgres but not yet acknowledged by JetStream."),
    m(OUTBOX_OLDEST_SECONDS, Gauge, S, "Age of the oldest event committed to Postgres but not yet acknowledged by JetStream (0 when there is none)."),
    m(OUTBOX_PUBLISHED_TOTAL, Counter, N, "Events the outbox relay published because the fast path had not."),
    m(DELIVERIES_TOTAL, Counter, N, "Deliveries finished, by outcome (delivered, failed, disabled)."),
    m(DELIVERY_ATTEMPTS_TOTAL, Counter, N, "Delivery attempts, by result (status class or transport error)."),
    m(DELIVERY_ATTEMPT_DURATION_SECONDS, Histogram, S, "Duration of one delivery attempt (the HTTP request to the endpoint)."),
    m(DELIVERY_LAG_SECONDS, Histogram, S, "Time from an event's acceptance to its delivery to an endpoint, retries included."),
    m(DELIVERIES_IN_FLIGHT, Gauge, N, "Delivery attempts in progress in this dispatcher."),
    m(FANOUT_EVENTS_TOTAL, Counter, N, "Events fanned out: every delivery of them under way (its job stored, or its direct first attempt recorded)."),
    m(DIRECT_ATTEMPTS_TOTAL, Counter, N, "First attempts fan-out started itself, without a delivery job (`HERALD_DIRECT_FIRST_ATTEMPT`)."),
    m(HTTP_POOL_CONNECTIONS, Gauge, N, "Open connections of the dispatcher's HTTP client to endpoints."),
    m(CONSUMER_PENDING, Gauge, N, "Messages of the stream not yet delivered to the JetStream consumer, by consumer."),
    m(CONSUMER_ACK_PENDING, Gauge, N, "Messages delivered to the JetStream consumer and not yet acknowledged, by consumer."),
    m(CONSUMER_REDELIVERED, Gauge, N, "Messages the JetStream consumer delivered more than once and that are not yet acknowledged, by consumer."),
    m(ATTEMPT_LOG_FLUSH_SECONDS, Histogram, S, "Time to write one batch of attempts to Postgres."),
    m(RETRIES_SCHEDULED_TOTAL, Counter, N, "Due deliveries the retry scheduler re-published to JetStream."),
    m(RETRY_BACKLOG, Gauge, N, "Deliveries waiting in Postgres for their next attempt (a retry or a parked send)."),
    m(RETRY_DUE, Gauge, N, "Waiting deliveries whose next attempt is due and not yet re-published."),
    m(ENDPOINTS, Gauge, N, "Registered endpoints, by state (active, disabled)."),
    m(ENDPOINTS_DISABLED_TOTAL, Counter, N, "Endpoints Herald disabled, by reason (gone, failing)."),
    m(INTEGRITY_ORPHANS_REMOVED_TOTAL, Counter, N, "Rows the integrity check removed because what they point at was deleted, by table (deliveries, delivery_attempts)."),
    m(BUILD_INFO, Gauge, None, "Always 1; the version label is the running Herald version."),
    m(NATS_CONNECTED, Gauge, None, "1 while the NATS client is connected, else 0."),
    m(DB_POOL_CONNECTIONS, Gauge, N, "Postgres connections open in this process's pools."),
    m(DB_POOL_AVAILABLE, Gauge, N, "Open Postgres connections of the pools that are idle."),
    m(DB_POOL_MAX_CONNECTIONS, Gauge, N, "Most Postgres connections the pools open (HERALD_DATABASE_POOL_SIZE in all; the dispatcher keeps 4 of them for everything but fan-out and the attempt log)."),
    m(DB_POOL_WAITERS, Gauge, N, "Tasks waiting for a Postgres connection from the pools."),
];

fn describe_all() {
    for d in METRICS {
        match (d.kind, d.unit) {
            (Counter, Some(u)) => metrics::describe_counter!(d.name, u, d.help),
            (Counter, None) => metrics::describe_counter!(d.name, d.help),
            (Gauge, Some(u)) => metrics::describe_gauge!(d.name, u, d.help),
            (Gauge, None) => metrics::describe_gauge!(d.name, d.help),
            (Histogram, Some(u)) => metrics::describe_histogram!(d.name, u, d.help),
            (Histogram, None) => metrics::describe_histogram!(d.name, d.help),
        }
    }
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Install the global Prometheus recorder once per process, describe every
/// metric (`# HELP`), and return the handle that renders `/metrics`.
/// Several in-process nodes (tests) share it.
pub fn prometheus() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; ours renders empty then.
            let _ = metrics::set_global_recorder(recorder);
            describe_all();
            handle
        })
        .clone()
}

/// Register the dispatcher's counters at 0 (a no-op when they exist), so that `rate()` and
/// `increase()` see their first increment and ratios have a denominator.
pub fn zero_dispatcher_counters() {
    for outcome in DELIVERY_OUTCOMES {
        metrics::counter!(DELIVERIES_TOTAL, "outcome" => *outcome).increment(0);
    }
    for result in ATTEMPT_RESULTS {
        metrics::counter!(DELIVERY_ATTEMPTS_TOTAL, "result" => *result).increment(0);
    }
    for reason in DISABLE_REASONS {
        metrics::counter!(ENDPOINTS_DISABLED_TOTAL, "reason" => *reason).increment(0);
    }
    for table in ORPHAN_TABLES {
        metrics::counter!(INTEGRITY_ORPHANS_REMOVED_TOTAL, "table" => *table).increment(0);
    }
    metrics::counter!(RETRIES_SCHEDULED_TOTAL).increment(0);
    metrics::counter!(FANOUT_EVENTS_TOTAL).increment(0);
    metrics::counter!(DIRECT_ATTEMPTS_TOTAL).increment(0);
}

/// Start ingest's unlabelled counters at 0 (see [`zero_dispatcher_counters`]).
pub fn zero_ingest_counters() {
    metrics::counter!(OUTBOX_PUBLISHED_TOTAL).increment(0);
}

/// Status class label for an HTTP status: `2xx`, `4xx`, ...
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_convention_and_appear_once() {
        let mut seen = std::collections::HashSet::new();
        for d in METRICS {
            assert!(seen.insert(d.name), "{} twice", d.name);
            assert!(d.name.starts_with("herald_"), "{}", d.name);
            assert_eq!(d.kind == Counter, d.name.ends_with("_total"), "{}", d.name);
            assert_eq!(d.unit == S, d.name.ends_with("_seconds"), "{}", d.name);
            assert!(d.help.ends_with('.'), "{}: help is a sentence", d.name);
        }
    }
}
