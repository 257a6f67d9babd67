//! `herald-ingest` and `herald-dispatcher` as real child processes, for
//! tests that SIGTERM or `kill -9` them. The binaries are built once per
//! test process with the test binary's own cargo profile and target dir
//! (or taken from `HERALD_BIN_DIR`, see `binaries`). Killed on `Drop`; the output of a
//! process is printed when the test is failing or `TEST_LOG` is set.

use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use herald_common::config::settings;
use rustix::process::{Pid, Signal};

use crate::http::ApiClient;
use crate::reaper;
use crate::support::{init_test_log, tail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    Ingest,
    Dispatcher,
}

impl Binary {
    pub fn name(self) -> &'static str {
        match self {
            Binary::Ingest => "herald-ingest",
            Binary::Dispatcher => "herald-dispatcher",
        }
    }

    /// The variable holding the address this binary serves HTTP on.
    pub fn listen_var(self) -> &'static str {
        match self {
            Binary::Ingest => settings::LISTEN.name,
            Binary::Dispatcher => settings::METRICS_LISTEN.name,
        }
    }

    /// Path of the built binary; builds both binaries on first use.
    pub async fn path(self) -> anyhow::Result<PathBuf> {
        let dir = tokio::task::spawn_blocking(crate::binaries::binary_dir).await??;
        Ok(dir.join(self.name()))
    }
}

/// Send a signal to a process, ignoring "no such process".
pub(crate) fn signal(pid: u32, sig: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Wait for `child` to exit; SIGKILL it after `timeout`. Always reaps.
pub(crate) async fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = tokio::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            _ => {
                let _ = child.kill();
                break child.wait().ok();
            }
        }
    };
    reaper::unregister(child.id());
    status
}

/// A running Herald binary.
pub struct HeraldProcess {
    binary: Binary,
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
    child: Option<Child>,
    runs: usize,
}

impl HeraldProcess {
    /// Start `binary` with exactly these `HERALD_*` variables (inherited
    /// `HERALD_*` variables are removed); other variables are inherited.
    pub async fn spawn<I, K, V>(binary: Binary, env: I) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        init_test_log();
        let env = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let dir = tempfile::Builder::new().prefix("herald-proc-").tempdir()?;
        reaper::at_exit(&format!("rm -rf '{}'", dir.path().display()));
        let mut p = Self {
            binary,
            env,
            dir,
            child: None,
            runs: 0,
        };
        p.start().await?;
        Ok(p)
    }

    /// Start it again (same variables) after it exited or was killed.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            bail!("{} is already running", self.binary.name());
        }
        let path = self.binary.path().await?;
        self.runs += 1;
        let log = File::create(self.log_path())?;
        let mut cmd = Command::new(&path);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("HERALD_") {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {}", path.display()))?;
        reaper::register(child.id());
        self.child = Some(child);
        Ok(())
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("run-{}.log", self.runs))
    }

    /// What the current (or last) run printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The value of one of its variables.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Where it serves HTTP (`HERALD_LISTEN` for ingest, `HERALD_METRICS_LISTEN`
    /// for a dispatcher), when that variable was given.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.env(self.binary.listen_var())?.parse().ok()
    }

    /// `http://<addr>`; panics when no listen address was given.
    pub fn url(&self) -> String {
        match self.addr() {
            Some(a) => format!("http://{a}"),
            None => panic!(
                "{} was started without {}",
                self.binary.name(),
                self.binary.listen_var()
            ),
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    pub fn sigterm(&self) {
        if let Some(pid) = self.pid() {
            signal(pid, Signal::TERM);
        }
    }

    pub fn sigint(&self) {
        if let Some(pid) = self.pid() {
            signal(pid, Signal::INT);
        }
    }

    /// `kill -9`, and reap it.
    pub fn kill9(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
            reaper::unregister(child.id());
        }
    }

    /// Wait for it to exit by itself; `None` if it is still running after
    /// `timeout` (it is left running).
    pub async fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    reaper::unregister(child.id());
                    return Some(status);
                }
                Ok(None) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                _ => return None,
            }
        }
    }

    /// SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit status.
    pub async fn stop(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.sigterm();
        let child = self.child.as_mut()?;
        wait_exit(child, timeout).await
    }

    /// Wait until `GET <url>/healthz` answers 200; fails early if the
    /// process exits.
    pub async fn wait_healthy(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let client = ApiClient::new(self.url());
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if !self.is_running() {
                bail!(
                    "{} exited:\n{}",
                    self.binary.name(),
                    tail(&self.log_path(), 40)
                );
            }
            if let Ok(r) = client.get("/healthz").await {
                if r.status.is_success() {
                    return Ok(());
                }
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "{} not healthy after {timeout:?}:\n{}",
                    self.binary.name(),
                    tail(&self.log_path(), 40)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for HeraldProcess {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() || std::env::var_os("TEST_LOG").is_some() {
            eprintln!(
                "----- {} output (last run) -----\n{}\n-----",
                self.binary.name(),
                tail(&self.log_path(), 200)
            );
        }
    }
}
