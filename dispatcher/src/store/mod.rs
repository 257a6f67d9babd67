//! Every SQL statement of the dispatcher, one module per table it writes:
//! [`deliveries`], [`attempts`] (`delivery_attempts`), [`endpoints`]
//! (`webhooks`), [`events`] (operational events), [`rate_slots`]
//! (`webhook_rate_slots`) and [`integrity`] (orphaned rows). Each module owns
//! its statements as constants, maps rows by column name, and returns a
//! [`StoreError`], never a decision: what to do with a row is the caller's.
//!
//! A function that runs one statement on its own takes the [`Pool`]; one
//! that is combined with others takes the `Client` or `Transaction` they
//! share (fan-out's statements run on one connection, the attempt log's are
//! pipelined in one transaction). Statements are prepared once per
//! connection (`prepare_cached`).
//!
//! [`Pool`]: deadpool_postgres::Pool

pub mod attempts;
pub mod deliveries;
pub mod endpoints;
pub mod events;
pub mod integrity;
pub mod rate_slots;

use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;

/// Why a statement of the dispatcher failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not get a database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("column {column} holds an unexpected value {value:?}")]
    Value { column: &'static str, value: String },
}

/// Every statement the dispatcher sends, for a test that prepares each one
/// against a migrated database (a renamed column fails that test, not a
/// delivery).
pub fn statements() -> Vec<&'static str> {
    [
        attempts::STATEMENTS,
        deliveries::STATEMENTS,
        endpoints::STATEMENTS,
        events::STATEMENTS,
        integrity::STATEMENTS,
        rate_slots::STATEMENTS,
    ]
    .concat()
}

/// The statements fan-out and the attempt log send on the hot pool
/// (`herald_common::db::Plans::Indexed`: one generic plan each, index probes
/// and nested loops only), for a test that checks their plans.
pub fn hot_statements() -> Vec<&'static str> {
    [attempts::HOT, deliveries::HOT, endpoints::HOT, events::HOT].concat()
}

/// Run one statement of a batch in `tx`; the caller has checked that the
/// batch has rows for it.
async fn execute(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&stmt, params).await?)
}
