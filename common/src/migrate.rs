//! The migration runner: applies the numbered files of `migrations/` in order,
//! in one transaction, under a Postgres advisory lock, and records each in
//! `herald_migrations`. A no-op when up to date; safe when several ingest
//! nodes start at once (the second waits for the lock, then finds nothing to do).
//!
//! Every migration has a down script (`NNNN_name.down.sql`); [`rollback`]
//! runs the newest ones in reverse order under the same lock, so an upgrade
//! can be undone. Only the up script is checksummed: adding or editing a
//! down script never makes an applied migration look changed.

use sha2::{Digest, Sha256};
use tokio_postgres::Transaction;

/// `pg_advisory_xact_lock` key: "HERALD" in ASCII.
const LOCK_KEY: i64 = 0x4845_5241_4c44;

pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
    /// Reverts `sql` exactly (schema and surviving rows as before it ran).
    pub down: &'static str,
}

macro_rules! migration {
    ($version:literal, $stem:literal) => {
        Migration {
            version: $version,
            name: concat!($stem, ".sql"),
            sql: include_str!(concat!("../../migrations/", $stem, ".sql")),
            down: include_str!(concat!("../../migrations/", $stem, ".down.sql")),
        }
    };
}

/// Every migration, in order. `migrations_are_all_listed_in_order` keeps
/// this in step with the folder.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_init"),
    migration!(2, "0002_dispatcher"),
    migration!(3, "0003_hot_path"),
    migration!(4, "0004_console"),
    migration!(5, "0005_routing"),
    migration!(6, "0006_delivery"),
    migration!(7, "0007_security"),
];

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("database error while migrating: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("migration {version} ({name}) was changed after it was applied")]
    Changed { version: i32, name: String },
    #[error("the database has migration {0}, which this build does not know; run a newer Herald")]
    Unknown(i32),
    #[error("cannot roll back {asked} migration(s): only {applied} applied")]
    TooFewApplied { asked: usize, applied: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this run (empty when already up to date).
    pub applied: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackReport {
    /// Versions rolled back, newest first.
    pub reverted: Vec<i32>,
}

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// Apply pending migrations.
pub async fn run(client: &mut tokio_postgres::Client) -> Result<MigrationReport, MigrateError> {
    run_migrations(client, MIGRATIONS).await
}

pub async fn run_migrations(
    client: &mut tokio_postgres::Client,
    migrations: &[Migration],
) -> Result<MigrationReport, MigrateError> {
    let tx = locked(client).await?;
    let applied_before = applied_versions(&tx, migrations).await?;
    let mut applied = Vec::new();
    for m in migrations {
        if applied_before.contains(&m.version) {
            continue;
        }
        tracing::info!(version = m.version, name = m.name, "Applying migration.");
        tx.batch_execute(m.sql).await?;
        tx.execute(
            "INSERT INTO herald_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &checksum(m.sql)],
        )
        .await?;
        applied.push(m.version);
    }
    tx.commit().await?;
    Ok(MigrationReport { applied })
}

/// Roll back the newest `steps` applied migrations, newest first, in one
/// transaction: either all of them are reverted or none.
pub async fn rollback(
    client: &mut tokio_postgres::Client,
    steps: usize,
) -> Result<RollbackReport, MigrateError> {
    rollback_migrations(client, MIGRATIONS, steps).await
}

pub async fn rollback_migrations(
    client: &mut tokio_postgres::Client,
    migrations: &[Migration],
    steps: usize,
) -> Result<RollbackReport, MigrateError> {
    let tx = locked(client).await?;
    let mut applied = applied_versions(&tx, migrations).await?;
    if steps > applied.len() {
        return Err(MigrateError::TooFewApplied {
            asked: steps,
            applied: applied.len(),
        });
    }
    applied.sort_unstable_by(|a, b| b.cmp(a));
    let mut reverted = Vec::new();
    for version in applied.into_iter().take(steps) {
        // `applied_versions` only returns versions found in `migrations`.
        let Some(m) = migrations.iter().find(|m| m.version == version) else {
            return Err(MigrateError::Unknown(version));
        };
        tracing::info!(version, name = m.name, "Rolling back migration.");
        tx.batch_execute(m.down).await?;
        tx.execute(
            "DELETE FROM herald_migrations WHERE version = $1",
            &[&version],
        )
        .await?;
        reverted.push(version);
    }
    tx.commit().await?;
    Ok(RollbackReport { reverted })
}

/// A transaction holding the migration lock, with `herald_migrations` present.
async fn locked(
    client: &mut tokio_postgres::Client,
) -> Result<Transaction<'_>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS herald_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT NOT NULL,
            checksum   TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .await?;
    Ok(tx)
}

/// The versions recorded as applied; each must be known and unchanged.
async fn applied_versions(
    tx: &Transaction<'_>,
    migrations: &[Migration],
) -> Result<Vec<i32>, MigrateError> {
    let rows = tx
        .query("SELECT version, name, checksum FROM herald_migrations", &[])
        .await?;
    let mut versions = Vec::with_capacity(rows.len());
    for row in rows {
        let version: i32 = row.try_get("version")?;
        let name: String = row.try_get("name")?;
        let sum: String = row.try_get("checksum")?;
        match migrations.iter().find(|m| m.version == version) {
            None => return Err(MigrateError::Unknown(version)),
            Some(m) if checksum(m.sql) != sum => {
                return Err(MigrateError::Changed { version, name })
            }
            Some(_) => versions.push(version),
        }
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `.sql` files of `migrations/`: the up scripts, or the down ones.
    fn files(down: bool) -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations folder")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql") && n.ends_with(".down.sql") == down)
            .collect();
        files.sort();
        files
    }

    #[test]
    fn migrations_are_all_listed_in_order() {
        let listed: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        assert_eq!(files(false), listed);
        // Numbers are assigned per branch, so a gap may stay until the
        // branches meet; they only have to increase.
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version);
        }
        for m in MIGRATIONS {
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
        }
    }

    #[test]
    fn every_migration_has_a_down_script() {
        let wanted: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| m.name.replace(".sql", ".down.sql"))
            .collect();
        assert_eq!(files(true), wanted);
        assert!(MIGRATIONS.iter().all(|m| !m.down.trim().is_empty()));
    }

    #[test]
    fn checksums_stored_by_existing_databases_still_match() {
        // What databases migrated before down scripts existed hold in
        // herald_migrations.checksum.
        let stored = [
            "3ab1dcead2b312b61d4634c76ce02637789345d659474ef0f2324ceba683ebe4",
            "e8d58e20a114b8369bd61efe8672ebf665911e6a5ec24629f8da05ede3d3e009",
            "98d643b3c29a2802a174548c1269d5de9192d4049eff159b73415931eaa52c8a",
        ];
        for (m, sum) in MIGRATIONS.iter().zip(stored) {
            assert_eq!(checksum(m.sql), sum, "{}", m.name);
        }
    }
}
