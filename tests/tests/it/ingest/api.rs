//! The success path of every ingest route.

use futures::StreamExt;
use herald_common::messages::{ChangeOp, EventMessage, WebhookChange};
use herald_common::subjects::WEBHOOK_CHANGES;
use herald_tests::{create_endpoint, post_raw_event, UNREACHABLE_URL, WAIT};
use serde_json::{json, Value};
use uuid::Uuid;

use super::support::*;

#[tokio::test]
async fn the_documented_calls_work_as_written() {
    let app = app().await;
    let r = app
        .api()
        .post_json(
            "/webhooks",
            &json!({"url":"https://example.com/webhook","secret":"my-secret","event_types":["order.created"]}),
        )
        .await
        .expect("create");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.value()["secret"], "my-secret");
    let webhook_id = r.uuid("id");

    let r = app
        .api()
        .get(&format!("/webhooks/{webhook_id}"))
        .await
        .expect("get");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.value();
    assert_eq!(v["url"], "https://example.com/webhook");
    assert_eq!(v["event_types"], json!(["order.created"]));
    assert!(v.get("secret").is_none());

    let body = json!({"type":"order.created","payload":{"order_id":123,"amount":99.99}});
    let r = post(app.api(), &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let event_id = r.uuid("id");
    assert_eq!(r.value()["type"], "order.created");
    expect_stream_messages(&app, 1).await;
    assert_eq!(stream_event_ids(&app).await, vec![event_id]);

    let r = app
        .api()
        .get(&format!("/events/{event_id}"))
        .await
        .expect("get event");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.value()["payload"], json!({"order_id":123,"amount":99.99}));
    assert_eq!(r.value()["deliveries"], json!([]));
}

#[tokio::test]
async fn the_payload_is_stored_and_published_byte_for_byte() {
    let app = app().await;
    let raw = r#"{"b": 1,  "a":[1, 2.50], "s":"é\u00e9"}"#;
    let id = post_raw_event(app.api(), "order.created", raw)
        .await
        .uuid("id");
    let stored: String = app
        .db()
        .query_one("SELECT payload FROM events WHERE id = $1", &[&id])
        .await
        .expect("row")
        .try_get("payload")
        .expect("payload");
    assert_eq!(stored, raw);
    expect_stream_messages(&app, 1).await;
    let js = app.jetstream();
    let stream = js.get_stream("HERALD_EVENTS").await.expect("stream");
    let msg = stream
        .get_last_raw_message_by_subject("herald.events.default.order.created")
        .await
        .expect("msg");
    let ev: EventMessage = serde_json::from_slice(&msg.payload).expect("event");
    assert_eq!(ev.payload.get(), raw);
    assert_eq!(ev.id, id);
}

/// The ids of a page's `data`.
fn page_ids(page: &Value) -> Vec<Uuid> {
    let data = page["data"].as_array().cloned().unwrap_or_default();
    data.iter()
        .map(|w| herald_tests::uuid_at(w, "id"))
        .collect()
}

#[tokio::test]
async fn endpoints_are_listed_newest_first_page_by_page() {
    let app = app().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            create_endpoint(app.api(), UNREACHABLE_URL, &["order.created"], json!({}))
                .await
                .id,
        );
    }
    let page = app.api().get("/webhooks?limit=2").await.expect("list");
    assert_eq!(page.status, 200, "{}", page.text());
    let page = page.value();
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let next = app
        .api()
        .get(&format!("/webhooks?limit=2&cursor={cursor}"))
        .await;
    let next = next.expect("page 2").value();
    assert_eq!(next["next_cursor"], Value::Null);
    let seen = [page_ids(&page), page_ids(&next)].concat();
    assert_eq!(seen, ids.into_iter().rev().collect::<Vec<_>>());
}

#[tokio::test]
async fn a_patch_disables_an_endpoint_and_another_enables_it_and_clears_its_failure() {
    let app = app().await;
    let id = create_endpoint(app.api(), UNREACHABLE_URL, &["order.created"], json!({}))
        .await
        .id;
    create_endpoint(app.api(), UNREACHABLE_URL, &["order.created"], json!({})).await;
    let path = format!("/webhooks/{id}");
    let r = app
        .api()
        .patch_json(&path, &json!({"active": false, "description": "paused"}))
        .await;
    let r = r.expect("patch");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.value()["active"], false);
    assert!(r.value()["disabled_reason"].is_string());
    let inactive = app
        .api()
        .get("/webhooks?active=false")
        .await
        .expect("filter");
    assert_eq!(page_ids(&inactive.value()), [id]);

    app.db()
        .execute(
            "UPDATE webhooks SET failing_since = now() WHERE id = $1",
            &[&id],
        )
        .await
        .expect("fail");
    let enable = json!({"active": true, "rate_limit_per_second": 5, "payload_format": "raw", "headers": {"X-Team": "a"}});
    let r = app.api().patch_json(&path, &enable).await.expect("enable");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.value();
    assert_eq!(v["active"], true);
    assert_eq!(v["disabled_reason"], Value::Null);
    assert_eq!(v["rate_limit_per_second"], 5);
    assert_eq!(
        v["description"], "paused",
        "what the patch leaves out stays"
    );
    assert_eq!(v["payload_format"], "raw");
    let row = app.endpoint_row(id).await;
    assert_eq!((row.failing_since, row.disabled_at), (None, None));
    assert_eq!(row.headers, json!({"X-Team": "a"}));
}

