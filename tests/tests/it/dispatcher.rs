//! herald-dispatcher end to end, against real NATS and Postgres through the
//! harness: signing, fan-out, retries, isolation, rate limits, connection
//! reuse, graceful shutdown and crashes.

mod cache_race;
mod delivery;
mod isolation;
mod limits;
mod observability;
mod outage;
mod resilience;
mod retries;
pub(crate) mod support;
