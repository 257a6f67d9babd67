//! The summary: figures, a human table, JSON.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::args::Args;
use crate::procstat::ProcUsage;
use crate::producer::Produced;
use crate::receiver::State;
use crate::series::percentile_ms as percentile;

#[derive(Debug, serde::Serialize)]
pub struct Summary {
    pub label: String,
    /// The run's event type had a JSON Schema (`--schema`).
    pub schema: bool,
    /// Every endpoint had a payload filter (`--filter`).
    pub filter: bool,
    pub events_sent: usize,
    pub events_accepted: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    pub accepted_per_second: f64,
    pub deliveries_expected: u64,
    pub deliveries_received: u64,
    pub deliveries_per_second: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p95: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
    pub lost: u64,
    pub duplicates: u64,
    pub misrouted: u64,
    pub receiver_connections: u64,
    pub processes: Vec<ProcUsage>,
}

pub fn progress_line(started: Instant, accepted: usize, got: u64, expected: u64) {
    eprint!(
        "\r  {:>6.1}s accepted {accepted:>8}  delivered {got:>8}/{expected:<8}",
        started.elapsed().as_secs_f64()
    );
    let _ = std::io::stderr().flush();
}

impl Summary {
    pub fn build(
        args: &Args,
        produced: &Produced,
        produce_secs: f64,
        state: &State,
        expected: u64,
        processes: Vec<ProcUsage>,
    ) -> Self {
        let mut lat: Vec<u64> = state
            .latencies_us
            .lock()
            .map(|l| l.iter().map(|(_, us)| *us).collect())
            .unwrap_or_default();
        lat.sort_unstable();
        let (lost, duplicates) = state.tally();
        let received = state.unique_healthy();
        // From the first send to the last first-arrival.
        let first = state.first_arrival_ns.load(Ordering::Relaxed);
        let last = state.last_arrival_ns.load(Ordering::Relaxed);
        let span = if last > first {
            (last - first) as f64 / 1e9 + percentile(&lat, 0.0) / 1000.0
        } else {
            0.0
        };
        Self {
            label: args.label.clone(),
            schema: args.schema,
            filter: args.filter,
            events_sent: args.events,
            events_accepted: produced.accepted,
            errors: produced.errors,
            first_error: produced.first_error.clone(),
            accepted_per_second: produced.accepted as f64 / produce_secs.max(1e-9),
            deliveries_expected: expected,
            deliveries_received: received,
            deliveries_per_second: if span > 0.0 {
                received as f64 / span
            } else {
                0.0
            },
            latency_ms_p50: percentile(&lat, 0.50),
            latency_ms_p95: percentile(&lat, 0.95),
            latency_ms_p99: percentile(&lat, 0.99),
            latency_ms_max: lat.last().map(|v| *v as f64 / 1000.0).unwrap_or(0.0),
            lost,
            duplicates,
            misrouted: state.misrouted.load(Ordering::Relaxed),
            receiver_connections: state.connections.load(Ordering::Relaxed),
            processes,
        }
    }

    pub fn print(&self) {
        eprintln!();
        println!("== {} ==", self.label);
        if self.schema || self.filter {
            println!(
                "routing: schema on the event type {}, filter on every endpoint {}",
                if self.schema { "yes" } else { "no" },
                if self.filter { "yes" } else { "no" }
            );
        }
        println!(
            "events: {} sent, {} accepted, {} errors{}",
            self.events_sent,
            self.events_accepted,
            self.errors,
            self.first_error
                .as_ref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        println!("accepted: {:.0} events/s", self.accepted_per_second);
        println!(
            "delivered: {}/{} at {:.0} deliveries/s",
            self.deliveries_received, self.deliveries_expected, self.deliveries_per_second
        );
        println!(
            "latency ms: p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}",
            self.latency_ms_p50, self.latency_ms_p95, self.latency_ms_p99, self.latency_ms_max
        );
        println!(
            "checker: lost {}  duplicates {}  misrouted {}  (receiver connections {})",
            self.lost, self.duplicates, self.misrouted, self.receiver_connections
        );
        self.print_processes();
    }

    /// CPU and peak RSS per process, and CPU per delivered event.
    fn print_processes(&self) {
        let per = |secs: f64| secs * 1e6 / (self.deliveries_received.max(1) as f64);
        for p in &self.processes {
            println!(
                "process {:<14} pid {:>7}  cpu {:>7.2}s  {:>6.0} µs/delivery  peak rss {:>7.1} MiB",
                p.name,
                p.pid,
                p.cpu_seconds,
                per(p.cpu_seconds),
                p.peak_rss_mib
            );
        }
        let total: f64 = self.processes.iter().map(|p| p.cpu_seconds).sum();
        println!(
            "cpu total {total:.2}s, {:.0} µs per delivered event",
            per(total)
        );
    }
}
