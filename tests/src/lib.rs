//! Herald's test harness (`herald_tests`): everything an integration test
//! needs to run Herald for real on one machine, each piece cleaned up on
//! `Drop` (also when the test panics).
//!
//! * [`nats`]: `nats-server` on a free port with JetStream in a temp dir,
//!   or a 3-node cluster; stop, kill and restart on the same port.
//! * [`postgres`]: a fresh `test_<uuid>` database per test on the server
//!   named by `HERALD_TEST_DATABASE_URL`, or on a private server started once
//!   per test process; [`PgServer`], a private server a test can stop
//!   (`pg_ctl stop -m immediate`) and start again.
//! * [`app`]: `TestApp`, ingest and dispatchers in-process against both.
//! * [`process`]: `herald-ingest` / `herald-dispatcher` as child processes,
//!   for tests that SIGTERM or `kill -9` them.
//! * [`prometheus`]: a real Prometheus with the project's scrape config and
//!   alert rules, scraping the test's nodes.
//! * [`proxy`]: a TCP proxy a test can cut and restore (Postgres outages).
//! * [`receiver`]: a recording HTTP endpoint that can fail, hang or answer
//!   any status; [`http`]: a small client for ingest's API.
//! * [`producer`]: a steady load of events with idempotency keys, retried
//!   until accepted; [`checker`]: what was lost, duplicated, misrouted;
//!   [`scenario`]: the endpoints and final check those tests share;
//!   [`chaos`]: the seeded chaos soak (`herald-chaos`).
//! * [`fixtures`]: what a product does through the API (event types,
//!   tenants with a key, endpoints, events), each asserting success.
//! * [`tables`]: what a test reads from the tables, as named rows
//!   (`app.deliveries_of(id)`, `app.attempts_of(id)`, `app.count(..)`).
//! * [`drive`]: the outbox relay, retry scheduler and housekeeping stepped
//!   by the test, and a wait until the delivery pipeline is idle.
//! * [`schema`]: a database's current schema as SQL (`docs/schema.sql`).
//! * [`wait`]: the one bounded polling helper and the one bound, [`WAIT`].
//!
//! Logs are silent unless `TEST_LOG` is set (`TEST_LOG=1` or a filter such
//! as `TEST_LOG=herald_dispatcher=debug`).

pub mod app;
pub mod chaos;
pub mod checker;
pub mod drive;
pub mod fixtures;
pub mod http;
pub mod nats;
pub mod pgbouncer;
pub mod postgres;
pub mod process;
pub mod producer;
pub mod prometheus;
pub mod proxy;
pub mod receiver;
pub mod scenario;
pub mod schema;
pub mod tables;
pub mod wait;

mod app_node;
mod app_options;
mod binaries;
mod nats_cluster;
mod pg_server;
mod reaper;
mod receiver_behavior;
mod server_child;
mod support;

pub use app::{TestApp, TestAppOptions};
pub use fixtures::{
    create_endpoint, post_event, post_events, post_raw_event, register_event_types,
    tenant_with_key, uuid_at, Endpoint, UNREACHABLE_URL,
};
pub use http::{ApiClient, ApiResponse};
pub use nats::{NatsCluster, NatsServer};
pub use pg_server::PgServer;
pub use postgres::TestDb;
pub use process::{Binary, HeraldProcess};
pub use producer::{Produced, Producer};
pub use prometheus::{PrometheusServer, ScrapeTargets};
pub use proxy::{CuttableProxy, ProxyTarget};
pub use receiver::{Behavior, ReceivedRequest, TestReceiver};
pub use support::{
    binary_from_env, find_in_path, free_port, init_test_log, machine_alone, machine_shared, skip,
    skip_or_fail, workspace_root,
};
pub use tables::{AttemptRow, DeliveryRow, EndpointRow, DEMO_EVENT_TYPES};
pub use wait::{eventually, wait_for, wait_until, WaitTimeout, WAIT};
