//! herald-dispatcher: turns events into delivered, signed HTTP requests.
//!
//! The modules read like the pipeline: [`fanout`] (events → delivery rows →
//! jobs), [`deliver`] (jobs → admitted, signed, sent and judged POSTs),
//! [`attempt_log`] (batched, durable record before every ack), [`retry`]
//! (re-publishes due deliveries), [`endpoints_cache`] with [`control`]
//! (endpoints in memory, kept current by change notices), [`housekeeping`]
//! (auto-disable, backlog metrics), [`integrity`] (orphaned rows removed),
//! and [`store`], which holds every SQL
//! statement. Decisions are pure functions with table tests
//! ([`fanout::plan`], [`deliver::judge`], [`deliver::outcome`],
//! [`deliver::request`], [`attempt_log::batch`]). `docs/dispatcher.md`
//! explains the retry/isolation design.

pub mod attempt_log;
pub mod control;
pub mod deliver;
pub mod endpoints_cache;
pub mod fanout;
pub mod fifo;
#[cfg(test)]
mod fixtures;
pub mod gauges;
pub mod housekeeping;
pub mod integrity;
pub mod operational;
pub mod retry;
mod run;
pub mod server;
pub mod store;

use herald_common::db::DbError;
pub use run::run;

/// Why the dispatcher could not run.
#[derive(Debug, thiserror::Error)]
pub enum DispatcherError {
    #[error("NATS: {0}")]
    Nats(String),
    #[error("JetStream provisioning: {0}")]
    Provision(#[from] herald_common::jetstream::ProvisionError),
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("metrics listener: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Keys(#[from] herald_common::crypto::key_file::KeyFileError),
}