#[tokio::test]
async fn a_rotation_gives_a_new_secret_and_keeps_the_old_one_for_a_day() {
    let app = app().await;
    let id = create_endpoint(app.api(), UNREACHABLE_URL, &["order.created"], json!({}))
        .await
        .id;
    let before = app.endpoint_row(id).await;
    let r = rotate_secret(app.api(), id).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let secret = r.value()["secret"].as_str().unwrap_or_default().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let after = app.endpoint_row(id).await;
    assert_eq!(
        after.previous_secret_ciphertext,
        Some(before.secret_ciphertext)
    );
    let kept = after.previous_secret_expires_at.expect("an expiry");
    assert!(
        kept > chrono::Utc::now() + chrono::TimeDelta::hours(23),
        "{kept}"
    );

    let chosen = json!({"secret": "chosen-secret"});
    let r = app
        .api()
        .post_json(&format!("/webhooks/{id}/rotate-secret"), &chosen)
        .await;
    assert_eq!(r.expect("rotate again").value()["secret"], "chosen-secret");
}

#[tokio::test]
async fn every_change_of_an_endpoint_is_announced_and_a_deleted_one_is_gone() {
    let app = app().await;
    let mut changes = app
        .nats()
        .subscribe(WEBHOOK_CHANGES)
        .await
        .expect("subscribe");
    app.nats().flush().await.expect("flush");
    let id = create_endpoint(app.api(), UNREACHABLE_URL, &["order.created"], json!({}))
        .await
        .id;
    let path = format!("/webhooks/{id}");
    let r = app
        .api()
        .patch_json(&path, &json!({"description": "x"}))
        .await;
    assert_eq!(r.expect("patch").status, 200);
    assert_eq!(rotate_secret(app.api(), id).await.status, 200);
    assert_eq!(app.api().delete(&path).await.expect("delete").status, 204);
    assert_eq!(app.api().get(&path).await.expect("get").status, 404);

    let mut ops = Vec::new();
    while ops.len() < 4 {
        let msg = tokio::time::timeout(WAIT, changes.next()).await;
        let msg = msg.expect("a notice in time").expect("a notice");
        let change: WebhookChange = serde_json::from_slice(&msg.payload).expect("change");
        assert_eq!(
            (change.webhook_id, change.tenant_id.as_str()),
            (id, "default")
        );
        ops.push(change.op);
    }
    assert_eq!(
        ops.iter().filter(|op| **op == ChangeOp::Delete).count(),
        1,
        "{ops:?}"
    );
    assert_eq!(ops.last(), Some(&ChangeOp::Delete), "{ops:?}");
}

#[tokio::test]
async fn event_types_are_registered_and_usable() {
    let app = app().await;
    let r = app.api().get("/event-types").await.expect("list");
    let listed = r.value();
    let names: Vec<&str> = listed["data"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let mut installed: Vec<&str> = herald_common::operational::TYPES.to_vec();
    installed.push("webhook.test");
    installed.extend(TYPES);
    installed.sort_unstable();
    assert_eq!(names, installed, "Herald's own types and the test's");
    assert_eq!(post(app.api(), &event("invoice.paid")).await.status, 422);
    let r = app
        .api()
        .post_json(
            "/event-types",
            &json!({"name": "invoice.paid", "description": "Paid."}),
        )
        .await
        .expect("create");
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app
        .api()
        .post_json("/event-types", &json!({"name": "invoice.paid"}))
        .await
        .expect("again");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.value()["description"], "Paid.");
    assert_eq!(post(app.api(), &event("invoice.paid")).await.status, 201);
    expect_stream_messages(&app, 1).await;
}

#[tokio::test]
async fn a_batch_is_stored_and_published_whole() {
    let app = app().await;
    let events: Vec<Value> = (0..5).map(|i| json!({"type": "order.updated", "payload": {"n": i}, "idempotency_key": format!("k{i}")})).collect();
    let r = app
        .api()
        .post_json("/events/batch", &json!({"events": events}))
        .await
        .expect("batch");
    assert_eq!(r.status, 201, "{}", r.text());
    let out = r.value();
    assert_eq!(out["events"].as_array().map(Vec::len), Some(5));
    assert!(out["events"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| e["status"] == "created"));
    assert_eq!(app.count("events").await, 5);
    expect_stream_messages(&app, 5).await;
    // The same batch again: every event a duplicate, 200, nothing new.
    let r = app
        .api()
        .post_json("/events/batch", &json!({"events": events}))
        .await
        .expect("repeat");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(app.count("events").await, 5);
    expect_stream_messages(&app, 5).await;
}

#[tokio::test]
async fn health_readiness_metrics_and_the_openapi_document_answer() {
    let app = app().await;
    let anon = app.anonymous();
    assert_eq!(anon.get("/healthz").await.expect("healthz").status, 200);
    assert_eq!(anon.get("/readyz").await.expect("readyz").status, 200);
    assert_eq!(post(app.api(), &event("order.created")).await.status, 201);
    let _ = app.api().get("/webhooks/not-a-uuid").await.expect("bad id");
    let metrics = anon.get("/metrics").await.expect("metrics").text();
    assert!(metrics.contains("herald_http_requests_total"), "{metrics}");
    assert!(metrics.contains(r#"route="/events""#), "{metrics}");
    assert!(
        metrics.contains(r#"route="/webhooks/{id}""#),
        "route templates, not raw paths"
    );
    assert!(!metrics.contains("not-a-uuid"));
    assert!(metrics.contains("herald_events_ingested_total"));
    let doc = anon.get("/openapi.json").await.expect("openapi").value();
    assert!(doc["paths"]["/events"]["post"].is_object());
    let html = anon.get("/").await.expect("dashboard");
    assert_eq!(html.status, 200);
    assert!(html
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));
}
