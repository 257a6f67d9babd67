//! A fresh database per test: `test_<uuid>` on the test Postgres server
//! (see `pg_server`), dropped with `DROP DATABASE ... WITH (FORCE)` on `Drop`.

use anyhow::{anyhow, Context};
use herald_common::migrate::{self, MigrationReport};

use crate::pg_server::admin_url;
use crate::support::init_test_log;

pub struct TestDb {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDb {
    /// Create an empty database (not migrated). Panics with the reason if
    /// it cannot.
    pub async fn create() -> Self {
        match Self::try_create().await {
            Ok(db) => db,
            Err(e) => panic!("could not create a test database: {e:#}"),
        }
    }

    pub async fn try_create() -> anyhow::Result<Self> {
        let admin_url = tokio::task::spawn_blocking(admin_url).await??;
        Self::try_create_on(&admin_url).await
    }

    /// Create an empty database on the server of `admin_url` (a superuser
    /// URL, e.g. [`crate::PgServer::admin_url`]).
    pub async fn try_create_on(admin_url: &str) -> anyhow::Result<Self> {
        init_test_log();
        let admin_url = admin_url.to_string();
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let admin = herald_common::db::connect(&admin_url)
            .await
            .context("connecting to the test Postgres server")?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .with_context(|| format!("CREATE DATABASE {name}"))?;
        let url = with_database(&admin_url, &name)?;
        Ok(Self {
            admin_url,
            name,
            url,
        })
    }

    /// Create a database and apply every migration.
    pub async fn migrated() -> Self {
        let db = Self::create().await;
        db.migrate().await;
        db
    }

    /// `postgres://.../test_<uuid>`
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new connection to this database.
    pub async fn connect(&self) -> tokio_postgres::Client {
        match herald_common::db::connect(&self.url).await {
            Ok(c) => c,
            Err(e) => panic!("could not connect to {}: {e}", self.name),
        }
    }

    /// Apply pending migrations on a new connection.
    pub async fn migrate(&self) -> MigrationReport {
        let mut client = self.connect().await;
        match migrate::run(&mut client).await {
            Ok(r) => r,
            Err(e) => panic!("migrating {} failed: {e}", self.name),
        }
    }
}

/// The same server URL pointing at another database.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).map_err(|e| anyhow!("bad Postgres URL: {e}"))?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = herald_common::db::connect(admin_url).await?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    Ok(())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs outside any async context we could use: do it on a
        // thread with its own small runtime, and wait for it.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(drop_database(&admin_url, &name))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, db = %self.name, "Could not drop the test database.")
            }
            Err(_) => tracing::warn!(db = %self.name, "Dropping the test database panicked."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_replaces_the_path_only() {
        let url = with_database(
            "postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable",
            "test_x",
        )
        .expect("valid url");
        assert_eq!(
            url,
            "postgres://postgres@127.0.0.1:5433/test_x?sslmode=disable"
        );
    }
}
