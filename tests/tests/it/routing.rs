//! Event routing end to end, against real NATS and Postgres: the event type
//! catalogue (schemas, archiving, the paged list), wildcard subscriptions
//! and payload filters at fan-out, the request shapes of the tutorials
//! Herald started from, and the migration that brings them.

mod catalogue;
mod endpoints;
mod migration;
mod subscriptions;
mod support;
mod tutorial;
