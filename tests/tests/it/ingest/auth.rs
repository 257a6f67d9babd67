//! Tenants, API keys and the per-tenant endpoint limit.

use futures::StreamExt;
use herald_common::subjects::DELIVERIES_STREAM;
use herald_tests::{tenant_with_key, ApiClient, ApiResponse, TestApp, TestAppOptions};
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

async fn tenant(app: &TestApp, name: &'static str) -> Tenant {
    let (api, key_id) = tenant_with_key(app.api(), name).await;
    let webhook = create_webhook(&api, &["order.created"]).await;
    let r = post_event(&api, &event("order.created")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let event = id_of(&r);
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

/// The admin creates a webhook in `tenant`, named in `Herald-Tenant`.
async fn admin_creates_webhook_in(app: &TestApp, tenant: &str) -> ApiResponse {
    app.api()
        .send(
            Method::POST,
            "/webhooks",
            &[
                ("content-type", "application/json"),
                ("herald-tenant", tenant),
            ],
            json!({"url": "http://127.0.0.1:9/", "event_types": ["order.created"]}).to_string(),
        )
        .await
        .expect("create")
}

/// Everything about a tenant's data that a request could change.
async fn snapshot(app: &TestApp, t: &Tenant) -> String {
    let w = app.db().query_one("SELECT url, description, active, secret_ciphertext, updated_at::text FROM webhooks WHERE id = $1", &[&t.webhook]).await.expect("webhook");
    let d = app
        .db()
        .query_one(
            "SELECT status, updated_at::text FROM deliveries WHERE id = $1",
            &[&t.delivery],
        )
        .await
        .expect("delivery");
    let k = app
        .db()
        .query_one(
            "SELECT revoked_at IS NULL FROM api_keys WHERE id = $1",
            &[&t.key_id],
        )
        .await
        .expect("key");
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        w.get::<_, String>(0),
        w.get::<_, String>(1),
        w.get::<_, bool>(2),
        w.get::<_, Vec<u8>>(3),
        w.get::<_, String>(4),
        d.get::<_, String>(0),
        d.get::<_, String>(1),
        k.get::<_, bool>(0)
    )
}

#[tokio::test]
async fn a_tenant_key_can_neither_see_nor_change_another_tenants_data() {
    let app = app().await;
    let a = tenant(&app, "acme").await;
    let b = tenant(&app, "globex").await;
    let before = (snapshot(&app, &a).await, snapshot(&app, &b).await);
    let deliveries_stream = messages_in(&app, DELIVERIES_STREAM).await;

    for (me, other) in [(&a, &b), (&b, &a)] {
        let (w, e, d) = (other.webhook, other.event, other.delivery);
        let json = &[("content-type", "application/json")][..];
        for (method, path, body, status) in [
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
            (
                Method::GET,
                format!("/tenants/{}/api-keys", other.name),
                "",
                403,
            ),
            (
                Method::POST,
                format!("/tenants/{}/api-keys", other.name),
                "{}",
                403,
            ),
            (
                Method::DELETE,
                format!("/tenants/{}/api-keys/{}", other.name, other.key_id),
                "",
                403,
            ),
            (
                Method::POST,
                "/event-types".to_string(),
                r#"{"name":"evil.event"}"#,
                403,
            ),
        ] {
            let r = me
                .api
                .send(method.clone(), &path, json, body.to_string())
                .await
                .expect("request");
            assert_eq!(
                r.status.as_u16(),
                status,
                "{} {method} {path}: {}",
                me.name,
                r.text()
            );
        }
        // Lists only show the caller's own data.
        let hooks = me.api.get("/webhooks").await.expect("list").value();
        let hook_ids: Vec<&str> = hooks["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|h| h["id"].as_str())
            .collect();
        assert_eq!(hook_ids, [me.webhook.to_string()]);
        let dels = me
            .api
            .get(&format!("/deliveries?webhook_id={w}"))
            .await
            .expect("list")
            .value();
        assert_eq!(dels["data"], json!([]));
        let dels = me.api.get("/deliveries").await.expect("list").value();
        assert_eq!(dels["data"].as_array().map(Vec::len), Some(1));
        let tenants = me.api.get("/tenants").await.expect("tenants").value();
        assert_eq!(tenants.as_array().map(Vec::len), Some(1));
        // Naming the other tenant in Herald-Tenant is refused.
        let r = me
            .api
            .send(
                Method::POST,
                "/events",
                &[
                    ("content-type", "application/json"),
                    ("herald-tenant", other.name),
                ],
                event("order.created").to_string(),
            )
            .await
            .expect("post");
        assert_eq!(r.status, 403, "{}", r.text());
    }

    assert_eq!(
        before,
        (snapshot(&app, &a).await, snapshot(&app, &b).await),
        "nothing changed"
    );
    assert_eq!(count(&app, "webhooks").await, 2);
    assert_eq!(count(&app, "events").await, 2);
    assert_eq!(count(&app, "tenants").await, 3);
    let after = messages_in(&app, DELIVERIES_STREAM).await;
    assert_eq!(after, deliveries_stream, "no delivery job was published");
    // Each tenant's event went to its own subject.
    let js = app.jetstream();
    let stream = js.get_stream("HERALD_EVENTS").await.expect("stream");
    for t in [&a, &b] {
        let msg = stream
            .get_last_raw_message_by_subject(&format!("herald.events.{}.order.created", t.name))
            .await
            .expect("message");
        let ev: herald_common::messages::EventMessage =
            serde_json::from_slice(&msg.payload).expect("event");
        assert_eq!((ev.id, ev.tenant_id.as_str()), (t.event, t.name));
    }
}

#[tokio::test]
async fn admin_routes_keys_and_revocation() {
    let app = app().await;
    let (acme, key_id) = tenant_with_key(app.api(), "acme").await;
    // The admin sees every tenant and can narrow to one with Herald-Tenant.
    let theirs = create_webhook(&acme, &["order.created"]).await;
    let mine = create_webhook(app.api(), &["order.created"]).await;
    let all = app.api().get("/webhooks").await.expect("list").value();
    assert_eq!(all["data"].as_array().map(Vec::len), Some(2));
    let narrowed = app
        .api()
        .send(Method::GET, "/webhooks", &[("herald-tenant", "acme")], "")
        .await
        .expect("list")
        .value();
    assert_eq!(narrowed["data"][0]["id"], theirs.to_string());
    assert_eq!(narrowed["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        app.api()
            .get(&format!("/webhooks/{theirs}"))
            .await
            .expect("get")
            .status,
        200
    );
    let r = admin_creates_webhook_in(&app, "acme").await;
    assert_eq!(r.value()["tenant_id"], "acme");
    assert_eq!(
        acme.get(&format!("/webhooks/{mine}"))
            .await
            .expect("get")
            .status,
        404
    );
    // Keys are listed without the key, stored hashed, and revocable.
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
        .get(0);
    assert_eq!(stored.len(), 32);
    assert_eq!(acme.get("/event-types").await.expect("types").status, 200);
    let r = app
        .api()
        .delete(&format!("/tenants/acme/api-keys/{key_id}"))
        .await
        .expect("revoke");
    assert_eq!(r.status, 204);
    let r = acme.get("/webhooks").await.expect("after revoke");
    assert_eq!(
        (r.status.as_u16(), code(&r).as_str()),
        (401, "invalid_token")
    );
    // A tenant created with its own limit.
    let r = app
        .api()
        .post_json("/tenants", &json!({"id": "tiny", "max_endpoints": 0}))
        .await
        .expect("tenant");
    assert_eq!(r.status, 201);
    let r = admin_creates_webhook_in(&app, "tiny").await;
    assert_eq!(
        (r.status.as_u16(), code(&r).as_str()),
        (409, "endpoint_limit_reached")
    );
}

#[tokio::test]
async fn fifty_concurrent_creates_against_a_limit_of_ten_leave_exactly_ten() {
    let app = app_with(TestAppOptions::new().env("HERALD_MAX_ENDPOINTS_PER_TENANT", "10")).await;
    let body = json!({"url": "http://127.0.0.1:9/hook", "event_types": ["order.created"]});
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
        .filter(|r| r.status == 409 && code(r) == "endpoint_limit_reached")
        .count();
    assert_eq!((created, refused), (10, 40));
    assert_eq!(count(&app, "webhooks").await, 10);
}
