//! One in-process Herald node of a [`TestApp`](crate::TestApp): its
//! shutdown token, its task and the address of its HTTP server.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::bail;
use herald_common::shutdown::CancellationToken;
use tokio::task::JoinHandle;

use crate::http::ApiClient;

const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// One in-process node: its shutdown token, task and HTTP address.
pub(crate) struct Node {
    pub token: CancellationToken,
    pub task: JoinHandle<Result<(), String>>,
    pub addr: SocketAddr,
}

impl Node {
    /// It did not become ready: stop it and add its own error, if it ended.
    pub async fn failed(self, error: anyhow::Error) -> anyhow::Error {
        self.token.cancel();
        if !self.task.is_finished() {
            self.task.abort();
            return error;
        }
        match self.task.await {
            Ok(Err(message)) => error.context(message),
            Ok(Ok(())) => error.context("run returned Ok before it was ready"),
            Err(join) => error.context(format!("run panicked: {join}")),
        }
    }

    pub async fn stop(self, timeout: Duration) -> Result<(), String> {
        self.token.cancel();
        match tokio::time::timeout(timeout, self.task).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(format!("task failed: {e}")),
            Err(_) => Err(format!("did not stop within {timeout:?}")),
        }
    }
}

/// Wait until `node` answers 200 on the first of `paths` it serves (a 404
/// moves on to the next path); fails at once if its task ends.
pub(crate) async fn wait_ready(node: &Node, paths: &[&str]) -> anyhow::Result<()> {
    let api = ApiClient::new(format!("http://{}", node.addr));
    let ready = crate::wait::wait_for(READY_TIMEOUT, || {
        let (api, finished) = (api.clone(), node.task.is_finished());
        async move {
            if finished {
                return Some(false);
            }
            for path in paths {
                match api.get(path).await {
                    Ok(r) if r.status.is_success() => return Some(true),
                    Ok(r) if r.status == http::StatusCode::NOT_FOUND => continue,
                    _ => return None,
                }
            }
            None
        }
    })
    .await;
    match ready {
        Ok(true) => Ok(()),
        Ok(false) => bail!("it exited at start"),
        Err(e) => bail!("not ready: {e}"),
    }
}
