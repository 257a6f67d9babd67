//! Command-line flags.

use clap::Parser;

#[derive(Debug, Parser, Clone)]
#[command(
    name = "herald-loadgen",
    about = "Load generator and end-to-end checker for Herald"
)]
pub struct Args {
    /// Ingest base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub ingest: String,
    /// Bearer token (admin or tenant key).
    #[arg(
        long,
        env = "HERALD_ADMIN_TOKEN",
        default_value = "herald-local-admin-token"
    )]
    pub token: String,
    /// Healthy endpoints subscribed to the run's event type (K).
    #[arg(long, default_value_t = 1)]
    pub endpoints: usize,
    /// Extra endpoints that always answer 500 (they pile up retries).
    #[arg(long, default_value_t = 0)]
    pub dead_endpoints: usize,
    /// Events to send (N).
    #[arg(long, default_value_t = 10_000)]
    pub events: usize,
    /// Concurrent HTTP clients (C).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Fixed rate in events/s; 0 sends as fast as possible.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Events per request; 1 uses POST /events, more uses POST /events/batch.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Approximate payload size in bytes (P).
    #[arg(long, default_value_t = 200)]
    pub payload_bytes: usize,
    /// Receiver response latency in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub receiver_latency_ms: u64,
    /// Fraction of requests the healthy receivers fail with 500 (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub failure_ratio: f64,
    /// Per-endpoint rate limit to register on the healthy endpoints.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Register the run's event type with a small JSON Schema that every
    /// payload matches, so ingest checks each event against it.
    #[arg(long)]
    pub schema: bool,
    /// Give every endpoint a payload filter that every event passes
    /// (`{"seq": {"$gte": 0}}`), so fan-out evaluates it for each event.
    #[arg(long)]
    pub filter: bool,
    /// Give up waiting for deliveries after this many seconds without progress.
    #[arg(long, default_value_t = 30)]
    pub idle_timeout_secs: u64,
    /// Process names whose CPU and peak RSS are reported (from /proc);
    /// used when no `--process` or `--process-tree` is given.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "herald-ingest,herald-dispatch,nats-server,postgres,herald-loadgen"
    )]
    pub process_names: Vec<String>,
    /// A process to report as LABEL=PID (repeatable), e.g. `ingest=1234`.
    #[arg(long = "process", value_name = "LABEL=PID")]
    pub processes: Vec<String>,
    /// A process reported with all its children as LABEL=PID (repeatable),
    /// e.g. `postgres=<postmaster pid>` for every backend.
    #[arg(long = "process-tree", value_name = "LABEL=PID")]
    pub process_trees: Vec<String>,
    /// Write the run second by second (accepted, delivered, latency
    /// p50/p99/max) as CSV to this file.
    #[arg(long)]
    pub series: Option<std::path::PathBuf>,
    /// Draw the run (throughput and latency over time) as SVG to this file.
    #[arg(long)]
    pub chart: Option<std::path::PathBuf>,
    /// Write the summary as JSON to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Leave the endpoints registered after the run.
    #[arg(long)]
    pub keep_endpoints: bool,
    /// A label for the report.
    #[arg(long, default_value = "run")]
    pub label: String,
}
