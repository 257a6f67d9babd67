//! What the ingest tests share: an app without dispatchers (events stay in
//! `HERALD_EVENTS`, to be counted), what the stream holds, and rows written
//! the way a crash or a dispatcher leaves them.

use herald_common::messages::EventMessage;
use herald_common::subjects::EVENTS_STREAM;
use herald_tests::{ApiClient, ApiResponse, TestApp, TestAppOptions, WAIT};
use http::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// The event types the ingest tests use.
pub const TYPES: [&str; 3] = ["order.created", "order.updated", "user.signed_up"];

/// Ingest alone (no dispatcher) with [`TYPES`] registered.
pub async fn app() -> TestApp {
    app_with(TestAppOptions::new()).await
}

pub async fn app_with(options: TestAppOptions) -> TestApp {
    TestApp::spawn(options.dispatchers(0).event_types(&TYPES)).await
}

/// An event body of `event_type` with a small payload.
pub fn event(event_type: &str) -> Value {
    json!({"type": event_type, "payload": {"order_id": 123, "amount": 99.99}})
}

/// `POST /events` with `body`, whatever the answer.
pub async fn post(api: &ApiClient, body: &Value) -> ApiResponse {
    api.post_json("/events", body).await.expect("POST /events")
}

/// Messages in `HERALD_EVENTS`.
pub async fn stream_messages(app: &TestApp) -> u64 {
    messages_in(app, EVENTS_STREAM).await
}

/// Messages in the JetStream stream `name`.
pub async fn messages_in(app: &TestApp, name: &str) -> u64 {
    let js = app.jetstream();
    let mut stream = js.get_stream(name).await.expect("stream");
    stream.info().await.expect("info").state.messages
}

/// The event id of every message in `HERALD_EVENTS`, in stream order.
pub async fn stream_event_ids(app: &TestApp) -> Vec<Uuid> {
    let js = app.jetstream();
    let mut stream = js.get_stream(EVENTS_STREAM).await.expect("stream");
    let state = stream.info().await.expect("info").state.clone();
    let mut ids = Vec::new();
    for seq in state.first_sequence..=state.last_sequence {
        if state.messages == 0 {
            break;
        }
        if let Ok(msg) = stream.get_raw_message(seq).await {
            let ev: EventMessage = serde_json::from_slice(&msg.payload).expect("event message");
            ids.push(ev.id);
        }
    }
    ids
}

/// The stream holds exactly `n` messages and will hold no more: every
/// committed event is published (marked so), and an outbox round finds
/// nothing left.
pub async fn expect_stream_messages(app: &TestApp, n: u64) {
    let published = herald_tests::wait_until(WAIT, || async {
        app.count("events WHERE published_at IS NULL").await == 0 && stream_messages(app).await >= n
    })
    .await;
    assert!(
        published.is_ok(),
        "stream has {} messages, expected {n}; {} events unpublished",
        stream_messages(app).await,
        app.count("events WHERE published_at IS NULL").await
    );
    app.assert_outbox_empty().await;
    assert_eq!(stream_messages(app).await, n);
}

/// `POST /webhooks/{id}/rotate-secret` with no body: a generated secret.
pub async fn rotate_secret(api: &ApiClient, id: Uuid) -> ApiResponse {
    let path = format!("/webhooks/{id}/rotate-secret");
    api.send(Method::POST, &path, &[], "")
        .await
        .expect("rotate")
}

/// What a crash between commit and publish leaves behind: `n` committed,
/// unpublished `order.updated` events created `age_secs` ago (1 ms apart,
/// oldest first); their ids in creation order.
pub async fn insert_unpublished(app: &TestApp, n: usize, age_secs: f64) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = Uuid::now_v7();
        app.db()
            .execute(
                "INSERT INTO events (id, tenant_id, event_type, payload, created_at) \
                 VALUES ($1, 'default', 'order.updated', $2, \
                     now() - make_interval(secs => $3) + $4 * interval '1 ms')",
                &[&id, &format!(r#"{{"n": {i}}}"#), &age_secs, &(i as f64)],
            )
            .await
            .expect("insert");
        ids.push(id);
    }
    ids
}

/// Insert a delivery row the way a dispatcher would, with one attempt that
/// got a 500 and a 3,000-byte body.
pub async fn insert_delivery(
    app: &TestApp,
    event_id: Uuid,
    webhook_id: Uuid,
    tenant: &str,
    status: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    app.db()
        .execute(
            "INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, status, attempts, last_status_code) \
             VALUES ($1, $2, $3, $4, $5, 1, 500)",
            &[&id, &event_id, &webhook_id, &tenant, &status],
        )
        .await
        .expect("insert delivery");
    app.db()
        .execute(
            "INSERT INTO delivery_attempts (id, delivery_id, attempt, started_at, duration_ms, status_code, response_body) \
             VALUES ($1, $2, 0, now(), 12, 500, $3)",
            &[&Uuid::now_v7(), &id, &"e".repeat(3000)],
        )
        .await
        .expect("insert attempt");
    id
}
