//! [`StoreError`]: why a storage call failed, classified once from the
//! Postgres error so that callers can tell an outage from a conflict or a bug.

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection from the pool: Postgres is down, or every connection
    /// stayed busy past the pool's wait.
    #[error("no database connection")]
    Pool(#[from] PoolError),
    /// Postgres is unreachable or refuses work for now (connection lost,
    /// shutting down, out of resources).
    #[error("the database is unavailable")]
    Unavailable(#[source] tokio_postgres::Error),
    /// Postgres broke a deadlock by cancelling this transaction, or could
    /// not serialize it: nothing was written, and the same work may succeed
    /// when tried again.
    #[error("the database cancelled the transaction to break a lock conflict")]
    Contended(#[source] tokio_postgres::Error),
    /// A unique constraint refused the row.
    #[error("a unique constraint refused the row")]
    Conflict(#[source] tokio_postgres::Error),
    /// Postgres cannot store a text or JSON value as given: a NUL character
    /// (`\u0000`), which neither `text` nor `jsonb` can hold.
    #[error("a value holds a character the database cannot store")]
    Unstorable(#[source] tokio_postgres::Error),
    /// A column is missing or holds another type than the code reads: the
    /// schema and the code disagree.
    #[error("a row does not have the expected columns")]
    Row(#[source] tokio_postgres::Error),
    /// A stored value the code cannot use.
    #[error("invalid value in {column}: {reason}")]
    Invalid {
        column: &'static str,
        reason: String,
    },
    /// Any other database error: a bug, or a constraint the caller should
    /// have checked first.
    #[error("database error")]
    Db(#[source] tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        if is_unavailable(&e) {
            Self::Unavailable(e)
        } else if e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED)
            || e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
        {
            Self::Contended(e)
        } else if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            Self::Conflict(e)
        } else if e.code() == Some(&SqlState::CHARACTER_NOT_IN_REPERTOIRE)
            || e.code() == Some(&SqlState::UNTRANSLATABLE_CHARACTER)
        {
            Self::Unstorable(e)
        } else {
            Self::Db(e)
        }
    }
}

/// Is this a sign that the database is unreachable (as opposed to a bug or
/// a constraint)?
fn is_unavailable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        // No SQLSTATE: an I/O or protocol failure talking to the server.
        None => true,
        Some(code) => {
            let c = code.code();
            // 08: connection exception; 53: insufficient resources;
            // 57P0x: admin/crash shutdown, cannot connect now.
            c.starts_with("08") || c.starts_with("53") || c.starts_with("57P")
        }
    }
}
