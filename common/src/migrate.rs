//! The migration runner: applies the numbered files of `migrations/` in order,
//! in one transaction, under a Postgres advisory lock, and records each in
//! `herald_migrations`. A no-op when up to date; safe when several ingest
//! nodes start at once (the second waits for the lock, then finds nothing to do).

use sha2::{Digest, Sha256};

/// `pg_advisory_xact_lock` key: "HERALD" in ASCII.
const LOCK_KEY: i64 = 0x4845_5241_4c44;

pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. `migrations_are_all_listed` keeps this in step
/// with the folder.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init.sql",
        sql: include_str!("../../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_dispatcher.sql",
        sql: include_str!("../../migrations/0002_dispatcher.sql"),
    },
    Migration {
        version: 3,
        name: "0003_hot_path.sql",
        sql: include_str!("../../migrations/0003_hot_path.sql"),
    },
    Migration {
        version: 5,
        name: "0005_routing.sql",
        sql: include_str!("../../migrations/0005_routing.sql"),
    },
];

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("database error while migrating: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("migration {version} ({name}) was changed after it was applied")]
    Changed { version: i32, name: String },
    #[error("the database has migration {0}, which this build does not know; run a newer Herald")]
    Unknown(i32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this run (empty when already up to date).
    pub applied: Vec<i32>,
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
    let rows = tx
        .query("SELECT version, name, checksum FROM herald_migrations", &[])
        .await?;
    let mut applied_before = Vec::new();
    for row in rows {
        let version: i32 = row.get(0);
        let name: String = row.get(1);
        let sum: String = row.get(2);
        match migrations.iter().find(|m| m.version == version) {
            None => return Err(MigrateError::Unknown(version)),
            Some(m) if checksum(m.sql) != sum => {
                return Err(MigrateError::Changed { version, name })
            }
            Some(_) => applied_before.push(version),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_all_listed_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations folder")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql") && !n.ends_with(".down.sql"))
            .collect();
        files.sort();
        let listed: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        assert_eq!(files, listed);
        // Numbers are assigned per change, so a branch may skip one that
        // another branch brings.
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version);
        }
        for m in MIGRATIONS {
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
        }
    }
}
