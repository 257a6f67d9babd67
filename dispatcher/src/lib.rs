//! herald-dispatcher: turns events into delivered, signed HTTP requests.
//!
//! The modules read like the pipeline: [`fanout`] (events → delivery jobs),
//! [`deliver`] (jobs → signed POSTs, with [`admission`] per endpoint and the
//! pure [`outcome`] and [`request`] decisions), [`attempt_log`] (batched,
//! durable record before every ack), [`retry`] (re-publishes due deliveries),
//! and [`endpoints_cache`] with [`control`] (endpoints in memory, kept current
//! by change notices). `docs/dispatcher.md` explains the retry/isolation design.

pub mod admission;
pub mod attempt_log;
pub mod control;
pub mod deliver;
pub mod endpoints_cache;
pub mod fanout;
pub mod gauges;
pub mod housekeeping;
pub mod outcome;
pub mod rate_limit;
pub mod request;
pub mod retry;
mod run;
pub mod server;

pub use herald_common::db::DbError;
pub use run::run;

/// Why the dispatcher could not run.
#[derive(Debug, thiserror::Error)]
pub enum DispatcherError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("NATS: {0}")]
    Nats(String),
    #[error("JetStream provisioning: {0}")]
    Provision(#[from] herald_common::jetstream::ProvisionError),
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("metrics listener: {0}")]
    Io(#[from] std::io::Error),
}
