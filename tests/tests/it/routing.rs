//! Event routing end to end, against real NATS and Postgres: the event type
//! catalogue (schemas, archiving, the paged list), wildcard subscriptions
//! and payload filters at fan-out, the request shapes of the tutorials
//! Herald started from. (`deploy::migrations` rolls 0005 back and forth with
//! every other migration.)

mod catalogue;
mod endpoints;
mod replay;
mod subscriptions;
mod support;
mod tutorial;
