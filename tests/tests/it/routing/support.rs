//! Helpers of the routing tests.

use herald_tests::{ApiClient, ApiResponse, TestApp, TestAppOptions};
use serde_json::Value;
use uuid::Uuid;

/// The event types the routing tests start with (a test registers more).
pub const TYPES: [&str; 3] = ["order.created", "order.updated", "user.signed_up"];

/// An app with [`TYPES`] registered and no dispatcher yet: tests create
/// their endpoints first, then start a dispatcher.
pub async fn app(options: TestAppOptions) -> TestApp {
    TestApp::spawn(options.dispatchers(0).event_types(&TYPES)).await
}

/// Ingest alone: nothing is fanned out.
pub async fn ingest_only() -> TestApp {
    app(TestAppOptions::new()).await
}

/// `POST path` with `body`; the response.
pub async fn post(api: &ApiClient, path: &str, body: &Value) -> ApiResponse {
    api.post_json(path, body).await.expect(path)
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

/// Delivery rows of an endpoint.
pub async fn deliveries(app: &TestApp, webhook: Uuid) -> usize {
    app.deliveries_of(webhook).await.len()
}
