//! Metric names (`herald_<area>_<name>_<unit>[_total]`) and the Prometheus
//! recorder. Labels are bounded enums, never ids, URLs or error strings.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

pub const EVENTS_INGESTED_TOTAL: &str = "herald_events_ingested_total";
pub const HTTP_REQUESTS_TOTAL: &str = "herald_http_requests_total";
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "herald_http_request_duration_seconds";
pub const OUTBOX_PENDING: &str = "herald_outbox_pending";
pub const OUTBOX_PUBLISHED_TOTAL: &str = "herald_outbox_published_total";
pub const DELIVERIES_TOTAL: &str = "herald_deliveries_total";
pub const DELIVERY_ATTEMPTS_TOTAL: &str = "herald_delivery_attempts_total";
pub const DELIVERY_ATTEMPT_DURATION_SECONDS: &str = "herald_delivery_attempt_duration_seconds";
pub const DELIVERY_LAG_SECONDS: &str = "herald_delivery_lag_seconds";
pub const DELIVERIES_IN_FLIGHT: &str = "herald_deliveries_in_flight";
pub const FANOUT_EVENTS_TOTAL: &str = "herald_fanout_events_total";
pub const HTTP_POOL_CONNECTIONS: &str = "herald_http_pool_connections";
pub const CONSUMER_PENDING: &str = "herald_consumer_pending";
pub const CONSUMER_ACK_PENDING: &str = "herald_consumer_ack_pending";
pub const ATTEMPT_LOG_FLUSH_SECONDS: &str = "herald_attempt_log_flush_seconds";
pub const RETRIES_SCHEDULED_TOTAL: &str = "herald_retries_scheduled_total";
pub const ENDPOINTS_DISABLED_TOTAL: &str = "herald_endpoints_disabled_total";

/// Latency buckets (seconds) for request and delivery histograms.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 3600.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Install the global Prometheus recorder once per process and return the
/// handle that renders `/metrics`. Several in-process nodes (tests) share it.
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
            handle
        })
        .clone()
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
