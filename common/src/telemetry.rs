//! Tracing set-up for the binaries.

use crate::config::{LogFormat, TelemetrySettings};
use tracing_subscriber::EnvFilter;

/// Install the global subscriber: `HERALD_LOG` as the filter (falls back to
/// `RUST_LOG`, then `info`), text or JSON per `HERALD_LOG_FORMAT`.
pub fn init(config: &TelemetrySettings) {
    let filter = EnvFilter::try_new(&config.log_filter)
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
