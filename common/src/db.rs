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

/// How a pool's sessions plan statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plans {
    /// Every call planned for its own arrays and tables
    /// (`force_custom_plan`): right for any statement.
    Custom,
    /// One plan per statement, made once and kept, with only index scans
    /// and nested loops allowed (`force_generic_plan`, sequential scans,
    /// hash and merge joins off): only for statements that probe their
    /// tables by key from an `UNNEST` input and join no two CTEs. At 1,000
    /// events/s planning was half of Postgres's statement time
    /// (docs/benchmarks.md, "Generic plans, measured").
    Indexed,
}

/// A process's two pools: `hot` ([`Plans::Indexed`]) for the hot path's
/// statements, `any` ([`Plans::Custom`]) for everything else.
#[derive(Clone)]
pub struct Pools {
    pub hot: Pool,
    pub any: Pool,
}

/// [`Pools`] sharing `size` connections, `hot` of them for the hot path
/// (each pool gets at least one).
pub fn pools(url: &str, size: usize, hot: usize) -> Result<Pools, DbError> {
    let hot = hot.min(size.saturating_sub(1)).max(1);
    let any = size.saturating_sub(hot).max(1);
    Ok(Pools {
        hot: pool_with(url, hot, Plans::Indexed)?,
        any: pool_with(url, any, Plans::Custom)?,
    })
}

/// A pool of `size` connections with custom plans ([`pool_with`]).
pub fn pool(url: &str, size: usize) -> Result<Pool, DbError> {
    pool_with(url, size, Plans::Custom)
}

/// A pool of `size` connections planning as `plans` says. Connecting is
/// lazy: a pool is returned even if Postgres is down, and `get()` fails
/// (after a 5 s wait) until it is up.
pub fn pool_with(url: &str, size: usize, plans: Plans) -> Result<Pool, DbError> {
    let mut pg = tokio_postgres::Config::from_str(url).map_err(DbError::Url)?;
    if pg.get_connect_timeout().is_none() {
        pg.connect_timeout(Duration::from_secs(5));
    }
    if pg.get_application_name().is_none() {
        pg.application_name("herald");
    }
    pg.options(session_options(pg.get_options(), plans));
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
/// 3.5 ms. Custom plans see the real array and table and use the indexes;
/// [`Plans::Indexed`] keeps one plan but allows nothing but index probes.
/// (PgBouncer drops these options: docs/operations.md.)
fn session_options(existing: Option<&str>, plans: Plans) -> String {
    let ours = match plans {
        Plans::Custom => "-c plan_cache_mode=force_custom_plan",
        Plans::Indexed => {
            "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off \
             -c enable_hashjoin=off -c enable_mergejoin=off"
        }
    };
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
    use super::{session_options, Plans};

    #[test]
    fn plan_options_are_added_to_the_url_s_own_options() {
        let custom = "-c plan_cache_mode=force_custom_plan";
        let indexed = "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off \
                       -c enable_hashjoin=off -c enable_mergejoin=off";
        let table = [
            (None, Plans::Custom, custom.to_string()),
            (
                Some("-c statement_timeout=5s"),
                Plans::Custom,
                format!("-c statement_timeout=5s {custom}"),
            ),
            (Some("  "), Plans::Custom, custom.to_string()),
            (None, Plans::Indexed, indexed.to_string()),
            (
                Some("-c work_mem=8MB"),
                Plans::Indexed,
                format!("-c work_mem=8MB {indexed}"),
            ),
        ];
        for (existing, plans, want) in table {
            assert_eq!(
                session_options(existing, plans),
                want,
                "{existing:?} {plans:?}"
            );
        }
    }
}
