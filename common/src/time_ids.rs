//! Time bounds as id bounds. Herald's row ids are UUIDv7: their first 48
//! bits are the Unix time in milliseconds, so "created at or after `t`" is
//! "id at or after the smallest id of `t`'s millisecond", which the primary
//! key (and every `(…, id)` index) serves.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The smallest id of `t`'s millisecond (times before 1970 give the nil id).
pub fn id_floor(t: DateTime<Utc>) -> Uuid {
    let ms = u64::try_from(t.timestamp_millis()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    Uuid::from_bytes(bytes)
}
