//! The 4xx matrix: every class of bad input from the design page, each
//! request with the status and error code it must get, in one table; a
//! request of it stores nothing and publishes nothing. Tests of other areas
//! check their success paths and leave their bad input here.

use http::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use super::support::*;
use herald_tests::{create_endpoint, TestApp, TestAppOptions, UNREACHABLE_URL};

/// An id nothing has.
const MISSING: &str = "0190b3c2-0000-7000-8000-000000000001";
const JSON: Option<&str> = Some("application/json");

/// The credential a case sends.
#[derive(Clone, Copy)]
enum Token {
    Admin,
    None,
    Other(&'static str),
}

/// One bad request and the answer it must get.
struct Case {
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    tenant: Option<&'static str>,
    token: Token,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    what: &'static str,
}

/// A request with a JSON body (or none), the admin token, no tenant header.
fn req(method: Method, path: impl Into<String>, body: impl Into<Vec<u8>>) -> Case {
    Case {
        method,
        path: path.into(),
        content_type: JSON,
        tenant: None,
        token: Token::Admin,
        body: body.into(),
        status: 0,
        code: "",
        what: "",
    }
}

fn get(path: impl Into<String>) -> Case {
    req(Method::GET, path, "")
}

fn post(path: impl Into<String>, body: impl Into<Vec<u8>>) -> Case {
    req(Method::POST, path, body)
}

impl Case {
    fn is(self, status: u16, code: &'static str, what: &'static str) -> Self {
        Self {
            status,
            code,
            what,
            ..self
        }
    }
    fn content_type(self, content_type: Option<&'static str>) -> Self {
        Self {
            content_type,
            ..self
        }
    }
    fn tenant(self, tenant: &'static str) -> Self {
        Self {
            tenant: Some(tenant),
            ..self
        }
    }
    fn token(self, token: Token) -> Self {
        Self { token, ..self }
    }
}

/// A valid endpoint body with `key` set to `value`.
fn endpoint_with(key: &str, value: Value) -> String {
    let mut body = json!({"url": UNREACHABLE_URL, "event_types": ["order.created"]});
    body[key] = value;
    body.to_string()
}

/// A batch of `events`.
fn batch(events: Value) -> String {
    json!({ "events": events }).to_string()
}

fn order() -> Value {
    event("order.created")
}

/// An `order.created` event whose payload is `{"p": <payload>}`, as raw text.
fn event_with(payload: &str) -> String {
    format!(r#"{{"type":"order.created","payload":{{"p":{payload}}}}}"#)
}

/// The same event as the only one of a batch.
fn batch_with(payload: &str) -> String {
    format!(r#"{{"events":[{}]}}"#, event_with(payload))
}

/// Hostile bodies: nesting, numbers, bytes and escapes past the JSON limits,
/// header injection, oversized headers, thousands of event types; API keys.
#[rustfmt::skip]
fn hostile(webhook: Uuid) -> Vec<Case> {
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(65), "}".repeat(65));
    let deep_types = format!(r#"{{"url":"{UNREACHABLE_URL}","event_types":{}"x"{}}}"#, "[".repeat(100), "]".repeat(100));
    let digits = "9".repeat(10_000);
    let mut not_utf8 = event_with(r#""caf""#).into_bytes();
    not_utf8.splice(not_utf8.len() - 3..not_utf8.len() - 3, [0xff, 0xfe]);
    let many: serde_json::Map<String, Value> = (0..33).map(|i| (format!("X-H{i}"), json!("v"))).collect();
    let big: serde_json::Map<String, Value> = (0..3).map(|i| (format!("X-H{i}"), json!("v".repeat(4_000)))).collect();
    let types: Vec<String> = (0..5_000).map(|i| format!("order.t{i}")).collect();
    let keys = "/tenants/default/api-keys";
    vec![
        post("/events", event_with(&deep)).is(400, "too_deep", "arrays nested 5,000 deep"),
        post("/events", event_with(&deep_objects)).is(400, "too_deep", "objects nested 67 deep"),
        post("/events/batch", batch_with(&deep)).is(400, "too_deep", "deep nesting in a batch"),
        post("/webhooks", deep_types).is(400, "too_deep", "deep nesting in an endpoint"),
        post("/events", event_with("1e99999")).is(400, "invalid_number", "a number past f64"),
        post("/events", event_with(&digits)).is(400, "invalid_number", "a 10,000-digit number"),
        post("/events/batch", batch_with("-1e400")).is(400, "invalid_number", "a huge number in a batch"),
        post("/events", not_utf8).is(400, "invalid_utf8", "invalid UTF-8"),
        post("/events", event_with(r#""a\u0000b""#)).is(400, "invalid_unicode", "a NUL escape"),
        post("/events", event_with(r#""\ud800""#)).is(400, "invalid_unicode", "a lone surrogate"),
        post("/webhooks", endpoint_with("headers", json!({"X-Ok": "a\r\nX-Injected: 1"}))).is(400, "invalid_header", "CRLF in a header value"),
        post("/webhooks", endpoint_with("custom_headers", json!({"X-Ok": "a\nb"}))).is(400, "invalid_header", "LF in a custom_headers value"),
        post("/webhooks", endpoint_with("headers", json!({"X-Ok\r\nX-Injected": "1"}))).is(400, "invalid_header", "CRLF in a header name"),
        post("/webhooks", endpoint_with("headers", json!({"X-Ok": "a\u{7}b"}))).is(400, "invalid_header", "a control character"),
        post("/webhooks", endpoint_with("headers", json!({"X-Big": "v".repeat(5_000)}))).is(400, "invalid_header", "a 5,000-byte header value"),
        post("/webhooks", endpoint_with("headers", json!({"x".repeat(300): "v"}))).is(400, "invalid_header", "a 300-byte header name"),
        post("/webhooks", endpoint_with("headers", json!(many))).is(400, "invalid_header", "33 headers"),
        post("/webhooks", endpoint_with("headers", json!(big))).is(400, "invalid_header", "12 KB of headers"),
        req(Method::PATCH, format!("/webhooks/{webhook}"), r#"{"headers":{"X-Ok":"a\r\nb"}}"#).is(400, "invalid_header", "CRLF through PATCH"),
        post("/webhooks", endpoint_with("event_types", json!(types))).is(400, "invalid_event_types", "5,000 event types"),
        post(keys, r#"{"scopes":["admin"]}"#).is(400, "invalid_scope", "an unknown scope"),
        post(keys, r#"{"scopes":[]}"#).is(400, "invalid_scope", "no scope"),
        post(keys, r#"{"expires_at":"2001-01-01T00:00:00Z"}"#).is(400, "invalid_expiry", "an expiry in the past"),
        post(keys, r#"{"expires_at":"tomorrow"}"#).is(400, "invalid_body", "an expiry that is no time"),
    ]
}

/// Every bad request; `webhook` is an existing endpoint.
#[rustfmt::skip]
fn cases(webhook: Uuid) -> Vec<Case> {
    let w = |suffix: &str| format!("/webhooks/{webhook}{suffix}");
    let big = format!(r#"{{"type":"order.created","payload":{{"x":"{}"}}}}"#, "a".repeat(300_000));
    let many: Vec<Value> = (0..1001).map(|_| order()).collect();
    vec![
        // POST /events
        post("/events", r#"{"type": "order.created", "#).is(400, "malformed_json", "malformed JSON"),
        post("/events", r#"{"type":"order.created","payload":{}}"#).content_type(Some("text/plain")).is(415, "unsupported_media_type", "wrong content type"),
        post("/events", r#"{"type":"order.created","payload":{}}"#).content_type(None).is(415, "unsupported_media_type", "no content type"),
        post("/events", r#"{"type":"order.created","payload":{},"priority":1}"#).is(400, "unknown_field", "unknown field"),
        post("/events", r#"{"type":"order.deleted","payload":{}}"#).is(422, "unknown_event_type", "unregistered type"),
        post("/events", r#"{"type":"order.>","payload":{}}"#).is(400, "invalid_event_type", "malformed type"),
        post("/events", r#"{"type":"herald.endpoint.disabled","payload":{}}"#).is(400, "reserved_event_type", "Herald's own type"),
        post("/events", r#"{"type":"webhook.test","payload":{}}"#).is(400, "reserved_event_type", "the test event's type"),
        post("/events", r#"{"type":"order.created","payload":[1,2]}"#).is(400, "invalid_payload", "array payload"),
        post("/events", r#"{"type":"order.created","payload":null}"#).is(400, "invalid_payload", "null payload"),
        post("/events", r#"{"type":"order.created","payload":42}"#).is(400, "invalid_payload", "number payload"),
        post("/events", r#"{"type":"order.created"}"#).is(400, "invalid_body", "missing payload"),
        post("/events", big).is(413, "payload_too_large", "oversize body"),
        post("/events", r#"{"type":"order.created","payload":{},"idempotency_key":""}"#).is(400, "invalid_idempotency_key", "empty idempotency key"),
        // POST /events/batch
        post("/events/batch", batch(json!([]))).is(400, "invalid_batch", "empty batch"),
        post("/events/batch", batch(json!([order(), {"type": "order.created", "payload": 1}]))).is(400, "invalid_payload", "one bad event spoils the batch"),
        post("/events/batch", batch(json!([order(), event("nope.nope")]))).is(422, "unknown_event_type", "one unregistered type spoils the batch"),
        post("/events/batch", batch(json!(many))).is(400, "invalid_batch", "too many events"),
        // POST /webhooks, PATCH /webhooks/{id}
        post("/webhooks", endpoint_with("url", json!("ftp://example.com/x"))).is(400, "invalid_url", "non-http url"),
        post("/webhooks", endpoint_with("url", json!("example.com/hook"))).is(400, "invalid_url", "not a url"),
        post("/webhooks", endpoint_with("url", json!("https://u:p@example.com/"))).is(400, "invalid_url", "credentials in url"),
        post("/webhooks", endpoint_with("retries", json!(3))).is(400, "unknown_field", "unknown endpoint field"),
        post("/webhooks", endpoint_with("event_types", json!([]))).is(400, "invalid_event_types", "no event types"),
        post("/webhooks", endpoint_with("event_types", json!(["order.shipped"]))).is(422, "unknown_event_type", "unregistered event type"),
        post("/webhooks", endpoint_with("event_types", json!("order.created"))).is(400, "invalid_body", "event types not a list"),
        post("/webhooks", endpoint_with("headers", json!({"Webhook-Signature": "x"}))).is(400, "reserved_header", "reserved header"),
        post("/webhooks", endpoint_with("headers", json!({"bad header": "x"}))).is(400, "invalid_header", "invalid header"),
        post("/webhooks", endpoint_with("payload_format", json!("xml"))).is(400, "invalid_payload_format", "bad payload format"),
        post("/webhooks", endpoint_with("rate_limit_per_second", json!(0))).is(400, "out_of_range", "rate limit out of range"),
        post("/webhooks", endpoint_with("secret", json!("whsec_***"))).is(400, "invalid_secret", "bad whsec secret"),
        post("/webhooks", endpoint_with("retry_schedule", json!(["soon"]))).is(400, "invalid_retry_schedule", "bad retry schedule"),
        post("/webhooks", r#"{"url":"#).is(400, "malformed_json", "malformed endpoint JSON"),
        post("/webhooks", "<webhook/>").content_type(Some("application/xml")).is(415, "unsupported_media_type", "xml"),
        req(Method::PATCH, w(""), r#"{"retry_schedule":["soon"]}"#).is(400, "invalid_retry_schedule", "bad retry schedule in a patch"),
        post(w("/recover"), r#"{"since":"yesterday"}"#).is(400, "invalid_body", "bad recover time"),
        // POST /event-types
        post("/event-types", r#"{"name":"herald.custom"}"#).is(400, "reserved_event_type", "a herald.* type"),
        // ids, cursors, limits, filters
        get("/webhooks/123").is(400, "invalid_id", "bad endpoint id"),
        get("/events/not-a-uuid").is(400, "invalid_id", "bad event id"),
        get("/deliveries/xyz").is(400, "invalid_id", "bad delivery id"),
        req(Method::PATCH, "/webhooks/nope", "{}").is(400, "invalid_id", "PATCH of a bad id"),
        req(Method::DELETE, "/webhooks/nope", "{}").is(400, "invalid_id", "DELETE of a bad id"),
        post("/webhooks/nope/rotate-secret", "{}").is(400, "invalid_id", "rotation of a bad id"),
        post("/webhooks/nope/recover", "{}").is(400, "invalid_id", "recovery of a bad id"),
        post("/deliveries/nope/retry", "{}").is(400, "invalid_id", "retry of a bad id"),
        req(Method::DELETE, "/tenants/default/api-keys/nope", "{}").is(400, "invalid_id", "revocation of a bad id"),
        get("/webhooks?cursor=garbage!").is(400, "invalid_cursor", "bad endpoint cursor"),
        get("/deliveries?cursor=AAAA").is(400, "invalid_cursor", "bad delivery cursor"),
        get("/events?cursor=zzz").is(400, "invalid_cursor", "bad event cursor"),
        get("/webhooks?limit=0").is(400, "invalid_limit", "limit 0"),
        get("/events?limit=0").is(400, "invalid_limit", "event limit 0"),
        get("/deliveries?limit=100000").is(400, "invalid_limit", "limit too high"),
        get("/deliveries?status=lost").is(400, "invalid_status", "unknown status"),
        get("/webhooks?colour=red").is(400, "invalid_query", "unknown filter"),
        get("/events?type=not%20a%20type").is(400, "invalid_event_type", "bad type filter"),
        get("/events?since=yesterday").is(400, "invalid_query", "bad time"),
        get("/events?since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z").is(400, "invalid_query", "empty time range"),
        // what does not exist
        get(format!("/webhooks/{MISSING}")).is(404, "not_found", "no such endpoint"),
        get(format!("/webhooks/{MISSING}/stats")).is(404, "not_found", "stats of no endpoint"),
        post(format!("/webhooks/{MISSING}/test"), "{}").is(404, "not_found", "test send to no endpoint"),
        post(format!("/webhooks/{MISSING}/replay"), r#"{"since":"2020-01-01T00:00:00Z"}"#).is(404, "not_found", "replay to no endpoint"),
        get(format!("/events/{MISSING}")).is(404, "not_found", "no such event"),
        get(format!("/deliveries/{MISSING}")).is(404, "not_found", "no such delivery"),
        get("/tenants/nobody/api-keys").is(404, "not_found", "keys of no tenant"),
        // tenants
        post("/events", order().to_string()).tenant("ghost").is(422, "unknown_tenant", "unknown Herald-Tenant"),
        post("/events", order().to_string()).tenant("Not Valid").is(400, "invalid_tenant", "malformed Herald-Tenant"),
        post("/tenants/ghost/api-keys", "{}").is(404, "not_found", "key for an unknown tenant"),
        post("/tenants", r#"{"id":"default"}"#).is(409, "tenant_exists", "duplicate tenant"),
        // credentials
        post("/events", order().to_string()).token(Token::None).is(401, "missing_token", "no token"),
        post("/events", order().to_string()).token(Token::Other("not-the-token")).is(401, "invalid_token", "wrong token"),
        post("/webhooks", endpoint_with("url", json!(UNREACHABLE_URL))).token(Token::Other("hk_forged")).is(401, "invalid_token", "unknown API key"),
    ]
}

/// Send every case; a line for each answer that differs from the case's.
async fn check_all(app: &TestApp, cases: Vec<Case>) {
    let mut wrong = Vec::new();
    for case in cases {
        let api = match case.token {
            Token::Admin => app.api().clone(),
            Token::None => app.anonymous(),
            Token::Other(token) => app.api().with_token(token),
        };
        let mut headers: Vec<(&str, &str)> = Vec::new();
        headers.extend(case.content_type.map(|c| ("content-type", c)));
        headers.extend(case.tenant.map(|t| ("herald-tenant", t)));
        let r = api
            .send(case.method.clone(), &case.path, &headers, case.body)
            .await
            .expect("request");
        let got = (r.status.as_u16(), r.error_code());
        let has_message = r.value()["error"]["message"].is_string();
        if got != (case.status, case.code.to_string()) || !has_message {
            let (method, path) = (&case.method, &case.path);
            wrong.push(format!("{}: {method} {path}: {}", case.what, r.text()));
        }
    }
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));
}

/// The rows a request could add, table by table.
async fn stored(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in ["events", "webhooks", "tenants", "api_keys", "event_types"] {
        counts.push(app.count(table).await);
    }
    counts
}

#[tokio::test]
async fn every_bad_request_gets_its_status_and_error_code_and_nothing_is_stored() {
    let app = app().await;
    let webhook = create_endpoint(app.api(), UNREACHABLE_URL, &["order.created"], json!({})).await;
    let before = stored(&app).await;
    let mut all = cases(webhook.id);
    all.extend(hostile(webhook.id));
    check_all(&app, all).await;
    assert_eq!(stored(&app).await, before, "a refused request stored rows");
    let headers = app.endpoint_row(webhook.id).await.headers;
    assert_eq!(headers, json!({}), "headers unchanged by a refused PATCH");
    app.assert_outbox_empty().await;
    assert_eq!(stream_messages(&app).await, 0, "events published");
}

#[tokio::test]
async fn urls_resolving_to_private_addresses_are_refused_unless_allowed() {
    let app = app_with(TestAppOptions::new().env("HERALD_ALLOW_PRIVATE_URLS", "false")).await;
    // A public address is fine; a PATCH from it to loopback is not.
    let url = "https://93.184.216.34/hook";
    let public = create_endpoint(app.api(), url, &["order.created"], json!({})).await;
    let private = |url: &str| endpoint_with("url", json!(url));
    let mut cases: Vec<Case> = [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://192.168.1.1/",
    ]
    .into_iter()
    .map(|url| post("/webhooks", private(url)).is(422, "url_not_allowed", "private address"))
    .collect();
    let patch = format!("/webhooks/{}", public.id);
    cases.push(
        req(Method::PATCH, patch, r#"{"url":"http://127.0.0.1/x"}"#).is(
            422,
            "url_not_allowed",
            "patch to loopback",
        ),
    );
    check_all(&app, cases).await;
    assert_eq!(app.endpoint_row(public.id).await.url, url);
    assert_eq!(app.count("webhooks").await, 1);
}
