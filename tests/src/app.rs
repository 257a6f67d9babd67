//! `TestApp`: Herald running in-process (zero2prod's `spawn_app`): a private
//! NATS server (or the given one), a fresh migrated database, one ingest on
//! `127.0.0.1:0` and N dispatchers, all calling the same `run` functions as
//! the binaries. Everything stops on `Drop`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use herald_common::config::settings::NATS_URL;
use herald_common::config::{Config, MapEnv};
use herald_common::jetstream::provision_with_retry;
use herald_common::shutdown::CancellationToken;
use tokio::net::TcpListener;

use crate::app_node::{wait_ready, Node};
pub use crate::app_options::{test_env, TestAppOptions};
use crate::http::ApiClient;
use crate::process::{Binary, HeraldProcess};
use crate::support::{free_port, init_test_log};
use crate::tables::install_event_types;
use crate::wait::{connect_nats, WAIT};
use crate::{NatsServer, TestDb};

const READY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct TestApp {
    ingest: Option<Node>,
    dispatchers: Vec<Option<Node>>,
    config: Config,
    env: MapEnv,
    api: ApiClient,
    nats: async_nats::Client,
    pg: tokio_postgres::Client,
    db: TestDb,
    nats_server: Option<NatsServer>,
}

impl TestApp {
    /// Start Herald as `options` say; panics with the reason if it cannot.
    pub async fn spawn(options: TestAppOptions) -> Self {
        match Self::try_spawn(options).await {
            Ok(app) => app,
            Err(e) => panic!("could not start the test app: {e:#}"),
        }
    }

    pub async fn try_spawn(options: TestAppOptions) -> anyhow::Result<Self> {
        init_test_log();
        let nats_server = match options.nats_url {
            Some(_) => None,
            None => Some(NatsServer::try_start().await?),
        };
        let nats_url = options
            .nats_url
            .clone()
            .or_else(|| nats_server.as_ref().map(NatsServer::url))
            .ok_or_else(|| anyhow!("no NATS URL"))?;
        let db = match &options.database_server {
            Some(url) => TestDb::try_create_on(url).await?,
            None => TestDb::try_create().await?,
        };
        let mut env = test_env(db.url(), &nats_url);
        for (k, v) in &options.env {
            env.set(k, v.clone());
        }
        let mut config = Config::from_source(&env).map_err(|e| anyhow!("{e}"))?;
        for f in &options.configure {
            f(&mut config);
        }
        let nats = connect_nats(&nats_url).await?;
        if options.setup {
            db.migrate().await;
            let js = async_nats::jetstream::new(nats.clone());
            let (deadline, never) = (Some(READY_TIMEOUT), CancellationToken::new());
            provision_with_retry(&js, &config.streams, deadline, &never)
                .await
                .context("provisioning the streams")?;
        }
        let pg = db.connect().await;
        if let (true, Some(types)) = (options.setup, &options.event_types) {
            install_event_types(&pg, types)
                .await
                .context("registering the test's event types")?;
        }
        let api = ApiClient::new("http://unstarted.invalid")
            .with_token(config.security.admin_token.expose());
        let mut app = Self {
            ingest: None,
            dispatchers: Vec::new(),
            config,
            env,
            api,
            nats,
            pg,
            db,
            nats_server,
        };
        if options.ingest {
            app.start_ingest().await?;
        }
        for _ in 0..options.dispatchers {
            app.start_dispatcher().await?;
        }
        Ok(app)
    }

    /// The parsed config every in-process node started from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The `HERALD_*` variables behind [`TestApp::config`].
    pub fn env(&self) -> &MapEnv {
        &self.env
    }

    pub fn admin_token(&self) -> &str {
        self.config.security.admin_token.expose()
    }

    /// `http://127.0.0.1:<port>` of the in-process ingest.
    pub fn ingest_url(&self) -> String {
        self.api.base().to_string()
    }

    /// A client for ingest that sends the admin token.
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// A client for ingest that sends no token.
    pub fn anonymous(&self) -> ApiClient {
        self.api.without_token()
    }

    /// A connection to the test database.
    pub fn db(&self) -> &tokio_postgres::Client {
        &self.pg
    }

