//! `webhooks`: the endpoints. [`Webhook`] is the stored record (without the
//! secrets, which ingest writes encrypted and never reads back); reads and
//! lists are in `read.rs`; inserting under the tenant's endpoint limit,
//! changing, rotating the secret and deleting with the delivery log in
//! `change.rs`; re-encrypting every secret under a new key in [`secrets`].

/// Every column but the secrets.
macro_rules! columns {
    () => {
        "id, tenant_id, url, description, event_types, headers, custom_payload, \
         payload_format, rate_limit_per_second, max_in_flight, active, disabled_reason, \
         disabled_at, previous_secret_expires_at, created_at, updated_at, ordering, \
         signature_scheme, public_key, previous_public_key, retry_schedule, retry_on_4xx, filter"
    };
}

/// One endpoint in scope: `$1` id, `$2` tenant or `NULL` for every tenant.
macro_rules! select_one {
    () => {
        concat!(
            "SELECT ",
            columns!(),
            " FROM webhooks WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)"
        )
    };
}

// After the macros, which they use.
mod change;
mod read;
mod record;
pub mod secrets;

pub use change::{
    delete, insert, rotate_secret, update, Change, Inserted, NewWebhook, Rotated, Updated,
};
pub use read::{exists, get, list, ListFilter};
pub use record::Webhook;

pub(crate) const STATEMENTS: &[&str] = &[
    read::GET,
    read::EXISTS,
    read::LIST,
    change::COUNT_FOR_TENANT,
    change::INSERT,
    change::GET_FOR_UPDATE,
    change::UPDATE,
    change::ROTATE_SECRET,
    change::DELETE,
    secrets::PAGE,
    secrets::RESEAL,
];
