//! What both Herald binaries share. Each module is one concern; see
//! `docs/architecture.md` for how they fit together.

pub mod backoff;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod gauges;
pub mod jetstream;
pub mod messages;
pub mod metrics;
pub mod migrate;
pub mod nats;
pub mod operational;
pub mod routing;
pub mod shutdown;
pub mod signing;
pub mod subjects;
pub mod telemetry;
pub mod time_ids;
pub mod url_guard;

pub use signing::{sign, verify};
