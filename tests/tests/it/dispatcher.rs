//! herald-dispatcher end to end, against real NATS and Postgres through the
//! harness: signing, fan-out, retries, isolation, rate limits, connection
//! reuse, graceful shutdown and crashes.

mod cache_race;
mod delivery;
mod direct;
mod ed25519;
mod fifo;
mod isolation;
mod limits;
mod observability;
mod operational;
mod outage;
mod resilience;
mod retries;
mod retry_policy;
mod ssrf;
pub(crate) mod support;
