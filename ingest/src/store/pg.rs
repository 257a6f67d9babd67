//! What every table module uses: a connection from the pool, columns read
//! by name, and the readiness ping.

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

use super::error::StoreError;

/// Columns read by name. A missing column or a type mismatch is a
/// [`StoreError::Row`], never a panic (and never mistaken for an outage).
pub(crate) trait Columns {
    fn col<'a, T: FromSql<'a>>(&'a self, name: &str) -> Result<T, StoreError>;
}

impl Columns for Row {
    fn col<'a, T: FromSql<'a>>(&'a self, name: &str) -> Result<T, StoreError> {
        self.try_get(name).map_err(StoreError::Row)
    }
}

/// Map every row with `f`, stopping at the first that does not fit.
pub(crate) fn map_rows<T>(
    rows: &[Row],
    f: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(f).collect()
}

/// A connection from the pool, for calls that hold one across statements.
pub async fn client(db: &Pool) -> Result<Object, StoreError> {
    Ok(db.get().await?)
}

pub(super) const PING: &str = "SELECT 1";

/// Postgres answers a trivial query.
pub async fn ping(db: &Pool) -> Result<(), StoreError> {
    client(db).await?.simple_query(PING).await?;
    Ok(())
}
