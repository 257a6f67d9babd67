//! Hostile bodies: deep nesting, huge numbers, invalid UTF-8, header
//! injection, oversized custom headers and thousands of event types each
//! get a clear 4xx with its own code; nothing is stored or published, and
//! the server keeps answering.

use http::Method;
use serde_json::json;

use super::support::*;
use super::validation::{assert_nothing_stored, check};
use herald_tests::ApiClient;

/// `{"type":"order.created","payload":{"p":<payload>}}` as raw text.
fn event_with(payload: &str) -> Vec<u8> {
    format!(r#"{{"type":"order.created","payload":{{"p":{payload}}}}}"#).into_bytes()
}

async fn post(api: &ApiClient, path: &str, body: Vec<u8>) -> herald_tests::ApiResponse {
    api.send(
        Method::POST,
        path,
        &[("content-type", "application/json")],
        body,
    )
    .await
    .expect("request")
}

#[tokio::test]
async fn hostile_event_bodies_get_a_clear_4xx_and_nothing_is_stored() {
    let app = app().await;
    let api = app.api();
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let mut invalid_utf8 = event_with("\"caf");
    invalid_utf8.splice(invalid_utf8.len() - 2..invalid_utf8.len() - 2, [0xff, 0xfe]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("nested 5,000 deep", event_with(&deep), "too_deep"),
        (
            "objects nested 65 deep",
            event_with(&format!("{}1{}", "{\"a\":".repeat(65), "}".repeat(65))),
            "too_deep",
        ),
        ("a number past f64", event_with("1e99999"), "invalid_number"),
        (
            "a 10,000-digit number",
            event_with(&"9".repeat(10_000)),
            "invalid_number",
        ),
        ("invalid UTF-8", invalid_utf8, "invalid_utf8"),
        (
            "a NUL escape",
            event_with(r#""a\u0000b""#),
            "invalid_unicode",
        ),
        (
            "a lone surrogate",
            event_with(r#""\ud800""#),
            "invalid_unicode",
        ),
    ];
    for (what, body, expected) in cases {
        let r = post(api, "/events", body.clone()).await;
        check(&r, 400, expected, what);
        let batch = [b"{\"events\":[".as_slice(), &body, b"]}"].concat();
        let r = post(api, "/events/batch", batch).await;
        check(&r, 400, expected, &format!("{what} in a batch"));
    }
    assert_nothing_stored(&app).await;
    let r = api
        .post_json("/events", &event("order.created"))
        .await
        .expect("event");
    assert_eq!(r.status, 201, "still answering: {}", r.text());
}

#[tokio::test]
async fn header_injection_oversized_headers_and_thousands_of_types_are_refused() {
    let app = app().await;
    let api = app.api();
    let ok = || json!({"url": "http://127.0.0.1:9/hook", "event_types": ["order.created"]});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = ok();
        b[k] = v;
        b
    };
    let many: serde_json::Map<String, serde_json::Value> =
        (0..33).map(|i| (format!("X-H{i}"), json!("v"))).collect();
    let big: serde_json::Map<String, serde_json::Value> = (0..3)
        .map(|i| (format!("X-H{i}"), json!("v".repeat(4_000))))
        .collect();
    let types: Vec<String> = (0..5_000).map(|i| format!("order.t{i}")).collect();
    for (what, body, expected) in [
        (
            "CRLF in a value",
            with("headers", json!({"X-Ok": "a\r\nX-Injected: 1"})),
            "invalid_header",
        ),
        (
            "LF in a value",
            with("custom_headers", json!({"X-Ok": "a\nb"})),
            "invalid_header",
        ),
        (
            "CRLF in a name",
            with("headers", json!({"X-Ok\r\nX-Injected": "1"})),
            "invalid_header",
        ),
        (
            "a control character",
            with("headers", json!({"X-Ok": "a\u{7}b"})),
            "invalid_header",
        ),
        (
            "a 5,000-byte value",
            with("headers", json!({"X-Big": "v".repeat(5_000)})),
            "invalid_header",
        ),
        (
            "a 300-byte name",
            with("headers", json!({"x".repeat(300): "v"})),
            "invalid_header",
        ),
        ("33 headers", with("headers", json!(many)), "invalid_header"),
        (
            "12 KB of headers",
            with("headers", json!(big)),
            "invalid_header",
        ),
        (
            "5,000 event types",
            with("event_types", json!(types)),
            "invalid_event_types",
        ),
    ] {
        let r = api.post_json("/webhooks", &body).await.expect("create");
        check(&r, 400, expected, what);
    }
    assert_nothing_stored(&app).await;
    let created = api.post_json("/webhooks", &ok()).await.expect("create");
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.value()["id"].as_str().expect("id").to_string();
    let r = api
        .patch_json(
            &format!("/webhooks/{id}"),
            &json!({"headers": {"X-Ok": "a\r\nb"}}),
        )
        .await
        .expect("patch");
    check(&r, 400, "invalid_header", "CRLF through PATCH");
    let stored = api.get(&format!("/webhooks/{id}")).await.expect("get");
    assert_eq!(stored.value()["headers"], json!({}), "{}", stored.text());
}
