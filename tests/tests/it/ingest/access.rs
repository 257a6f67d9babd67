//! Access control against a running ingest: every route of the access table
//! with keys of each scope, expiry and last use, several admin tokens,
//! `/metrics` on its own listener, and per-tenant rate limits.

use std::time::Duration;

use herald_common::config::settings::{
    ADMIN_TOKENS, INGEST_METRICS_LISTEN, RATE_LIMIT, RATE_LIMIT_BURST, TENANT_RATE_LIMITS,
};
use herald_ingest::http::access::{Needs, Scope, ROUTES};
use herald_tests::{free_port, ApiClient, TestApp, TestAppOptions};
use http::Method;
use serde_json::json;

use super::support::*;

/// A key of tenant `tenant` with `scopes` (and `expires_at`, if any).
async fn key(app: &TestApp, tenant: &str, body: serde_json::Value) -> ApiClient {
    let r = app
        .api()
        .post_json(&format!("/tenants/{tenant}/api-keys"), &body)
        .await
        .expect("create key");
    assert_eq!(r.status, 201, "{}", r.text());
    app.api()
        .with_token(r.value()["key"].as_str().expect("key"))
}

/// The route template with its parameters filled in.
fn concrete(template: &str) -> String {
    template
        .replace("/tenants/{id}", "/tenants/acme")
        .replace("{id}", "0190b3c2-0000-7000-8000-000000000001")
        .replace("{key_id}", "0190b3c2-0000-7000-8000-000000000002")
        .replace("{*path}", "app.js")
        .replace("{name}", "order.created")
}

async fn call(api: &ApiClient, method: &str, template: &str) -> (u16, String) {
    let method: Method = method.parse().expect("method");
    let body = if method == Method::GET || method == Method::DELETE {
        ""
    } else {
        "{}"
    };
    let r = api
        .send(
            method,
            &concrete(template),
            &[("content-type", "application/json")],
            body,
        )
        .await
        .expect("request");
    (r.status.as_u16(), r.error_code())
}

#[tokio::test]
async fn every_route_refuses_a_key_without_the_scope_it_needs() {
    let app = app().await;
    let r = app
        .api()
        .post_json("/tenants", &json!({"id": "acme"}))
        .await
        .expect("tenant");
    assert_eq!(r.status, 201, "{}", r.text());
    let mut keys = Vec::new();
    for scope in Scope::ALL {
        keys.push((
            scope,
            key(&app, "acme", json!({"scopes": [scope.as_str()]})).await,
        ));
    }
    for (method, template, needs) in ROUTES {
        for (scope, api) in &keys {
            let (status, code) = call(api, method, template).await;
            let what = format!("{method} {template} with a `{}` key", scope.as_str());
            match needs {
                Needs::Nothing => assert!(status != 401 && status != 403, "{what}: {status}"),
                Needs::Admin => assert_eq!((status, code.as_str()), (403, "forbidden"), "{what}"),
                Needs::Scope(s) if s == scope => {
                    assert!(status != 401 && status != 403, "{what}: {status} {code}")
                }
                Needs::Scope(_) => {
                    assert_eq!(
                        (status, code.as_str()),
                        (403, "insufficient_scope"),
                        "{what}"
                    )
                }
            }
        }
        // The admin token passes every route's access check.
        let (status, code) = call(app.api(), method, template).await;
        assert!(
            status != 401 && status != 403,
            "{method} {template} as admin: {status} {code}"
        );
    }
    assert_eq!(app.count("events").await, 0);
    assert_eq!(app.count("webhooks").await, 0);
}