    pub fn test_db(&self) -> &TestDb {
        &self.db
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    pub fn jetstream(&self) -> async_nats::jetstream::Context {
        async_nats::jetstream::new(self.nats.clone())
    }

    /// The `HERALD_NATS_URL` of the app (one server or a cluster's list).
    pub fn nats_url(&self) -> &str {
        self.env.0.get(NATS_URL.name).map_or("", String::as_str)
    }

    /// The private NATS server, to stop, kill or restart it (`None` when
    /// the app was given `nats_url`).
    pub fn nats_server(&mut self) -> Option<&mut NatsServer> {
        self.nats_server.as_mut()
    }

    /// Start ingest (again), on its previous port if it had one.
    pub async fn start_ingest(&mut self) -> anyhow::Result<()> {
        if self.ingest.is_some() {
            bail!("ingest is already running");
        }
        let port = self.ingest_port().unwrap_or(0);
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let mut config = self.config.clone();
        config.ingest.listen = addr;
        let token = CancellationToken::new();
        let run = herald_ingest::run(config, listener, token.clone());
        let task = tokio::spawn(async move { run.await.map_err(|e| e.to_string()) });
        self.api = ApiClient::new(format!("http://{addr}")).with_token(self.admin_token());
        self.ingest = Some(Node { token, task, addr });
        self.wait_for_ingest().await
    }

    fn ingest_port(&self) -> Option<u16> {
        let base = self.api.base().strip_prefix("http://")?;
        base.parse::<SocketAddr>().ok().map(|a| a.port())
    }

    async fn wait_for_ingest(&mut self) -> anyhow::Result<()> {
        let ready = match &self.ingest {
            Some(node) => wait_ready(node, &["/readyz", "/healthz"]).await,
            None => bail!("ingest is not running"),
        };
        match (ready, self.ingest.take()) {
            (Err(e), Some(node)) => Err(node.failed(e).await.context("ingest did not start")),
            (Err(e), None) => Err(e),
            (Ok(()), node) => {
                self.ingest = node;
                Ok(())
            }
        }
    }

    /// Stop ingest gracefully (cancel, wait for `run` to return).
    pub async fn stop_ingest(&mut self) -> Result<(), String> {
        match self.ingest.take() {
            Some(node) => {
                node.stop(self.config.dispatcher.shutdown_grace + Duration::from_secs(10))
                    .await
            }
            None => Ok(()),
        }
    }

    /// Start one more in-process dispatcher; returns its index. Its id is
    /// `test-dispatcher-<index>`.
    pub async fn start_dispatcher(&mut self) -> anyhow::Result<usize> {
        let index = self.dispatchers.len();
        let node = self.spawn_dispatcher(index).await?;
        self.dispatchers.push(Some(node));
        Ok(index)
    }

    /// Start a dispatcher and wait until its `/healthz` answers 200 (its
    /// consumers run); a dispatcher that exits meanwhile is an error.
    async fn spawn_dispatcher(&self, index: usize) -> anyhow::Result<Node> {
        let node = self.spawn_dispatcher_task(index).await?;
        match wait_ready(&node, &["/healthz"]).await {
            Ok(()) => Ok(node),
            Err(e) => Err(node
                .failed(e)
                .await
                .context(format!("dispatcher {index} did not start"))),
        }
    }

    async fn spawn_dispatcher_task(&self, index: usize) -> anyhow::Result<Node> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut config = self.config.clone();
        config.dispatcher.metrics_listen = addr;
        config.dispatcher.id = format!("test-dispatcher-{index}");
        let token = CancellationToken::new();
        let run = herald_dispatcher::run(config, listener, token.clone());
        let task = tokio::spawn(async move { run.await.map_err(|e| e.to_string()) });
        Ok(Node { token, task, addr })
    }

    /// Graceful stop of dispatcher `index` (cancel, wait for `run`).
    pub async fn stop_dispatcher(&mut self, index: usize) -> Result<(), String> {
        let grace = self.config.dispatcher.shutdown_grace + Duration::from_secs(10);
        match self.dispatchers.get_mut(index).and_then(Option::take) {
            Some(node) => node.stop(grace).await,
            None => Ok(()),
        }
    }

    /// Crash dispatcher `index`: its task is aborted, nothing drains.
    pub fn kill_dispatcher(&mut self, index: usize) {
        if let Some(node) = self.dispatchers.get_mut(index).and_then(Option::take) {
            node.task.abort();
        }
    }

    /// Start dispatcher `index` again (after stop or kill).
    pub async fn restart_dispatcher(&mut self, index: usize) -> anyhow::Result<()> {
        self.stop_dispatcher(index).await.map_err(|e| anyhow!(e))?;
        let node = self.spawn_dispatcher(index).await?;
        match self.dispatchers.get_mut(index) {
            Some(slot) => *slot = Some(node),
            None => bail!("no dispatcher {index}"),
        }
        Ok(())
    }

    /// Number of dispatchers currently running.
    pub fn running_dispatchers(&self) -> usize {
        self.dispatchers
            .iter()
            .flatten()
            .filter(|n| !n.task.is_finished())
            .count()
    }

    /// `http://<addr>` of dispatcher `index`'s metrics and health server.
    pub fn dispatcher_url(&self, index: usize) -> Option<String> {
        let node = self.dispatchers.get(index)?.as_ref()?;
        Some(format!("http://{}", node.addr))
    }

    /// Run a real `herald-ingest` / `herald-dispatcher` process against this
    /// app's NATS and database, with the app's variables plus `extra`, and a
    /// free port for its HTTP listener. Not waited for: call `wait_healthy`.
    pub async fn spawn_process(
        &self,
        binary: Binary,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<HeraldProcess> {
        let mut env = self.env.0.clone();
        env.insert(
            binary.listen_var().to_string(),
            format!("127.0.0.1:{}", free_port()?),
        );
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        HeraldProcess::spawn(binary, env).await
    }

    /// [`TestApp::spawn_process`], then wait (up to [`WAIT`]) until it is
    /// healthy; panics with its output if it is not.
    pub async fn healthy_process(&self, binary: Binary, extra: &[(&str, &str)]) -> HeraldProcess {
        let mut process = match self.spawn_process(binary, extra).await {
            Ok(p) => p,
            Err(e) => panic!("could not start {}: {e:#}", binary.name()),
        };
        if let Err(e) = process.wait_healthy(WAIT).await {
            panic!("{} is not healthy: {e:#}", binary.name());
        }
        process
    }

    /// Stop every node gracefully and wait for them.
    pub async fn shutdown(mut self) -> Result<(), String> {
        let grace = self.config.dispatcher.shutdown_grace + Duration::from_secs(10);
        let mut result = Ok(());
        let nodes = self
            .dispatchers
            .drain(..)
            .flatten()
            .chain(self.ingest.take());
        for node in nodes.collect::<Vec<_>>() {
            if let Err(e) = node.stop(grace).await {
                result = Err(e);
            }
        }
        result
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for node in self
            .dispatchers
            .iter()
            .flatten()
            .chain(self.ingest.as_ref())
        {
            node.token.cancel();
            node.task.abort();
        }
    }
}
