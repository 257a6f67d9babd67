//! `deliveries` and `delivery_attempts`, as the API reads them (the
//! dispatchers write them). [`Delivery`] and [`Attempt`] are the records;
//! `log.rs` reads the log, one delivery with its attempts and the deliveries
//! of one event; [`requeue`] locks deliveries for a manual re-send and sets
//! them back to `pending`.

/// Every column of `deliveries d`.
macro_rules! columns {
    () => {
        "d.id, d.event_id, d.webhook_id, d.tenant_id, d.status, d.attempts, \
         d.last_status_code, d.last_error, d.next_retry_at, d.delivered_at, d.created_at, \
         d.updated_at"
    };
}

// After the macros, which they use.
mod log;
mod record;
pub mod requeue;

pub(crate) use log::delete_for_webhook;
pub use log::{for_event, get, list, ListFilter};
pub use record::{Attempt, Delivery, WithAttempts};

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
];