#[tokio::test]
async fn keys_expire_and_record_their_last_use_at_most_once_a_minute() {
    let app = app().await;
    app.api()
        .post_json("/tenants", &json!({"id": "acme"}))
        .await
        .expect("tenant");
    let soon = chrono::Utc::now() + chrono::Duration::seconds(3);
    let short = key(
        &app,
        "acme",
        json!({"scopes": ["read"], "expires_at": soon}),
    )
    .await;
    assert_eq!(short.get("/webhooks").await.expect("get").status, 200);
    let last_used = || async {
        let r = app.api().get("/tenants/acme/api-keys").await.expect("list");
        r.value()[0]["last_used_at"].as_str().map(str::to_string)
    };
    let first = herald_tests::wait_for(herald_tests::WAIT, &last_used)
        .await
        .expect("last use recorded");
    let listed = app
        .api()
        .get("/tenants/acme/api-keys")
        .await
        .expect("list")
        .value();
    assert_eq!(listed[0]["scopes"], json!(["read"]));
    assert!(listed[0]["expires_at"].is_string());
    assert_eq!(short.get("/events").await.expect("get").status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        last_used().await,
        Some(first),
        "not written on every request"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let r = short.get("/webhooks").await.expect("expired");
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (401, "token_expired".to_string())
    );
}

#[tokio::test]
async fn every_admin_token_of_the_list_works() {
    let app = app_with(TestAppOptions::new().env(
        ADMIN_TOKENS.name,
        "next-admin-token-0123, third-admin-token-012",
    ))
    .await;
    for token in [
        app.admin_token(),
        "next-admin-token-0123",
        "third-admin-token-012",
    ] {
        let r = app
            .api()
            .with_token(token)
            .get("/tenants")
            .await
            .expect("get");
        assert_eq!(r.status, 200, "{token}");
    }
    let r = app
        .api()
        .with_token("fourth-admin-token-01")
        .get("/tenants")
        .await
        .expect("get");
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (401, "invalid_token".to_string())
    );
}

#[tokio::test]
async fn metrics_move_to_their_own_listener_and_leave_the_api() {
    let port = free_port().expect("port");
    let app = app_with(
        TestAppOptions::new().env(INGEST_METRICS_LISTEN.name, format!("127.0.0.1:{port}")),
    )
    .await;
    let r = app.anonymous().get("/metrics").await.expect("api metrics");
    assert_eq!(r.status, 404, "not on the API listener");
    let metrics = ApiClient::new(format!("http://127.0.0.1:{port}"));
    let r = metrics.get("/metrics").await.expect("metrics listener");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("herald_"), "{}", r.text());
    assert_eq!(
        metrics.get("/webhooks").await.expect("no API there").status,
        404
    );
}

#[tokio::test]
async fn a_tenant_over_its_event_rate_gets_429_with_retry_after_and_nothing_is_stored() {
    let app = app_with(
        TestAppOptions::new()
            .env(RATE_LIMIT.name, "1")
            .env(RATE_LIMIT_BURST.name, "5")
            .env(TENANT_RATE_LIMITS.name, "big=1000/2000"),
    )
    .await;
    let batch =
        |n: usize| json!({"events": (0..n).map(|_| event("order.created")).collect::<Vec<_>>()});
    let r = app
        .api()
        .post_json("/events/batch", &batch(5))
        .await
        .expect("batch");
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app
        .api()
        .post_json("/events", &event("order.created"))
        .await
        .expect("event");
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (429, "rate_limited".to_string()),
        "{}",
        r.text()
    );
    let wait: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=2).contains(&wait), "{wait}");
    let r = app
        .api()
        .post_json("/events/batch", &batch(6))
        .await
        .expect("batch");
    assert_eq!(r.status, 429, "a batch over the burst: {}", r.text());
    assert_eq!(
        app.count("events").await,
        5,
        "nothing stored beyond the rate"
    );
    // Another tenant has its own bucket, here a bigger one.
    app.api()
        .post_json("/tenants", &json!({"id": "big"}))
        .await
        .expect("tenant");
    let r = app
        .api()
        .send(
            Method::POST,
            "/events/batch",
            &[
                ("content-type", "application/json"),
                ("herald-tenant", "big"),
            ],
            batch(50).to_string(),
        )
        .await
        .expect("big batch");
    assert_eq!(r.status, 201, "{}", r.text());
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let r = app
        .api()
        .post_json("/events", &event("order.created"))
        .await
        .expect("event");
    assert_eq!(r.status, 201, "after Retry-After: {}", r.text());
}
