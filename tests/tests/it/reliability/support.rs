//! What every reliability scenario shares: three endpoints on one receiver
//! (two event types, overlapping subscriptions), dispatcher processes, a
//! load of 500 events/s, faults placed on what the test observes, and the
//! final wait-then-check with a bound on duplicates.

use std::time::{Duration, Instant};

use herald_common::config::settings::{
    DISPATCHER_CONCURRENCY, ENDPOINT_MAX_IN_FLIGHT, RETRY_SCHEDULE,
};
use herald_tests::checker::{self, Accepted, EndpointSpec, Report};
use herald_tests::scenario;
use herald_tests::{
    ApiClient, Binary, HeraldProcess, Producer, TestApp, TestAppOptions, TestReceiver,
};

pub use herald_tests::scenario::TYPES;
pub use herald_tests::WAIT;
/// How long the checker waits for the last deliveries after the load.
const SETTLE: Duration = Duration::from_secs(120);
/// Load of every scenario: events per second, and how long (2,000 events,
/// 4,000 deliveries).
pub const RATE: u32 = 500;
pub const LOAD: Duration = Duration::from_secs(4);
/// Deliveries one dispatcher holds unacknowledged at most: it pulls only as
/// many jobs as it has free permits (`HERALD_DISPATCHER_CONCURRENCY`). The
/// in-flight window a crash or a lost ack can send again.
pub const CONCURRENCY: usize = 64;
/// Generous bound on how long the work of a dead dispatcher takes to come
/// back (the default `HERALD_ACK_WAIT` is 10 s).
pub const RECOVERY_BOUND: Duration = Duration::from_secs(20);

/// The default ack wait (so a crash is recovered as it would be in
/// production); retries in milliseconds that still span ~40 s, so an outage
/// of a few seconds never exhausts them.
pub fn options() -> TestAppOptions {
    TestAppOptions::new()
        .event_types(&TYPES)
        .dispatchers(0)
        .env(DISPATCHER_CONCURRENCY.name, CONCURRENCY.to_string())
        .env(ENDPOINT_MAX_IN_FLIGHT.name, "64")
        .env(
            RETRY_SCHEDULE.name,
            "100ms,250ms,500ms,1s,2s,2s,3s,3s,3s,3s,3s,3s,3s,3s,3s,3s",
        )
}

pub struct Scenario {
    pub app: TestApp,
    pub receiver: TestReceiver,
    pub endpoints: Vec<EndpointSpec>,
    _machine: Machine,
}

/// A scenario's hold on the machine ([`herald_tests::machine_shared`]).
enum Machine {
    Shared(#[allow(dead_code)] tokio::sync::RwLockReadGuard<'static, ()>),
    Alone,
}

impl Scenario {
    /// An app as `options` say (no dispatcher started), a receiver, and
    /// the three endpoints.
    pub async fn start(options: TestAppOptions) -> Self {
        let shared = herald_tests::machine_shared().await;
        Self::start_holding(options, Machine::Shared(shared)).await
    }

    /// The same, for a test that already holds [`herald_tests::machine_alone`].
    pub async fn start_alone(options: TestAppOptions) -> Self {
        Self::start_holding(options, Machine::Alone).await
    }

    async fn start_holding(options: TestAppOptions, machine: Machine) -> Self {
        let receiver = TestReceiver::start().await;
        let app = TestApp::spawn(options.dispatchers(0)).await;
        let endpoints = create_endpoints(app.api(), &receiver).await;
        Self {
            app,
            receiver,
            endpoints,
            _machine: machine,
        }
    }

    /// A dispatcher process, healthy.
    pub async fn dispatcher(&self, id: &str) -> HeraldProcess {
        self.dispatcher_with(id, &[]).await
    }

    pub async fn dispatcher_with(&self, id: &str, extra: &[(&str, &str)]) -> HeraldProcess {
        let mut env = vec![("HERALD_DISPATCHER_ID", id)];
        env.extend_from_slice(extra);
        self.app.healthy_process(Binary::Dispatcher, &env).await
    }

