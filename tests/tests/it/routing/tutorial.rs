//! The request shapes of the tutorials Herald started from: a registration
//! with `url`, `secret`, `event_types`, `custom_headers` and
//! `custom_payload` is accepted and delivered as documented.

use herald_tests::{post_event, TestAppOptions, TestReceiver};
use serde_json::json;

use super::support::{app, post};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test]
async fn a_tutorial_shaped_registration_registers_and_delivers_as_documented() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let body = json!({
        "url": receiver.url("/tutorial"),
        "secret": SECRET,
        "event_types": ["order.created"],
        "custom_headers": {"X-Api-Key": "tutorial-key", "X-Source": "herald"},
        "custom_payload": {"store": "main", "tags": ["tutorial"]},
    });
    let r = post(app.api(), "/webhooks", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.value();
    let id = r.uuid("id");
    assert_eq!(created["secret"], SECRET);
    assert_eq!(created["headers"]["X-Api-Key"], "tutorial-key");
    app.start_dispatcher().await.expect("dispatcher");

    let payload = json!({"order_id": 123, "amount": 99.99});
    let event_id = post_event(app.api(), "order.created", payload.clone())
        .await
        .to_string();
    app.wait_for_deliveries(id, "delivered", 1).await;

    let requests = receiver.requests_for("/tutorial");
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.header("x-api-key"), Some("tutorial-key"));
    assert_eq!(req.header("x-source"), Some("herald"));
    let body = req.json();
    assert_eq!(body["id"], event_id.as_str());
    assert_eq!(body["type"], "order.created");
    assert_eq!(body["data"], payload);
    assert_eq!(
        body["custom"],
        json!({"store": "main", "tags": ["tutorial"]})
    );
    let (ts, sig) = (
        req.header("webhook-timestamp").expect("timestamp"),
        req.header("webhook-signature").expect("signature"),
    );
    let now = chrono::Utc::now().timestamp();
    herald_common::verify(SECRET, &event_id, ts, sig, &req.body, now).expect("signed");
}
