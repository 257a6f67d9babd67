//! A real PgBouncer in front of the test Postgres, in transaction pooling:
//! `deploy/pgbouncer/pgbouncer.ini` with its ports, auth and pool size
//! filled in, on a free port, killed and removed on `Drop`. As root it drops
//! to the same unprivileged user the test Postgres runs as (`-u`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use tokio_postgres::SimpleQueryMessage;

use crate::pg_server::{admin_url, os_user};
use crate::reaper;
use crate::server_child::ServerChild;
use crate::support::{free_port, init_test_log, is_root, workspace_root};

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// One `pgbouncer` process.
pub struct PgBouncer {
    // Before the dir: the process goes before its files.
    child: ServerChild,
    _dir: tempfile::TempDir,
    port: u16,
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
        let mut cmd = Command::new(binary);
        if is_root() {
            cmd.args(["-u", &os_user()?]);
        }
        cmd.arg(&ini);
        let log = dir.path().join("pgbouncer.log");
        let child = ServerChild::spawn("pgbouncer", &mut cmd, &log)?;
        let mut bouncer = Self {
            child,
            _dir: dir,
            port,
        };
        let admin = bouncer.url("pgbouncer");
        bouncer
            .child
            .wait_ready(START_TIMEOUT, || async {
                herald_common::db::connect(&admin).await.is_ok()
            })
            .await?;
        Ok(bouncer)
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
        self.child.log()
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
