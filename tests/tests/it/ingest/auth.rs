//! Tenants, API keys and the per-tenant endpoint limit.

use futures::StreamExt;
use herald_common::messages::EventMessage;
use herald_common::subjects::DELIVERIES_STREAM;
use herald_tests::{
    create_endpoint, post_event, tenant_with_key, ApiClient, ApiResponse, TestApp, TestAppOptions,
    UNREACHABLE_URL,
};
use http::Method;
use serde_json::json;
use uuid::Uuid;

use super::support::*;

struct Tenant {
    name: &'static str,
    api: ApiClient,
    key_id: Uuid,
    webhook: Uuid,
    event: Uuid,
    delivery: Uuid,
}

/// Tenant `name` with a key, an endpoint, an event and a failed delivery.
async fn tenant(app: &TestApp, name: &'static str) -> Tenant {
    let (api, key_id) = tenant_with_key(app.api(), name).await;
    let webhook = create_endpoint(&api, UNREACHABLE_URL, &["order.created"], json!({}))
        .await
        .id;
    let event = post_event(&api, "order.created", json!({"n": 1})).await;
    let delivery = insert_delivery(app, event, webhook, name, "failed").await;
    Tenant {
        name,
        api,
        key_id,
        webhook,
        event,
        delivery,
    }
}

/// The admin creates an endpoint in `tenant`, named in `Herald-Tenant`.
async fn admin_creates_webhook_in(app: &TestApp, tenant: &str) -> ApiResponse {
    let body = json!({"url": UNREACHABLE_URL, "event_types": ["order.created"]});
    let headers = [
        ("content-type", "application/json"),
        ("herald-tenant", tenant),
    ];
    let r = app
        .api()
        .send(Method::POST, "/webhooks", &headers, body.to_string())
        .await;
    r.expect("create")
}

/// Everything about a tenant's data that a request could change.
async fn snapshot(app: &TestApp, t: &Tenant) -> String {
    let revoked = app
        .count(&format!(
            "api_keys WHERE id = '{}' AND revoked_at IS NOT NULL",
            t.key_id
        ))
        .await;
    let endpoint = app.endpoint_row(t.webhook).await;
    let deliveries = app.deliveries_of(t.webhook).await;
    format!("{endpoint:?} {deliveries:?} {revoked}")
}

/// What a tenant key may not do to `other`'s objects, and the status each gets.
fn refused(other: &Tenant) -> Vec<(Method, String, &'static str, u16)> {
    let (w, e, d, name) = (other.webhook, other.event, other.delivery, other.name);
    vec![
        (Method::GET, format!("/webhooks/{w}"), "", 404),
        (
            Method::PATCH,
            format!("/webhooks/{w}"),
            r#"{"description":"mine now"}"#,
            404,
        ),
        (Method::DELETE, format!("/webhooks/{w}"), "", 404),
        (
            Method::POST,
            format!("/webhooks/{w}/rotate-secret"),
            "{}",
            404,
        ),
        (
            Method::POST,
            format!("/webhooks/{w}/recover"),
            r#"{"since":"2000-01-01T00:00:00Z"}"#,
            404,
        ),
        (Method::GET, format!("/events/{e}"), "", 404),
        (Method::GET, format!("/deliveries/{d}"), "", 404),
        (Method::POST, format!("/deliveries/{d}/retry"), "", 404),
        (
            Method::POST,
            "/tenants".to_string(),
            r#"{"id":"evil"}"#,
            403,
        ),
        (Method::GET, format!("/tenants/{name}/api-keys"), "", 403),
        (Method::POST, format!("/tenants/{name}/api-keys"), "{}", 403),
        (
            Method::DELETE,
            format!("/tenants/{name}/api-keys/{}", other.key_id),
            "",
            403,
        ),
        (
            Method::POST,
            "/event-types".to_string(),
            r#"{"name":"evil.event"}"#,
            403,
        ),
    ]
}

#[tokio::test]
async fn a_tenant_key_can_neither_read_nor_change_another_tenants_objects() {
    let app = app().await;
    let a = tenant(&app, "acme").await;
    let b = tenant(&app, "globex").await;
    let before = (snapshot(&app, &a).await, snapshot(&app, &b).await);
    let jobs = messages_in(&app, DELIVERIES_STREAM).await;
    for (me, other) in [(&a, &b), (&b, &a)] {
        let json = &[("content-type", "application/json")][..];
        for (method, path, body, status) in refused(other) {
            let r = me
                .api
                .send(method.clone(), &path, json, body)
                .await
                .expect("request");
            let who = me.name;
            assert_eq!(r.status, status, "{who} {method} {path}: {}", r.text());
        }
    }
    let after = (snapshot(&app, &a).await, snapshot(&app, &b).await);
    assert_eq!(before, after, "nothing changed");
    assert_eq!(app.count("webhooks").await, 2);
    assert_eq!(app.count("events").await, 2);
    assert_eq!(app.count("tenants").await, 3);
    let jobs_after = messages_in(&app, DELIVERIES_STREAM).await;
    assert_eq!(jobs_after, jobs, "no delivery job was published");
}

