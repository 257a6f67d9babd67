//! Observability: a real Prometheus scrapes ingest and two dispatchers (child
//! processes, so each has its own metrics registry) and evaluates every query
//! of the Grafana dashboard and of the alert rules; the dashboard model and
//! the metrics catalogue (`docs/metrics.md`) are held to what the binaries
//! export.

mod catalogue;
mod dashboard;
mod model;
mod prometheus;
mod support;
