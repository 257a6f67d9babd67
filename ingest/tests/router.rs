//! Router tests without a socket or any server: Postgres and NATS point at
//! closed ports, so these cover what is decided before any I/O (parsing,
//! auth, validation, routing, the error shape) and the `503` when the
//! database is unreachable.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use herald_common::config::Config;
use herald_ingest::{router, Node};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const ADMIN: &str = "Bearer herald-local-admin-token";

async fn app() -> axum::Router {
    let config = Config::for_tests("postgres://postgres@127.0.0.1:1/none", "nats://127.0.0.1:1");
    let node = Node::build(config).await.expect("node");
    router(node.state)
}

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json)
}

fn req(
    method: Method,
    path: &str,
    auth: Option<&str>,
    ctype: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    if let Some(c) = ctype {
        b = b.header("content-type", c);
    }
    b.body(body.into()).expect("request")
}

fn post_json(path: &str, body: &str) -> Request<Body> {
    req(
        Method::POST,
        path,
        Some(ADMIN),
        Some("application/json"),
        body.to_string(),
    )
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no code>")
}

#[tokio::test]
async fn bad_bodies_get_clear_4xx_codes() {
    let app = app().await;
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post_json("/events", "{not json"),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            req(
                Method::POST,
                "/events",
                Some(ADMIN),
                Some("text/plain"),
                r#"{"type":"a.b","payload":{}}"#,
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            req(
                Method::POST,
                "/events",
                Some(ADMIN),
                None,
                r#"{"type":"a.b","payload":{}}"#,
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post_json(
                "/events",
                r#"{"type":"order.created","payload":{},"extra":1}"#,
            ),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        (
            post_json("/events", r#"{"type":"order.created","payload":[1]}"#),
            StatusCode::BAD_REQUEST,
            "invalid_payload",
        ),
        (
            post_json("/events", r#"{"type":"order.created","payload":"x"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_payload",
        ),
        (
            post_json("/events", r#"{"type":"order.*","payload":{}}"#),
            StatusCode::BAD_REQUEST,
            "invalid_event_type",
        ),
        (
            post_json("/events", r#"{"type":"order.created"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            post_json("/events/batch", r#"{"events":[]}"#),
            StatusCode::BAD_REQUEST,
            "invalid_batch",
        ),
        (
            post_json(
                "/events/batch",
                r#"{"events":[{"type":"a.b","payload":{}},{"type":"a.b","payload":1}]}"#,
            ),
            StatusCode::BAD_REQUEST,
            "invalid_payload",
        ),
        (
            post_json(
                "/webhooks",
                r#"{"url":"ftp://example.com","event_types":["order.created"]}"#,
            ),
            StatusCode::BAD_REQUEST,
            "invalid_url",
        ),
        (
            post_json(
                "/webhooks",
                r#"{"url":"https://example.com","event_types":["order.created"],"nope":true}"#,
            ),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        (
            post_json(
                "/webhooks",
                r#"{"url":"https://example.com","event_types":["order.created"],"headers":{"webhook-id":"x"}}"#,
            ),
            StatusCode::BAD_REQUEST,
            "reserved_header",
        ),
        (
            post_json("/tenants", r#"{"id":"Not Valid"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
        ),
    ];
    for (request, status, expected) in cases {
        let what = format!("{} {}", request.method(), request.uri());
        let (got, body) = send(&app, request).await;
        assert_eq!((got, code(&body)), (status, expected), "{what}: {body}");
    }
}

#[tokio::test]
async fn oversize_bodies_are_refused_with_413() {
    let app = app().await;
    let big = format!(
        r#"{{"type":"order.created","payload":{{"pad":"{}"}}}}"#,
        "x".repeat(300 * 1024)
    );
    let (status, body) = send(&app, post_json("/events", &big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(code(&body), "payload_too_large");
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let app = app().await;
    let body = r#"{"type":"order.created","payload":{}}"#;
    let (s, b) = send(
        &app,
        req(
            Method::POST,
            "/events",
            None,
            Some("application/json"),
            body,
        ),
    )
    .await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "missing_token"));
    let (s, b) = send(
        &app,
        req(
            Method::GET,
            "/webhooks",
            Some("Bearer wrong-token"),
            None,
            "",
        ),
    )
    .await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "invalid_token"));
    let (s, b) = send(
        &app,
        req(Method::GET, "/webhooks", Some("Basic abc"), None, ""),
    )
    .await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "missing_token"));
}

#[tokio::test]
async fn paths_cursors_and_limits_are_validated() {
    let app = app().await;
    for (path, expected) in [
        ("/webhooks/not-a-uuid", "invalid_id"),
        ("/events/123", "invalid_id"),
        ("/deliveries/zzz", "invalid_id"),
        ("/webhooks?cursor=%21%21", "invalid_cursor"),
        ("/webhooks?limit=0", "invalid_limit"),
        ("/webhooks?limit=1000", "invalid_limit"),
        ("/webhooks?limit=abc", "invalid_query"),
        ("/webhooks?color=red", "invalid_query"),
        ("/deliveries?status=lost", "invalid_status"),
        ("/deliveries?webhook_id=nope", "invalid_query"),
    ] {
        let (s, b) = send(&app, req(Method::GET, path, Some(ADMIN), None, "")).await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, expected),
            "{path}: {b}"
        );
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_use_the_error_shape() {
    let app = app().await;
    let (s, b) = send(&app, req(Method::GET, "/nope", Some(ADMIN), None, "")).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "route_not_found"));
    let (s, b) = send(&app, req(Method::PUT, "/events", Some(ADMIN), None, "")).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

#[tokio::test]
async fn an_unreachable_database_gives_503_never_201() {
    let app = app().await;
    let (s, b) = send(
        &app,
        post_json("/events", r#"{"type":"order.created","payload":{"a":1}}"#),
    )
    .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        "{b}"
    );
    let (s, b) = send(&app, req(Method::GET, "/readyz", None, None, "")).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    let (s, _) = send(&app, req(Method::GET, "/healthz", None, None, "")).await;
    assert_eq!(s, StatusCode::OK);
}

/// Every path and method in `/openapi.json` is routed (no `route_not_found`, no 405).
#[tokio::test]
async fn every_documented_route_exists() {
    let app = app().await;
    let (s, doc) = send(&app, req(Method::GET, "/openapi.json", None, None, "")).await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 19, "{paths:?}");
    let mut checked = 0;
    for (path, ops) in paths {
        let concrete = path
            .replace("{id}", "0190b3c2-0000-7000-8000-000000000001")
            .replace("{key_id}", "0190b3c2-0000-7000-8000-000000000002");
        let concrete = if path.starts_with("/tenants/") {
            concrete.replace("0190b3c2-0000-7000-8000-000000000001", "default")
        } else {
            concrete
        };
        for method in ops.as_object().expect("ops").keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let (s, b) = send(&app, req(m.clone(), &concrete, None, None, "")).await;
            assert_ne!(code(&b), "route_not_found", "{m} {path}");
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} operations documented");
}

#[tokio::test]
async fn the_console_is_served_from_the_binary_under_a_strict_csp() {
    let app = app().await;
    let resp = app
        .clone()
        .oneshot(req(Method::GET, "/", None, None, ""))
        .await
        .expect("resp");
    assert_eq!(resp.status(), StatusCode::OK);
    let csp = resp
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let html = String::from_utf8_lossy(&bytes);
    assert!(html.contains("<title>Herald console</title>"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external assets"
    );
    for (path, status, kind) in [
        ("/console/app.js", StatusCode::OK, "text/javascript"),
        (
            "/console/views/deliveries.js",
            StatusCode::OK,
            "text/javascript",
        ),
        ("/console/style.css", StatusCode::OK, "text/css"),
        (
            "/console/nope.js",
            StatusCode::NOT_FOUND,
            "application/json",
        ),
    ] {
        let resp = app
            .clone()
            .oneshot(req(Method::GET, path, None, None, ""))
            .await
            .expect("resp");
        assert_eq!(resp.status(), status, "{path}");
        let got = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(got.starts_with(kind), "{path}: {got}");
    }
}