#[tokio::test]
async fn a_tenant_key_lists_only_its_own_data_and_cannot_name_another_tenant() {
    let app = app().await;
    let a = tenant(&app, "acme").await;
    let b = tenant(&app, "globex").await;
    for (me, other) in [(&a, &b), (&b, &a)] {
        let hooks = me.api.get("/webhooks").await.expect("list").value();
        let hook_ids: Vec<Uuid> = hooks["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|h| herald_tests::uuid_at(h, "id"))
            .collect();
        assert_eq!(hook_ids, [me.webhook]);
        let theirs = format!("/deliveries?webhook_id={}", other.webhook);
        let dels = me.api.get(&theirs).await.expect("list").value();
        assert_eq!(dels["data"], json!([]));
        let dels = me.api.get("/deliveries").await.expect("list").value();
        assert_eq!(dels["data"].as_array().map(Vec::len), Some(1));
        let tenants = me.api.get("/tenants").await.expect("tenants").value();
        assert_eq!(tenants.as_array().map(Vec::len), Some(1));
        let headers = [
            ("content-type", "application/json"),
            ("herald-tenant", other.name),
        ];
        let body = event("order.created").to_string();
        let r = me.api.send(Method::POST, "/events", &headers, body).await;
        let r = r.expect("post");
        assert_eq!(r.status, 403, "naming another tenant: {}", r.text());
    }
}

#[tokio::test]
async fn each_tenants_events_go_to_its_own_subject() {
    let app = app().await;
    let tenants = [tenant(&app, "acme").await, tenant(&app, "globex").await];
    expect_stream_messages(&app, 2).await;
    let js = app.jetstream();
    let stream = js.get_stream("HERALD_EVENTS").await.expect("stream");
    for t in &tenants {
        let subject = format!("herald.events.{}.order.created", t.name);
        let msg = stream.get_last_raw_message_by_subject(&subject).await;
        let ev: EventMessage =
            serde_json::from_slice(&msg.expect("message").payload).expect("event");
        assert_eq!((ev.id, ev.tenant_id.as_str()), (t.event, t.name));
    }
}

#[tokio::test]
async fn the_admin_sees_every_tenant_and_narrows_to_one_with_herald_tenant() {
    let app = app().await;
    let (acme, _) = tenant_with_key(app.api(), "acme").await;
    let theirs = create_endpoint(&acme, UNREACHABLE_URL, &["order.created"], json!({}))
        .await
        .id;
    let mine = create_endpoint(app.api(), UNREACHABLE_URL, &["order.created"], json!({}))
        .await
        .id;
    let all = app.api().get("/webhooks").await.expect("list").value();
    assert_eq!(all["data"].as_array().map(Vec::len), Some(2));
    let narrowed = app
        .api()
        .send(Method::GET, "/webhooks", &[("herald-tenant", "acme")], "")
        .await;
    let narrowed = narrowed.expect("list").value();
    assert_eq!(narrowed["data"][0]["id"], theirs.to_string());
    assert_eq!(narrowed["data"].as_array().map(Vec::len), Some(1));
    let r = app
        .api()
        .get(&format!("/webhooks/{theirs}"))
        .await
        .expect("get");
    assert_eq!(r.status, 200);
    let r = admin_creates_webhook_in(&app, "acme").await;
    assert_eq!(r.value()["tenant_id"], "acme");
    let r = acme.get(&format!("/webhooks/{mine}")).await.expect("get");
    assert_eq!(
        r.status, 404,
        "the tenant does not see the admin's default tenant"
    );
}

#[tokio::test]
async fn tenant_keys_are_listed_without_the_key_stored_hashed_and_revocable() {
    let app = app().await;
    let (acme, key_id) = tenant_with_key(app.api(), "acme").await;
    let keys = app
        .api()
        .get("/tenants/acme/api-keys")
        .await
        .expect("keys")
        .value();
    assert_eq!(keys[0]["id"], key_id.to_string());
    assert!(keys[0].get("key").is_none());
    let stored: Vec<u8> = app
        .db()
        .query_one("SELECT key_hash FROM api_keys WHERE id = $1", &[&key_id])
        .await
        .expect("row")
        .try_get("key_hash")
        .expect("key_hash");
    assert_eq!(stored.len(), 32, "a SHA-256");
    assert_eq!(acme.get("/event-types").await.expect("types").status, 200);
    let r = app
        .api()
        .delete(&format!("/tenants/acme/api-keys/{key_id}"))
        .await;
    assert_eq!(r.expect("revoke").status, 204);
    let r = acme.get("/webhooks").await.expect("after revoke");
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (401, "invalid_token".into())
    );
}

#[tokio::test]
async fn a_tenant_created_with_a_limit_of_zero_gets_no_endpoint() {
    let app = app().await;
    let r = app
        .api()
        .post_json("/tenants", &json!({"id": "tiny", "max_endpoints": 0}))
        .await;
    assert_eq!(r.expect("tenant").status, 201);
    let r = admin_creates_webhook_in(&app, "tiny").await;
    let got = (r.status.as_u16(), r.error_code());
    assert_eq!(got, (409, "endpoint_limit_reached".into()), "{}", r.text());
}

#[tokio::test]
async fn fifty_concurrent_creates_against_a_limit_of_ten_leave_exactly_ten() {
    let app = app_with(TestAppOptions::new().env("HERALD_MAX_ENDPOINTS_PER_TENANT", "10")).await;
    let body = json!({"url": UNREACHABLE_URL, "event_types": ["order.created"]});
    let responses = futures::stream::iter(0..50)
        .map(|_| {
            let api = app.api().clone();
            let body = body.clone();
            async move { api.post_json("/webhooks", &body).await.expect("create") }
        })
        .buffer_unordered(50)
        .collect::<Vec<_>>()
        .await;
    let created = responses.iter().filter(|r| r.status == 201).count();
    let refused = responses
        .iter()
        .filter(|r| r.status == 409 && r.error_code() == "endpoint_limit_reached")
        .count();
    assert_eq!((created, refused), (10, 40));
    assert_eq!(app.count("webhooks").await, 10);
}
