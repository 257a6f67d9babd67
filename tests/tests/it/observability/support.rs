//! A small Herald of real processes under a little load: ingest and
//! dispatchers as child processes (each exports only its own metrics), one
//! endpoint whose first request fails (so failures and retries are counted
//! too), and `n` events delivered.

use herald_tests::{
    create_endpoint, post_events, ApiClient, Behavior, Binary, HeraldProcess, ScrapeTargets,
    TestApp, TestAppOptions, TestReceiver,
};
use serde_json::json;

pub const EVENT_TYPE: &str = "order.created";

/// Fields drop in order: the processes go before their NATS and database.
pub struct Cluster {
    pub ingest: HeraldProcess,
    pub dispatchers: Vec<HeraldProcess>,
    /// The endpoint's server, kept running.
    _receiver: TestReceiver,
    /// NATS and the database, kept running.
    _app: TestApp,
}

impl Cluster {
    /// Ingest and `dispatchers` dispatchers, with every event of `events`
    /// delivered (the first attempt of the first one answered 503).
    pub async fn loaded(dispatchers: usize, events: usize) -> Self {
        let options = TestAppOptions::new().dispatchers(0).without_ingest();
        let app = TestApp::spawn(options.event_types(&[EVENT_TYPE])).await;
        let ingest = app.healthy_process(Binary::Ingest, &[]).await;
        let api = ApiClient::new(ingest.url()).with_token(app.admin_token());
        let receiver = TestReceiver::start().await;
        receiver.set_behavior_for("/hook", Behavior::fail_first(1, 503));
        let ep = create_endpoint(&api, &receiver.url("/hook"), &[EVENT_TYPE], json!({})).await;
        let mut nodes = Vec::with_capacity(dispatchers);
        for i in 0..dispatchers {
            let id = format!("obs-dispatcher-{i}");
            let extra = [("HERALD_DISPATCHER_ID", id.as_str())];
            nodes.push(app.healthy_process(Binary::Dispatcher, &extra).await);
        }
        post_events(&api, EVENT_TYPE, events, "obs").await;
        app.wait_for_deliveries(ep.id, "delivered", events as i64)
            .await;
        Self {
            ingest,
            dispatchers: nodes,
            _receiver: receiver,
            _app: app,
        }
    }

    /// `host:port` of every node, per Prometheus job.
    pub fn targets(&self) -> ScrapeTargets {
        let addr = |p: &HeraldProcess| p.addr().expect("listen address").to_string();
        ScrapeTargets {
            ingest: vec![addr(&self.ingest)],
            dispatchers: self.dispatchers.iter().map(addr).collect(),
        }
    }

    /// What `GET /metrics` of each process answers: ("ingest" | "dispatcher", text).
    pub async fn scrape(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("ingest", metrics_text(&self.ingest).await)];
        for d in &self.dispatchers {
            out.push(("dispatcher", metrics_text(d).await));
        }
        out
    }
}

async fn metrics_text(p: &HeraldProcess) -> String {
    let r = ApiClient::new(p.url())
        .get("/metrics")
        .await
        .expect("GET /metrics");
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
}
