//! Herald's integration tests: one binary, one module per area. Each test
//! starts its own NATS server(s) and a fresh Postgres database through the
//! harness in `herald_tests`.

mod console;
mod deploy;
mod dispatcher;
mod foundation;
mod ingest;
mod observability;
mod reliability;
mod routing;
mod statements;
