//! `deliveries` and `delivery_attempts`, as the API reads them (the
//! dispatchers write them). [`Delivery`] and [`Attempt`] are the records;
//! `log.rs` reads the log, one delivery with its attempts and the deliveries
//! of one event; [`requeue`] locks deliveries for a manual re-send and sets
//! them back to `pending`; [`create`] makes the deliveries of test events
//! and replays; [`stats`] counts an endpoint's last 24 hours.

/// Every column of `deliveries d`.
macro_rules! columns {
    () => {
        "d.id, d.event_id, d.webhook_id, d.tenant_id, d.event_type, d.status, d.attempts, \
         d.last_status_code, d.last_error, d.next_retry_at, d.delivered_at, d.created_at, \
         d.updated_at"
    };
}

/// What a delivery job needs: the delivery and its event.
macro_rules! select_for_resend {
    () => {
        "SELECT d.id, d.event_id, d.webhook_id, d.tenant_id, d.attempts, \
         e.event_type, e.created_at, e.payload \
         FROM deliveries d JOIN events e ON e.id = d.event_id WHERE "
    };
}

// After the macros, which they use.
pub mod create;
pub mod log;
pub mod record;
pub mod requeue;
pub mod stats;

pub(crate) use log::delete_for_webhook;
pub use log::{for_event, get, list, list_query, ListFilter};
pub use record::{Attempt, Delivery, Headers, WithAttempts};

pub(crate) const STATEMENTS: &[&str] = &[
    log::LIST,
    log::GET,
    log::FOR_EVENT,
    log::ATTEMPTS,
    log::DELETE_FOR_WEBHOOK,
    requeue::LOCK_ONE,
    requeue::LOCK_FAILED,
    requeue::SET_PENDING_ONE,
    requeue::SET_PENDING,
    create::INSERT_ONE,
    create::MISSING,
    create::INSERT_MANY,
    create::FOR_JOBS,
    stats::COUNTS,
    stats::LATENCY,
];
