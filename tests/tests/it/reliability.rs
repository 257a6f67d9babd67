//! Fault injection under load: real processes are killed, stopped and cut
//! off while a producer sends 500 events/s, with the faults placed on what
//! the test observes (deliveries arrived, an attempt-log flush under way, the
//! stream leader); the loss checker (`herald_tests::checker`) proves that
//! every accepted event reached every subscribed endpoint, correctly signed
//! and nowhere else, and each scenario bounds its duplicates by the
//! in-flight window of its fault. Each test prints its report line.

mod chaos;
mod dispatchers;
mod ingest_kill;
mod integrity;
mod nats;
mod peak;
mod postgres;
mod progress;
mod receivers;
mod storage;
pub(crate) mod support;
