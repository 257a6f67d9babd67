//! Options of [`TestApp::spawn`](crate::TestApp::spawn) and the baseline
//! environment every test app starts from.

use std::sync::Arc;

use herald_common::config::{settings, Config, MapEnv};

type Configure = Arc<dyn Fn(&mut Config) + Send + Sync>;

/// `TestAppOptions::new().dispatchers(2).env("HERALD_RETRY_SCHEDULE", "1s")`
#[derive(Clone)]
pub struct TestAppOptions {
    pub(crate) dispatchers: usize,
    pub(crate) ingest: bool,
    pub(crate) setup: bool,
    pub(crate) nats_url: Option<String>,
    pub(crate) database_server: Option<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) configure: Vec<Configure>,
    pub(crate) event_types: Option<Vec<String>>,
}

impl Default for TestAppOptions {
    fn default() -> Self {
        Self {
            dispatchers: 1,
            ingest: true,
            setup: true,
            nats_url: None,
            database_server: None,
            env: Vec::new(),
            configure: Vec::new(),
            event_types: None,
        }
    }
}

impl TestAppOptions {
    /// One ingest, one dispatcher, a private NATS server, migrations and
    /// streams set up before they start.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many in-process dispatchers to start (0 is fine).
    pub fn dispatchers(mut self, n: usize) -> Self {
        self.dispatchers = n;
        self
    }

    /// Do not start ingest (dispatcher-only tests).
    pub fn without_ingest(mut self) -> Self {
        self.ingest = false;
        self
    }

    /// Do not migrate the database nor provision the streams before starting
    /// (tests of what ingest or a dispatcher does on an empty system).
    pub fn without_setup(mut self) -> Self {
        self.setup = false;
        self
    }

    /// Use these NATS servers (e.g. `NatsCluster::urls()`) instead of
    /// starting a private one.
    pub fn nats_url(mut self, urls: impl Into<String>) -> Self {
        self.nats_url = Some(urls.into());
        self
    }

    /// Create the test database on this server (a superuser URL, e.g.
    /// `PgServer::admin_url`) instead of the shared test server.
    pub fn database_server(mut self, admin_url: impl Into<String>) -> Self {
        self.database_server = Some(admin_url.into());
        self
    }

    /// Set a `HERALD_*` variable (parsed like the binaries parse it; also
    /// passed to child processes started with `TestApp::spawn_process`).
    /// Panics if no such setting is declared (a typo would test nothing).
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        assert!(
            settings::find(key).is_some(),
            "{key} is not a declared setting"
        );
        self.env.push((key.to_string(), value.into()));
        self
    }

    /// The event types the test uses: registered before ingest starts, in
    /// place of the demo types migration 0001 seeds for the README's tour
    /// (`order.created`, `order.updated`, `user.signed_up` are gone unless
    /// named here), so that a test never depends on them unknowingly.
    /// Herald's own types (`herald.*`, `webhook.test`) stay.
    pub fn event_types(mut self, names: &[&str]) -> Self {
        self.event_types = Some(names.iter().map(|n| n.to_string()).collect());
        self
    }

    /// Change the parsed config directly (in-process nodes only).
    pub fn configure(mut self, f: impl Fn(&mut Config) + Send + Sync + 'static) -> Self {
        self.configure.push(Arc::new(f));
        self
    }
}

/// `Config::test_env`, plus a smaller pool and a short
/// shutdown grace so that many apps fit one Postgres and stop quickly.
pub fn test_env(database_url: &str, nats_url: &str) -> MapEnv {
    Config::test_env(database_url, nats_url)
        .with(settings::DATABASE_POOL_SIZE.name, "8")
        .with(settings::SHUTDOWN_GRACE.name, "5s")
}
