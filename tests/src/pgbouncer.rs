//! A real PgBouncer in front of the test Postgres, in transaction pooling:
//! `deploy/pgbouncer/pgbouncer.ini` with its ports, auth and pool size
//! filled in, on a free port, killed and removed on `Drop`. As root it drops
//! to the same unprivileged user the test Postgres runs as (`-u`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use tokio_postgres::SimpleQueryMessage;

use crate::pg_server::{admin_url, os_user};
use crate::reaper;
use crate::support::{free_port, init_test_log, is_root, tail, workspace_root};

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// One `pgbouncer` process.
pub struct PgBouncer {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl PgBouncer {
    /// Start `binary` with the project's config, `pool_size` server
    /// connections per database; returns once it accepts connections.
    pub async fn start(binary: &Path, pool_size: u32) -> anyhow::Result<Self> {
        init_test_log();
        let server = url::Url::parse(&admin_url()?).context("the test Postgres URL")?;
        let pg_port = server
            .port()
            .ok_or_else(|| anyhow!("no port in {server}"))?;
        let dir = tempfile::Builder::new().prefix("herald-pgb-").tempdir()?;
        reaper::at_exit(&format!("rm -rf '{}'", dir.path().display()));
        let port = free_port()?;
        let template = workspace_root().join("deploy/pgbouncer/pgbouncer.ini");
        let template = std::fs::read_to_string(&template)
            .with_context(|| format!("reading {}", template.display()))?;
        let users = dir.path().join("userlist.txt");
        std::fs::write(&users, "\"postgres\" \"\"\n")?;
        let ini = dir.path().join("pgbouncer.ini");
        let overrides = [
            ("*", format!("host=127.0.0.1 port={pg_port}")),
            ("listen_port", port.to_string()),
            ("default_pool_size", pool_size.to_string()),
            ("auth_type", "trust".to_string()),
            ("auth_file", users.display().to_string()),
        ];
        std::fs::write(
            &ini,
            configure(&template, &overrides)? + "admin_users = postgres\n",
        )?;
        let log = std::fs::File::create(dir.path().join("pgbouncer.log"))?;
        let mut cmd = Command::new(binary);
        if is_root() {
            cmd.args(["-u", &os_user()?]);
        }
        let child = cmd
            .arg(&ini)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {}", binary.display()))?;
        reaper::register(child.id());
        let mut bouncer = Self {
            dir,
            port,
            child: Some(child),
        };
        bouncer.wait_ready().await?;
        Ok(bouncer)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if herald_common::db::connect(&self.url("pgbouncer"))
                .await
                .is_ok()
            {
                return Ok(());
            }
            let exited = matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(Some(_))));
            if exited || tokio::time::Instant::now() > deadline {
                bail!("pgbouncer did not start:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>` through PgBouncer.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The rows of `SHOW what` on the admin console (`SHOW POOLS`, ...),
    /// as column → value maps.
    pub async fn show(&self, what: &str) -> anyhow::Result<Vec<Vec<(String, String)>>> {
        self.admin(&format!("SHOW {what}")).await
    }

    /// Run an admin console command (`RECONNECT db`, `SHOW ...`): its rows.
    pub async fn admin(&self, command: &str) -> anyhow::Result<Vec<Vec<(String, String)>>> {
        let admin = herald_common::db::connect(&self.url("pgbouncer")).await?;
        let messages = admin.simple_query(command).await?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(
                    row.columns()
                        .iter()
                        .map(|c| {
                            let value = row.get(c.name()).unwrap_or_default();
                            (c.name().to_string(), value.to_string())
                        })
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    /// The last lines PgBouncer logged.
    pub fn log(&self) -> String {
        tail(&self.dir.path().join("pgbouncer.log"), 40)
    }
}

/// `template` with the value of each `key = value` line named in
/// `overrides` replaced; every override must match a line.
fn configure(template: &str, overrides: &[(&str, String)]) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut used = vec![false; overrides.len()];
    for line in template.lines() {
        let key = line.split('=').next().unwrap_or_default().trim();
        match overrides.iter().position(|(k, _)| *k == key) {
            Some(i) if !line.trim_start().starts_with(';') => {
                used[i] = true;
                out.push_str(&format!("{key} = {}\n", overrides[i].1));
            }
            _ => out.push_str(&format!("{line}\n")),
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        bail!(
            "deploy/pgbouncer/pgbouncer.ini has no `{}` line",
            overrides[i].0
        );
    }
    Ok(out)
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("pgbouncer's log:\n{}", self.log());
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            reaper::unregister(child.id());
        }
    }
}
