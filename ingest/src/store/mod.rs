//! The storage layer: one module per table or aggregate. Each owns its SQL
//! (named constants), reads rows by column name, and exposes one function
//! per use case, taking a pool, a client or a transaction. Nothing here knows
//! about HTTP: every function returns a [`StoreError`] and the caller decides
//! what it means for a request.
//!
//! | module | what |
//! | --- | --- |
//! | [`events`] | the group insert of the event writer, publish marks, the outbox claim, test events, one event with its deliveries, the list |
//! | [`webhooks`] | endpoints: insert under the tenant's limit, read, list, update, rotate the secret, delete with the delivery log |
//! | [`deliveries`] | the delivery log and its attempts as the API reads them; locking deliveries for a manual re-send; creating the deliveries of test events and replays; an endpoint's stats |
//! | [`tenants`], [`api_keys`], [`event_types`] | the small admin tables |
//! | [`retention`] | deleting events past the retention window with their deliveries and attempts, in batches |
//! | [`time_ids`] | time windows as ranges of the time-ordered (UUIDv7) ids |
//! | [`cache`] | in-memory caches in front of the per-request lookups (event types, tenants, API keys) |
//!
//! Records the API shows as they are (a delivery and its attempts, an
//! endpoint, a tenant, an API key, an event type) derive `Serialize` and
//! `ToSchema` and are the response bodies themselves, under the names the
//! OpenAPI document has always used (`DeliveryOut`, `WebhookOut`, ...).
//!
//! [`statements`] lists every statement, so a test prepares each one against
//! a migrated database and a renamed column fails a test, not a request.

pub mod api_keys;
pub mod cache;
pub mod deliveries;
pub mod event_types;
pub mod events;
pub mod retention;
pub mod tenants;
pub mod time_ids;
pub mod webhooks;

mod error;
mod pg;

pub use error::StoreError;
pub use pg::{client, ping};

/// Every SQL statement of ingest.
pub fn statements() -> Vec<&'static str> {
    [
        &[pg::PING][..],
        events::STATEMENTS,
        webhooks::STATEMENTS,
        deliveries::STATEMENTS,
        tenants::STATEMENTS,
        api_keys::STATEMENTS,
        event_types::STATEMENTS,
        retention::STATEMENTS,
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement constant that is not in its module's list would escape
    /// the test that prepares every statement.
    #[test]
    fn every_sql_constant_is_listed() {
        let modules: [(&[&str], &[&str]); 7] = [
            (
                &[
                    include_str!("events/mod.rs"),
                    include_str!("events/read.rs"),
                ],
                events::STATEMENTS,
            ),
            (
                &[
                    include_str!("webhooks/read.rs"),
                    include_str!("webhooks/change.rs"),
                    include_str!("webhooks/secrets.rs"),
                ],
                webhooks::STATEMENTS,
            ),
            (
                &[
                    include_str!("deliveries/log.rs"),
                    include_str!("deliveries/requeue.rs"),
                    include_str!("deliveries/create.rs"),
                    include_str!("deliveries/stats.rs"),
                ],
                deliveries::STATEMENTS,
            ),
            (&[include_str!("tenants.rs")], tenants::STATEMENTS),
            (&[include_str!("api_keys.rs")], api_keys::STATEMENTS),
            (&[include_str!("event_types.rs")], event_types::STATEMENTS),
            (&[include_str!("retention.rs")], retention::STATEMENTS),
        ];
        let mut listed = 1; // PING
        for (sources, statements) in modules {
            let declared = sources
                .iter()
                .flat_map(|s| s.lines())
                .filter(|l| l.contains("const ") && l.contains(": &str ="))
                .count();
            assert_eq!(
                declared,
                statements.len(),
                "{:?}",
                sources[0].lines().next()
            );
            listed += statements.len();
        }
        assert_eq!(statements().len(), listed);
    }
}
