//! The Postgres server tests use. The harness owns it: a private server
//! started on first use, once per test process (`initdb` into a temp dir, a
//! free port, trust auth on 127.0.0.1 only, durability off for speed), that
//! every test of the process creates its databases on. As root it runs as
//! an unprivileged user (`postgres`, else a `herald` system user), since
//! postgres refuses to run as root. The reaper stops it and removes its
//! files when the test process exits, however it exits (`kill -9` too).
//! `deploy/local/test.sh` only installs the server binaries; it starts no
//! server. `HERALD_TEST_DATABASE_URL` (a superuser URL) names a server of
//! the developer's instead.
//!
//! [`PgServer`] is such a server of a test's own, for tests that stop
//! Postgres for real (`pg_ctl stop -m immediate`) and start it again.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context};

use crate::reaper;
use crate::support::{find_in_path, free_port, is_executable, is_root, tail};

/// The admin URL of the server to create test databases on.
pub(crate) fn admin_url() -> anyhow::Result<String> {
    if let Ok(url) = std::env::var("HERALD_TEST_DATABASE_URL") {
        if !url.trim().is_empty() {
            return Ok(url);
        }
    }
    static PRIVATE: OnceLock<Result<String, String>> = OnceLock::new();
    PRIVATE
        .get_or_init(|| start_private().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!("could not start a private Postgres for the tests: {e}"))
}

/// The directory holding `initdb` and `pg_ctl`: `PATH`, else the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn pg_bindir() -> anyhow::Result<PathBuf> {
    if let (Some(initdb), Some(_)) = (find_in_path("initdb"), find_in_path("pg_ctl")) {
        if let Some(dir) = initdb.parent() {
            return Ok(dir.to_path_buf());
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, bin)| is_executable(&bin.join("initdb")))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        anyhow!(
            "PostgreSQL server binaries (initdb, pg_ctl) not found; run deploy/local/test.sh \
             (it installs them) or set HERALD_TEST_DATABASE_URL"
        )
    })
}

fn run(cmd: &mut Command, what: &str) -> anyhow::Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {what}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!("{what} failed ({}):\n{text}", out.status);
    }
    Ok(text)
}

/// As root: the unprivileged user to run postgres as, created if needed.
pub(crate) fn os_user() -> anyhow::Result<String> {
    for user in ["postgres", "herald"] {
        if Command::new("id")
            .arg("-u")
            .arg(user)
            .output()?
            .status
            .success()
        {
            return Ok(user.to_string());
        }
    }
    run(
        Command::new("useradd").args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "herald",
        ]),
        "useradd herald",
    )?;
    Ok("herald".to_string())
}

fn id_of(user: &str, flag: &str) -> anyhow::Result<u32> {
    let out = run(Command::new("id").arg(flag).arg(user), "id")?;
    out.trim()
        .parse()
        .with_context(|| format!("id {flag} {user} printed {out:?}"))
}

/// `program` run as `user` (via runuser) or as ourselves.
fn command(user: Option<&str>, program: &Path) -> Command {
    match user {
        Some(u) => {
            let mut c = Command::new("runuser");
            c.args(["-u", u, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

fn start_private() -> anyhow::Result<String> {
    let server = PgServer::start(false)?;
    let url = server.admin_url();
    // Kept for the whole test process; the reaper stops it at exit.
    std::mem::forget(server);
    Ok(url)
}

/// A private Postgres server: `initdb` into a temp dir, started on a free
/// port; it can be stopped like a crash (`pg_ctl stop -m immediate`) and
/// started again on the same data directory and port. Stopped and removed
/// on `Drop` (and by the reaper if the test process dies).
pub struct PgServer {
    pg_ctl: PathBuf,
    user: Option<String>,
    dir: PathBuf,
    port: u16,
    options: String,
}

impl PgServer {
    /// `initdb` and start. `durable`: a commit is written out before it is
    /// acknowledged (`synchronous_commit=on`), so an immediate stop loses
    /// no acknowledged commit, as a real server would not; otherwise commits
    /// are acknowledged before their WAL is written (fast, for tests that
    /// never stop the server). `fsync` is off either way: the server
    /// process stops, the machine does not.
    pub fn start(durable: bool) -> anyhow::Result<Self> {
        let bin = pg_bindir()?;
        let dir = tempfile::Builder::new()
            .prefix("herald-test-pg-")
            .tempdir()?
            .keep();
        let user = if is_root() { Some(os_user()?) } else { None };
        let pg_ctl = bin.join("pg_ctl");
        let mut server = Self {
            pg_ctl,
            user,
            dir,
            port: 0,
            options: String::new(),
        };
        // Registered first, so a crash at any later point still cleans up.
        reaper::at_exit(&format!(
            "{}; rm -rf '{}'",
            server.stop_command(),
            server.dir.display()
        ));
        server.initdb(&bin.join("initdb"))?;
        let commits = if durable {
            "-c synchronous_commit=on"
        } else {
            "-c synchronous_commit=off"
        };
        let mut last_error = None;
        for _ in 0..3 {
            server.port = free_port()?;
            server.options = format!(
                "-c listen_addresses=127.0.0.1 -p {} -k '{}' -c fsync=off {commits} \
                 -c full_page_writes=off -c max_connections=500",
                server.port,
                server.data().display()
            );
            match server.start_again() {
                Ok(()) => {
                    tracing::info!(port = server.port, dir = %server.dir.display(), "Started a private Postgres.");
                    return Ok(server);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow!("pg_ctl start failed")))
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    fn stop_command(&self) -> String {
        let run_as = self
            .user
            .as_deref()
            .map(|u| format!("runuser -u {u} -- "))
            .unwrap_or_default();
        format!(
            "{run_as}'{}' -D '{}' stop -m immediate -w",
            self.pg_ctl.display(),
            self.data().display()
        )
    }

    fn initdb(&self, initdb: &Path) -> anyhow::Result<()> {
        if let Some(u) = self.user.as_deref() {
            std::os::unix::fs::chown(&self.dir, Some(id_of(u, "-u")?), Some(id_of(u, "-g")?))?;
        }
        run(
            command(self.user.as_deref(), initdb)
                .arg("-D")
                .arg(self.data())
                .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]),
            "initdb",
        )?;
        Ok(())
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres` (a superuser).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Start it (again) on its data directory and port; returns once it
    /// accepts connections.
    pub fn start_again(&self) -> anyhow::Result<()> {
        run(
            command(self.user.as_deref(), &self.pg_ctl)
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.log())
                .args(["-w", "-t", "60", "-o", &self.options, "start"]),
            "pg_ctl start",
        )
        .map(|_| ())
        .map_err(|e| e.context(tail(&self.log(), 20)))
    }

    /// Stop it the way a crash would: `pg_ctl stop -m immediate` (every
    /// backend quits at once, no checkpoint; the next start recovers from
    /// the WAL).
    pub fn stop_immediate(&self) -> anyhow::Result<()> {
        run(
            command(self.user.as_deref(), &self.pg_ctl)
                .arg("-D")
                .arg(self.data())
                .args(["stop", "-m", "immediate", "-w"]),
            "pg_ctl stop -m immediate",
        )
        .map(|_| ())
    }

    /// What the server logged (every run).
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.stop_immediate();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
