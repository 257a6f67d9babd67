//! Integrity without foreign keys: a periodic sweep that finds deliveries
//! whose event or endpoint is gone, and attempts whose delivery is gone, and
//! deletes them (`store::integrity` explains how they arise).
//!
//! Each table is swept by id (UUIDv7, time-ordered) from a cursor up to the
//! rows that are settled ([`settle`]: their own transaction and every
//! delete that could have missed them have ended, less [`CLOCK_MARGIN`]
//! for the writers' clocks, and at least one interval old), so a row is
//! looked at once, after any delete that raced with its write. A round
//! looks at most [`MAX_SLICES`] × [`SLICE`] rows per table; a backlog is
//! caught up over the following rounds. A dispatcher starts [`LOOKBACK`]
//! in the past. Every dispatcher sweeps (the statements are idempotent);
//! what is found is logged and counted in
//! `herald_integrity_orphans_removed_total{table}`.

pub mod settle;

use crate::store::integrity::{self, Table};
use crate::store::StoreError;
use chrono::Utc;
use deadpool_postgres::Pool;
use herald_common::metrics::INTEGRITY_ORPHANS_REMOVED_TOTAL;
use herald_common::shutdown::{self, CancellationToken};
use herald_common::time_ids::id_floor;
use settle::Observation;
use std::time::Duration;
use uuid::Uuid;

/// Rows looked at per statement.
pub const SLICE: i64 = 5_000;
/// Statements per table and round.
pub const MAX_SLICES: usize = 20;
/// How far back a dispatcher's first round starts.
pub const LOOKBACK: Duration = Duration::from_secs(3600);
/// How far a writer's clock (which makes the ids) may run behind
/// Postgres's, and its id may precede its transaction.
pub const CLOCK_MARGIN: Duration = Duration::from_secs(5);

pub struct IntegrityCheck {
    pub pool: Pool,
    /// How often a round runs; rows are looked at once this old.
    pub interval: Duration,
}

/// Where each table's sweep has got to: the next id to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursors {
    pub deliveries: Uuid,
    pub attempts: Uuid,
}

impl Cursors {
    /// Both tables from the rows made at `since`.
    pub fn since(since: chrono::DateTime<Utc>) -> Self {
        let at = id_floor(since);
        Self {
            deliveries: at,
            attempts: at,
        }
    }

    fn of(&mut self, table: Table) -> &mut Uuid {
        match table {
            Table::Deliveries => &mut self.deliveries,
            Table::Attempts => &mut self.attempts,
        }
    }
}

/// Orphans one round removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub deliveries: i64,
    pub attempts: i64,
}

impl IntegrityCheck {
    pub async fn run(self, shutdown: CancellationToken) {
        let lookback = chrono::Duration::from_std(LOOKBACK).unwrap_or_default();
        let mut cursors = Cursors::since(Utc::now() - lookback);
        let mut seen = Vec::new();
        while shutdown::sleep(&shutdown, self.interval).await {
            match self.round(&mut cursors, &mut seen).await {
                Ok(r) if r != Removed::default() => tracing::warn!(
                    deliveries = r.deliveries,
                    attempts = r.attempts,
                    "Removed rows whose event, endpoint or delivery was deleted."
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "Integrity check failed; trying again later."),
            }
        }
    }

    /// One round: note Postgres's horizon in `seen`, then sweep deliveries
    /// (their orphans' attempts go with them) and attempts, each from its
    /// cursor up to the settled rows.
    pub async fn round(
        &self,
        cursors: &mut Cursors,
        seen: &mut Vec<Observation>,
    ) -> Result<Removed, StoreError> {
        seen.push(integrity::observe(&self.pool).await?);
        let Some((first_needed, settled)) = settle::settled(seen) else {
            return Ok(Removed::default());
        };
        seen.drain(..first_needed);
        let margin = chrono::Duration::from_std(CLOCK_MARGIN).unwrap_or_default();
        let old = chrono::Duration::from_std(self.interval).unwrap_or_default();
        let upto = id_floor((settled - margin).min(Utc::now() - old));
        let mut removed = Removed::default();
        for table in [Table::Deliveries, Table::Attempts] {
            let cursor = cursors.of(table);
            for _ in 0..MAX_SLICES {
                if *cursor >= upto {
                    break;
                }
                let slice = integrity::sweep(&self.pool, table, *cursor, upto, SLICE).await?;
                match table {
                    Table::Deliveries => removed.deliveries += slice.removed,
                    Table::Attempts => removed.attempts += slice.removed,
                }
                removed.attempts += slice.removed_attempts;
                *cursor = match slice.last {
                    Some(last) if slice.scanned >= SLICE => after(last),
                    _ => upto,
                };
            }
        }
        count(removed);
        Ok(removed)
    }
}

/// The smallest id after `id`.
fn after(id: Uuid) -> Uuid {
    Uuid::from_u128(id.as_u128().saturating_add(1))
}

fn count(removed: Removed) {
    let counter = |table| metrics::counter!(INTEGRITY_ORPHANS_REMOVED_TOTAL, "table" => table);
    counter("deliveries").increment(u64::try_from(removed.deliveries).unwrap_or(0));
    counter("delivery_attempts").increment(u64::try_from(removed.attempts).unwrap_or(0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_moves_past_the_last_id_it_saw() {
        let id = Uuid::now_v7();
        assert!(after(id) > id);
        assert_eq!(after(Uuid::max()), Uuid::max());
        let now = Utc::now();
        let c = Cursors::since(now);
        assert_eq!(c.deliveries, c.attempts);
        assert!(c.deliveries <= Uuid::now_v7());
    }
}
