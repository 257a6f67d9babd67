//! Operational webhooks: `herald.endpoint.disabled` after a 410 and after
//! the failing threshold, `herald.delivery.failed` after the last attempt,
//! `herald.endpoint.failing` then `.recovered`, `herald.delivery.recovered`
//! after a re-send, each once with two dispatchers (another housekeeping
//! pass announces nothing more), signed and verifiable; an operational
//! endpoint that fails does not feed itself.

use herald_tests::{
    create_endpoint, post_events, Behavior, Endpoint, ReceivedRequest, TestApp, TestAppOptions,
    TestReceiver, WAIT,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::support::*;

const ALL_OPERATIONAL: [&str; 6] = [
    "herald.endpoint.disabled",
    "herald.endpoint.enabled",
    "herald.endpoint.failing",
    "herald.endpoint.recovered",
    "herald.delivery.failed",
    "herald.delivery.recovered",
];

/// An app whose `/ops` endpoint subscribes to every operational event.
struct Ops {
    app: TestApp,
    receiver: TestReceiver,
    ops: Endpoint,
}

impl Ops {
    async fn start(options: TestAppOptions) -> Self {
        let receiver = TestReceiver::start().await;
        let app = app(options).await;
        let url = receiver.url("/ops");
        let ops = create_endpoint(app.api(), &url, &ALL_OPERATIONAL, json!({})).await;
        Self { app, receiver, ops }
    }

    /// An `order.created` endpoint on `path`, answering as `behavior`.
    async fn endpoint(&self, path: &str, behavior: Behavior, extra: Value) -> Endpoint {
        self.receiver.set_behavior_for(path, behavior);
        let url = self.receiver.url(path);
        create_endpoint(self.app.api(), &url, &["order.created"], extra).await
    }

    /// Two dispatchers, then one `order.created` event.
    async fn send_one_event(&mut self) {
        for _ in 0..2 {
            self.app.start_dispatcher().await.expect("a dispatcher");
        }
        post_events(self.app.api(), "order.created", 1, "x").await;
    }

    /// Wait until `/ops` received `event_type` about `webhook`; its payload.
    async fn received(&self, event_type: &str, webhook: Uuid) -> Value {
        let found = herald_tests::wait_for(WAIT, || async {
            self.receiver
                .requests_for("/ops")
                .iter()
                .map(ReceivedRequest::json)
                .find(|v| {
                    v["type"] == event_type && v["data"]["endpoint_id"] == webhook.to_string()
                })
                .map(|v| v["data"].clone())
        })
        .await;
        found.unwrap_or_else(|_| panic!("/ops never received {event_type} about {webhook}"))
    }

    /// The payloads of stored events of `event_type` about `webhook`.
    async fn stored(&self, event_type: &str, webhook: Uuid) -> Vec<Value> {
        let rows = self
            .app
            .db()
            .query(
                "SELECT payload FROM events WHERE event_type = $1
                 AND payload::jsonb->>'endpoint_id' = $2 ORDER BY id",
                &[&event_type, &webhook.to_string()],
            )
            .await
            .expect("events");
        let payload =
            |r: &tokio_postgres::Row| -> String { r.try_get("payload").expect("payload") };
        rows.iter()
            .map(|r| serde_json::from_str(&payload(r)).expect("json"))
            .collect()
    }

    /// Two more housekeeping passes disable and announce nothing, and each
    /// of `transitions` was stored once.
    async fn assert_once(&self, transitions: &[(&str, Uuid)]) {
        let housekeeping = self.app.housekeeping();
        for _ in 0..2 {
            assert_eq!(
                housekeeping.step().await.expect("a pass"),
                0,
                "disabled again"
            );
        }
        for (event_type, webhook) in transitions {
            let n = self.stored(event_type, *webhook).await.len();
            assert_eq!(n, 1, "{event_type} about {webhook}");
        }
    }
}

#[tokio::test]
async fn a_410_disables_an_endpoint_once_and_enabling_it_again_is_announced() {
    let mut s = Ops::start(TestAppOptions::new()).await;
    let gone = s.endpoint("/gone", Behavior::status(410), json!({})).await;
    s.send_one_event().await;
    let disabled = s.received("herald.endpoint.disabled", gone.id).await;
    let why = (
        disabled["reason"].as_str(),
        disabled["status_code"].as_i64(),
    );
    assert_eq!(why, (Some("gone"), Some(410)), "{disabled}");

    let path = format!("/webhooks/{}", gone.id);
    let r = s
        .app
        .api()
        .patch_json(&path, &json!({"active": true}))
        .await;
    assert_eq!(r.expect("PATCH").status, 200);
    s.received("herald.endpoint.enabled", gone.id).await;
    s.assert_once(&[
        ("herald.endpoint.disabled", gone.id),
        ("herald.endpoint.enabled", gone.id),
    ])
    .await;
}

#[tokio::test]
async fn a_delivery_failed_for_good_is_announced_and_the_endpoint_disabled_after_the_threshold() {
    let options = TestAppOptions::new().env("HERALD_AUTO_DISABLE_AFTER", "2s");
    let mut s = Ops::start(options).await;
    let retries = json!({"retry_schedule": ["20ms", "20ms"]});
    let dead = s.endpoint("/dead", Behavior::status(500), retries).await;
    s.send_one_event().await;
    let failed = s.received("herald.delivery.failed", dead.id).await;
    assert_eq!(failed["attempts"], 3, "{failed}");
    assert_eq!(failed["status_code"], 500);
    assert_eq!(failed["event_type"], "order.created");
    let auto = s.received("herald.endpoint.disabled", dead.id).await;
    assert_eq!(auto["reason"], "failing", "{auto}");
    assert!(auto["failing_since"].is_string(), "{auto}");
    s.assert_once(&[
        ("herald.delivery.failed", dead.id),
        ("herald.endpoint.disabled", dead.id),
    ])
    .await;
}

#[tokio::test]
async fn a_failing_period_is_announced_past_the_threshold_and_again_when_it_ends() {
    let options = TestAppOptions::new().env("HERALD_ENDPOINT_FAILING_AFTER", "1s");
    let mut s = Ops::start(options).await;
    let retry_later = json!({"retry_schedule": ["3s"]});
    let flaky = s
        .endpoint("/flaky", Behavior::fail_first(1, 500), retry_later)
        .await;
    s.send_one_event().await;
    let failing = s.received("herald.endpoint.failing", flaky.id).await;
    assert!(failing["failing_since"].is_string(), "{failing}");
    s.received("herald.endpoint.recovered", flaky.id).await;
    s.assert_once(&[
        ("herald.endpoint.failing", flaky.id),
        ("herald.endpoint.recovered", flaky.id),
    ])
    .await;
}

#[tokio::test]
async fn a_failed_delivery_sent_again_and_delivered_is_announced_as_recovered() {
    let mut s = Ops::start(TestAppOptions::new()).await;
    let retry = json!({"retry_schedule": ["20ms"]});
    let late = s.endpoint("/late", Behavior::status(500), retry).await;
    s.send_one_event().await;
    s.received("herald.delivery.failed", late.id).await;
    s.receiver.set_behavior_for("/late", Behavior::ok());
    let delivery = s.app.deliveries_of(late.id).await[0].id;
    let r = s
        .app
        .api()
        .post_json(&format!("/deliveries/{delivery}/retry"), &json!({}))
        .await;
    let r = r.expect("retry");
    assert_eq!(r.status, 202, "{}", r.text());
    let recovered = s.received("herald.delivery.recovered", late.id).await;
    assert_eq!(recovered["delivery_id"], delivery.to_string());
    s.assert_once(&[
        ("herald.delivery.failed", late.id),
        ("herald.delivery.recovered", late.id),
    ])
    .await;
}

#[tokio::test]
async fn operational_events_are_signed_and_a_failing_operational_endpoint_does_not_feed_itself() {
    let mut s = Ops::start(TestAppOptions::new()).await;
    s.receiver
        .set_behavior_for("/ops-down", Behavior::status(500));
    let url = s.receiver.url("/ops-down");
    let failed_only = &["herald.delivery.failed"];
    let retry = json!({"retry_schedule": ["20ms"]});
    let ops_down = create_endpoint(s.app.api(), &url, failed_only, retry.clone()).await;
    let dead = s.endpoint("/dead", Behavior::status(500), retry).await;
    s.send_one_event().await;
    s.received("herald.delivery.failed", dead.id).await;
    // /ops-down got that event, failed it for good, and that failure made
    // no event of its own (nothing about deliveries of herald.* events).
    s.app.wait_for_deliveries(ops_down.id, "failed", 1).await;
    assert!(s
        .stored("herald.delivery.failed", ops_down.id)
        .await
        .is_empty());
    let announced = s
        .app
        .count("events WHERE event_type = 'herald.delivery.failed'")
        .await;
    assert_eq!(announced, 1, "only the order.created delivery's failure");

    let now = chrono::Utc::now().timestamp();
    let ops_requests = s.receiver.requests_for("/ops");
    assert!(!ops_requests.is_empty());
    for req in &ops_requests {
        let h = |n| req.header(n).expect(n);
        let (id, ts, sig) = (
            h("webhook-id"),
            h("webhook-timestamp"),
            h("webhook-signature"),
        );
        herald_common::verify(&s.ops.secret, id, ts, sig, &req.body, now)
            .expect("operational events are signed like any");
    }
}