    /// Ingest as a process instead of the in-process one (which stops, so
    /// only the process serves and relays its outbox), and a client for it.
    pub async fn ingest_process(&mut self) -> (HeraldProcess, ApiClient) {
        self.app
            .stop_ingest()
            .await
            .expect("stop in-process ingest");
        let ingest = self.app.healthy_process(Binary::Ingest, &[]).await;
        let api = ApiClient::new(ingest.url()).with_token(self.app.admin_token());
        (ingest, api)
    }

    /// `RATE` events per second for `duration` through the in-process ingest.
    pub fn load(&self, duration: Duration) -> Producer {
        Producer::start(vec![self.app.api().clone()], &TYPES, RATE, duration)
    }

    /// Wait until the receiver has answered 2xx to `n` requests in all.
    pub async fn delivered(&self, n: usize) {
        delivered(&self.receiver, n).await
    }

    /// Wait until nothing is missing (or [`SETTLE`] passed), a little more
    /// for late duplicates, then check everything the receiver saw.
    pub async fn finish(
        &self,
        name: &str,
        accepted: &[Accepted],
        fault_end: Option<Instant>,
    ) -> Report {
        finish(name, accepted, &self.endpoints, &self.receiver, fault_end).await
    }

    /// The longest wait for a first delivery since `since` (see
    /// `checker::worst_delay`).
    pub fn worst_delay(&self, accepted: &[Accepted], since: Instant) -> Duration {
        let requests = self.receiver.requests();
        checker::worst_delay(accepted, &self.endpoints, &requests, since).unwrap_or_default()
    }
}

/// `kill -9` of `victim`, started again `pause` later and waited for until
/// healthy: when it was killed and when it was back.
pub async fn kill9_and_restart(victim: &mut HeraldProcess, pause: Duration) -> (Instant, Instant) {
    victim.kill9();
    let killed = Instant::now();
    tokio::time::sleep(pause).await;
    victim.start().await.expect("restart the victim");
    victim
        .wait_healthy(WAIT)
        .await
        .expect("victim healthy again");
    (killed, Instant::now())
}

/// Wait until `receiver` has answered 2xx to `n` requests (bounded).
pub async fn delivered(receiver: &TestReceiver, n: usize) {
    let ok = || {
        receiver
            .requests()
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .count()
    };
    let waited = herald_tests::wait_until(WAIT, || async { ok() >= n }).await;
    assert!(waited.is_ok(), "waited for {n} deliveries, got {}", ok());
}

pub async fn create_endpoints(api: &ApiClient, receiver: &TestReceiver) -> Vec<EndpointSpec> {
    match scenario::create_endpoints(api, receiver).await {
        Ok(specs) => specs,
        Err(e) => panic!("creating the endpoints: {e:#}"),
    }
}

pub async fn finish(
    name: &str,
    accepted: &[Accepted],
    endpoints: &[EndpointSpec],
    receiver: &TestReceiver,
    fault_end: Option<Instant>,
) -> Report {
    assert!(!accepted.is_empty(), "{name}: nothing was accepted");
    let report =
        scenario::settle_and_check(name, accepted, endpoints, receiver, fault_end, SETTLE).await;
    report.assert_clean();
    report
}

/// Poll Postgres until the dispatcher connected as `application_name` is in
/// the middle of an attempt-log flush (a write transaction on the attempts
/// or deliveries), or `timeout` passes; whether it was caught flushing.
pub async fn flushing(
    db: &tokio_postgres::Client,
    application_name: &str,
    timeout: Duration,
) -> bool {
    const FLUSH: &str = "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE application_name = $1 AND backend_xid IS NOT NULL \
           AND (query LIKE '%delivery_attempts%' OR query LIKE '%UPDATE deliveries d SET%')";
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(row) = db.query_one(FLUSH, &[&application_name]).await {
            if row.try_get::<_, i64>("n").unwrap_or(0) > 0 {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    false
}

/// `HERALD_DATABASE_URL` of `app` with `application_name` set, so that a
/// process's connections can be told apart in `pg_stat_activity`.
pub fn database_url_named(app: &TestApp, application_name: &str) -> String {
    let url = app.test_db().url();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={application_name}")
}
