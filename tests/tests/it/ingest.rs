//! ingest integration tests, against a real NATS server and Postgres.

mod access;
mod api;
mod auth;
mod deliveries;
mod idempotency;
mod keys;
mod outbox;
mod process;
mod schemathesis;
mod secrets;
mod support;
mod validation;
