//! The event pipeline inside ingest, between the HTTP handlers and JetStream:
//!
//! - [`writer`]: group commit. Concurrent requests hand their events to one
//!   task that inserts them in a few multi-row statements and answers each
//!   request once Postgres has committed.
//! - [`publisher`]: the fast path. Events just committed are published at
//!   once with many PubAcks outstanding and marked `published_at` in batches.
//! - [`outbox`]: the relay. Re-publishes whatever is committed but not
//!   acknowledged (NATS down, queue full, node killed), oldest first.
//! - [`resend`]: manual re-sends of existing deliveries.
//! - [`send`]: test events and replays, which create their deliveries and
//!   publish their jobs directly (never through fan-out).
//! - [`retention`]: the background task that deletes what is older than
//!   `HERALD_RETENTION`.
//!
//! Each returns its own typed error (or a [`crate::store::StoreError`]);
//! the HTTP layer decides what a failure means for a request.

pub mod outbox;
pub mod publisher;
pub mod resend;
pub mod retention;
pub mod send;
pub mod writer;
