//! Time bounds as id bounds. Ids are UUIDv7: their first 48 bits are the
//! Unix time in milliseconds, so "created at or after `t`" is "id at or
//! after the smallest id of `t`'s millisecond", which every `(…, id)` index
//! serves. The time compared is the one in the id (the clock of whoever
//! made the row: ingest for events, a dispatcher or ingest for deliveries),
//! within clock skew of the row's `created_at`.

use chrono::{DateTime, Utc};
pub use herald_common::time_ids::id_floor;
use uuid::Uuid;

/// Now, at the microsecond precision Postgres stores (a new row's time
/// equals what is read back).
pub fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// A time window as ids: rows with `from <= id < to`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdRange {
    pub from: Option<Uuid>,
    pub to: Option<Uuid>,
}

impl IdRange {
    /// Rows created at or after `since` and before `until`.
    pub fn between(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Self {
        Self {
            from: since.map(id_floor),
            to: until.map(id_floor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn the_floor_of_a_time_orders_with_the_ids_made_then() {
        let now = Utc::now();
        let id = Uuid::now_v7();
        let after = Utc::now();
        assert!(id_floor(now - TimeDelta::milliseconds(1)) <= id);
        assert!(id_floor(after + TimeDelta::milliseconds(1)) > id);
        let t = DateTime::from_timestamp_millis(1_700_000_000_123).expect("time");
        let floor = id_floor(t);
        assert_eq!(floor.get_timestamp().map(|ts| ts.to_unix()), None);
        assert_eq!(
            &floor.as_bytes()[..6],
            &1_700_000_000_123u64.to_be_bytes()[2..]
        );
        assert_eq!(
            id_floor(DateTime::UNIX_EPOCH - TimeDelta::days(1)),
            Uuid::nil()
        );
        let r = IdRange::between(Some(t), None);
        assert_eq!((r.from, r.to), (Some(floor), None));
    }
}
