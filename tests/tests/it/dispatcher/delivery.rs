//! The happy path: signed requests, fan-out to exactly the right endpoints.

use std::collections::HashSet;

use herald_common::signing::{sign_legacy, SigningKey};
use herald_tests::{
    create_endpoint, post_events, post_raw_event, tenant_with_key, TestAppOptions, TestReceiver,
};
use serde_json::json;

use super::support::*;

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

const VERIFY_PY: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, headers, body = sys.argv[1], json.load(open(sys.argv[2])), open(sys.argv[3], "rb").read()
Webhook(secret).verify(body, headers)
print("verified")
"#;

fn verify_with_python(secret: &str, headers: &serde_json::Value, body: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (h, b) = (dir.path().join("headers.json"), dir.path().join("body"));
    std::fs::write(&h, headers.to_string()).expect("write headers");
    std::fs::write(&b, body).expect("write body");
    let out = std::process::Command::new(python())
        .args(["-c", VERIFY_PY, secret])
        .arg(&h)
        .arg(&b)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {:?} ({e}); run the test script, or set HERALD_TEST_PYTHON to a Python with `standardwebhooks`", python())
        });
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("verified"),
        "standardwebhooks rejected the request:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn an_event_arrives_once_signed_for_standard_webhooks_and_the_legacy_scheme() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let ep = create_endpoint(
        app.api(),
        &receiver.url("/hook"),
        &["order.created"],
        json!({"secret": SECRET, "headers": {"X-Team": "payments"}, "custom_payload": {"region": "eu"}}),
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher");
    let raw = r#"{"order_id": 123,  "amount":99.90}"#;
    let r = post_raw_event(app.api(), "order.created", raw).await;
    let event_id = r.value()["id"].as_str().expect("id").to_string();

    app.wait_for_deliveries(ep.id, "delivered", 1).await;
    let requests = receiver.requests_for("/hook");
    assert_eq!(requests.len(), 1, "exactly one POST");
    let req = &requests[0];
    assert_eq!(req.method, http::Method::POST);
    let header = |n: &str| {
        req.header(n)
            .unwrap_or_else(|| panic!("missing {n}"))
            .to_string()
    };
    assert_eq!(header("webhook-id"), event_id);
    assert_eq!(header("content-type"), "application/json");
    assert!(header("user-agent").starts_with("Herald/"));
    assert_eq!(header("x-team"), "payments");
    assert_eq!(header("x-webhook-event"), "order.created");
    let delivery_id = app.deliveries_of(ep.id).await[0].id;
    assert_eq!(header("x-webhook-delivery"), delivery_id.to_string());

    // The envelope carries the payload bytes untouched.
    let text = req.text();
    assert!(text.contains(&format!(r#""data":{raw}"#)), "{text}");
    let v = req.json();
    assert_eq!(
        (v["id"].as_str(), v["type"].as_str()),
        (Some(event_id.as_str()), Some("order.created"))
    );
    assert_eq!(v["custom"], json!({"region": "eu"}));
    assert!(v["timestamp"]
        .as_str()
        .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()));

    let (ts, sig) = (header("webhook-timestamp"), header("webhook-signature"));
    let now = chrono::Utc::now().timestamp();
    herald_common::verify(&ep.secret, &event_id, &ts, &sig, &req.body, now)
        .expect("common::verify");
    let key = SigningKey::from_secret(SECRET).expect("key");
    let legacy_ts: i64 = header("x-webhook-timestamp")
        .parse()
        .expect("legacy timestamp");
    assert_eq!(
        header("x-webhook-signature"),
        sign_legacy(legacy_ts, &req.body, &key)
    );
    let headers =
        json!({"webhook-id": event_id, "webhook-timestamp": ts, "webhook-signature": sig});
    verify_with_python(SECRET, &headers, &req.body);
}

#[tokio::test]
async fn each_endpoint_gets_exactly_the_events_it_subscribed_to() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let api = app.api().clone();
    let mut created = Vec::new();
    for path in ["/a", "/b", "/c"] {
        created
            .push(create_endpoint(&api, &receiver.url(path), &["order.created"], json!({})).await);
    }
    let signups = create_endpoint(&api, &receiver.url("/d"), &["user.signed_up"], json!({})).await;
    create_endpoint(
        &api,
        &receiver.url("/inactive"),
        &["order.created"],
        json!({"active": false}),
    )
    .await;
    // Another tenant's endpoint on the same type.
    let (globex, _) = tenant_with_key(&api, "globex").await;
    create_endpoint(
        &globex,
        &receiver.url("/globex"),
        &["order.created"],
        json!({}),
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher");

    let orders: HashSet<_> = post_events(&api, "order.created", 50, "o")
        .await
        .into_iter()
        .collect();
    let users: HashSet<_> = post_events(&api, "user.signed_up", 50, "u")
        .await
        .into_iter()
        .collect();
    for e in &created {
        app.wait_for_deliveries(e.id, "delivered", 50).await;
    }
    app.wait_for_deliveries(signups.id, "delivered", 50).await;

    for path in ["/a", "/b", "/c"] {
        let got = receiver.requests_for(path);
        assert_eq!(got.len(), 50, "{path} got {} requests", got.len());
        assert_eq!(
            event_ids(&got).into_iter().collect::<HashSet<_>>(),
            orders,
            "{path}"
        );
    }
    let got = receiver.requests_for("/d");
    assert_eq!(got.len(), 50);
    assert_eq!(event_ids(&got).into_iter().collect::<HashSet<_>>(), users);
    assert!(receiver.requests_for("/inactive").is_empty());
    assert!(receiver.requests_for("/globex").is_empty());
    let total = app.count("deliveries").await;
    assert_eq!(total, 200, "one delivery per (event, subscribed endpoint)");
}

#[tokio::test]
async fn a_raw_endpoint_gets_the_payload_bytes_signed_with_both_secrets_during_a_rotation() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let ep = create_endpoint(
        app.api(),
        &receiver.url("/raw"),
        &["order.created"],
        json!({"payload_format": "raw", "secret": "old-secret-value"}),
    )
    .await;
    let r = app
        .api()
        .post_json(&format!("/webhooks/{}/rotate-secret", ep.id), &json!({}))
        .await
        .expect("rotate");
    assert_eq!(r.status, 200, "{}", r.text());
    let new_secret = r.value()["secret"].as_str().expect("secret").to_string();
    app.start_dispatcher().await.expect("dispatcher");

    let raw = r#"{"z": [1,2 ,3], "a":"\u00e9"}"#;
    post_raw_event(app.api(), "order.created", raw).await;
    app.wait_for_deliveries(ep.id, "delivered", 1).await;
    let req = &receiver.requests_for("/raw")[0];
    assert_eq!(
        req.text(),
        raw,
        "raw endpoints get the payload exactly as ingested"
    );
    let (id, ts, sig) = (
        req.header("webhook-id").expect("id"),
        req.header("webhook-timestamp").expect("timestamp"),
        req.header("webhook-signature").expect("signature"),
    );
    assert_eq!(
        sig.split(' ').count(),
        2,
        "one signature per active secret: {sig}"
    );
    let now = chrono::Utc::now().timestamp();
    for secret in ["old-secret-value", new_secret.as_str()] {
        herald_common::verify(secret, id, ts, sig, &req.body, now).expect("verifies");
    }
    let legacy_ts: i64 = req
        .header("x-webhook-timestamp")
        .expect("ts")
        .parse()
        .expect("int");
    let current = SigningKey::from_secret(&new_secret).expect("key");
    assert_eq!(
        req.header("x-webhook-signature"),
        Some(sign_legacy(legacy_ts, &req.body, &current).as_str())
    );
}

