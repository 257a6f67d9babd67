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
    let bin = pg_bindir()?;
    let (initdb, pg_ctl) = (bin.join("initdb"), bin.join("pg_ctl"));
    let dir = tempfile::Builder::new()
        .prefix("herald-test-pg-")
        .tempdir()?
        .keep();
    let data = dir.join("data");
    let log = dir.join("postgres.log");
    let user = if is_root() { Some(os_user()?) } else { None };
    let user = user.as_deref();
    let run_as = user
        .map(|u| format!("runuser -u {u} -- "))
        .unwrap_or_default();
    // Registered first, so a crash at any later point still cleans up.
    reaper::at_exit(&format!(
        "{run_as}'{}' -D '{}' stop -m immediate -w; rm -rf '{}'",
        pg_ctl.display(),
        data.display(),
        dir.display()
    ));
    if let Some(u) = user {
        std::os::unix::fs::chown(&dir, Some(id_of(u, "-u")?), Some(id_of(u, "-g")?))?;
    }
    run(
        command(user, &initdb).arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]),
        "initdb",
    )?;
    let mut last_error = None;
    for _ in 0..3 {
        let port = free_port()?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k '{}' -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=500",
            data.display()
        );
        let started = run(
            command(user, &pg_ctl)
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o", &options, "start"]),
            "pg_ctl start",
        );
        match started {
            Ok(_) => {
                tracing::info!(port, dir = %dir.display(), "Started a private Postgres.");
                return Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"));
            }
            Err(e) => last_error = Some(e.context(tail(&log, 20))),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow!("pg_ctl start failed")))
}
