//! Postgres connection pool.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::NoTls;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("HERALD_DATABASE_URL is not a valid Postgres URL: {0}")]
    Url(#[source] tokio_postgres::Error),
    #[error("could not build the connection pool: {0}")]
    Build(String),
    #[error("could not get a database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
}

/// A pool of `size` connections. Connecting is lazy: a pool is returned even
/// if Postgres is down, and `get()` fails (after a 5 s wait) until it is up.
pub fn pool(url: &str, size: usize) -> Result<Pool, DbError> {
    let mut pg = tokio_postgres::Config::from_str(url).map_err(DbError::Url)?;
    if pg.get_connect_timeout().is_none() {
        pg.connect_timeout(Duration::from_secs(5));
    }
    if pg.get_application_name().is_none() {
        pg.application_name("herald");
    }
    pg.options(session_options(pg.get_options()));
    let manager = Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Build(e.to_string()))
}

/// Herald's batch statements join `UNNEST($n)` arrays against big tables.
/// A cached *generic* plan guesses the array's length and the table's size
/// once (often while the table is still empty) and keeps a sequential scan
/// forever after: at 50,000 deliveries that made one 20-row update cost
/// 3.5 ms. Custom plans see the real array and table and use the indexes.
fn session_options(existing: Option<&str>) -> String {
    let ours = "-c plan_cache_mode=force_custom_plan";
    match existing {
        Some(o) if !o.trim().is_empty() => format!("{o} {ours}"),
        _ => ours.to_string(),
    }
}

/// One connection outside any pool (migrations, admin tasks). The connection
/// task is spawned and ends when the client is dropped.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, DbError> {
    let pg = tokio_postgres::Config::from_str(url).map_err(DbError::Url)?;
    let (client, conn) = pg.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(error) = conn.await {
            tracing::debug!(%error, "Postgres connection closed.");
        }
    });
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::session_options;

    #[test]
    fn custom_plans_are_added_to_the_url_s_own_options() {
        assert_eq!(
            session_options(None),
            "-c plan_cache_mode=force_custom_plan"
        );
        assert_eq!(
            session_options(Some("-c statement_timeout=5s")),
            "-c statement_timeout=5s -c plan_cache_mode=force_custom_plan"
        );
        assert_eq!(
            session_options(Some("  ")),
            "-c plan_cache_mode=force_custom_plan"
        );
    }
}