/// Deleting an endpoint deletes its deliveries and their attempts (and no
/// other endpoint's): with no foreign keys on the hot tables, the delete
/// route does what `ON DELETE CASCADE` did.
#[tokio::test]
async fn deleting_an_endpoint_deletes_its_delivery_log_only() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let api = app.api().clone();
    let gone = create_endpoint(&api, &receiver.url("/gone"), &["order.created"], json!({})).await;
    let kept = create_endpoint(&api, &receiver.url("/kept"), &["order.created"], json!({})).await;
    app.start_dispatcher().await.expect("dispatcher");
    post_events(&api, "order.created", 20, "del").await;
    app.wait_for_deliveries(gone.id, "delivered", 20).await;
    app.wait_for_deliveries(kept.id, "delivered", 20).await;

    let r = api
        .delete(&format!("/webhooks/{}", gone.id))
        .await
        .expect("delete");
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(app.deliveries_of(gone.id).await.len(), 0);
    assert_eq!(app.deliveries_of(kept.id).await.len(), 20);
    assert_eq!(app.attempts_of(kept.id).await.len(), 20);
    let orphans = app
        .count(
            "delivery_attempts a \
             WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id)",
        )
        .await;
    assert_eq!(
        orphans, 0,
        "attempts of the deleted endpoint's deliveries remain"
    );
}
