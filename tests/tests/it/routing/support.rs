//! Helpers of the routing tests.

use herald_tests::{ApiClient, ApiResponse, TestApp, TestAppOptions};
use serde_json::Value;
use uuid::Uuid;

/// Ingest alone: nothing is fanned out.
pub async fn ingest_only() -> TestApp {
    TestApp::spawn(TestAppOptions::new().dispatchers(0)).await
}

/// The error code of an error response.
pub fn code(r: &ApiResponse) -> String {
    r.value()["error"]["code"]
        .as_str()
        .unwrap_or("<none>")
        .to_string()
}

/// `POST path` with `body`; the response.
pub async fn post(api: &ApiClient, path: &str, body: &Value) -> ApiResponse {
    api.post_json(path, body).await.expect(path)
}

/// `POST /events` of one event, asserting 201; its id.
pub async fn send(api: &ApiClient, event_type: &str, payload: Value) -> Uuid {
    let body = serde_json::json!({ "type": event_type, "payload": payload });
    let r = post(api, "/events", &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.value()["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("event id")
}

/// `PATCH path` with `body`; the response.
pub async fn patch(api: &ApiClient, path: &str, body: &Value) -> ApiResponse {
    api.patch_json(path, body).await.expect(path)
}

/// `POST /event-types`, asserting 201.
pub async fn register(api: &ApiClient, body: &Value) {
    let r = post(api, "/event-types", body).await;
    assert_eq!(r.status, 201, "{}", r.text());
}

pub async fn rows(app: &TestApp, sql: &str, param: Uuid) -> i64 {
    app.db().query_one(sql, &[&param]).await.expect(sql).get(0)
}

/// Stored events.
pub async fn events(app: &TestApp) -> i64 {
    app.db()
        .query_one("SELECT count(*) FROM events", &[])
        .await
        .expect("count")
        .get(0)
}

/// Delivery rows of an endpoint.
pub async fn deliveries(app: &TestApp, webhook: Uuid) -> i64 {
    rows(
        app,
        "SELECT count(*) FROM deliveries WHERE webhook_id = $1",
        webhook,
    )
    .await
}
