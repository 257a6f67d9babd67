//! A server process a test starts (Prometheus, PgBouncer): its output goes
//! to a log file, the reaper knows it (so it dies with the test process,
//! however that ends), and it is killed and reaped on `Drop`, its log's
//! tail printed first when the test is panicking.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::reaper;
use crate::support::tail;

pub(crate) struct ServerChild {
    name: &'static str,
    log: PathBuf,
    child: Child,
}

impl ServerChild {
    /// Spawn `cmd` (stdin closed, stdout and stderr to `log`).
    pub(crate) fn spawn(name: &'static str, cmd: &mut Command, log: &Path) -> anyhow::Result<Self> {
        let file = std::fs::File::create(log)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("spawning {name}"))?;
        reaper::register(child.id());
        Ok(Self {
            name,
            log: log.to_path_buf(),
            child,
        })
    }

    /// Poll `ready` every 100 ms until it says yes; an error with the log's
    /// tail if the process exits first or `timeout` passes.
    pub(crate) async fn wait_ready<F, Fut>(
        &mut self,
        timeout: Duration,
        mut ready: F,
    ) -> anyhow::Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if ready().await {
                return Ok(());
            }
            let exited = matches!(self.child.try_wait(), Ok(Some(_)));
            if exited || tokio::time::Instant::now() > deadline {
                bail!("{} did not become ready:\n{}", self.name, self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines the process logged.
    pub(crate) fn log(&self) -> String {
        tail(&self.log, 40)
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("----- {} log -----\n{}\n-----", self.name, self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        reaper::unregister(self.child.id());
    }
}
