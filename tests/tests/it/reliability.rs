//! Fault injection: real processes are killed, stopped and cut off under a
//! steady load, and the loss checker (`herald_tests::checker`) proves that
//! every accepted event reached every subscribed endpoint, correctly signed
//! and nowhere else. Each test prints its report line (duplicates, recovery).

mod dispatchers;
mod ingest_kill;
mod nats;
mod postgres;
pub(crate) mod producer;
mod receivers;
pub(crate) mod support;
