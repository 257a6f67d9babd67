//! The success path of every ingest route.

use futures::StreamExt;
use herald_common::messages::{ChangeOp, WebhookChange};
use herald_common::subjects::WEBHOOK_CHANGES;
use herald_tests::post_raw_event;
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
    let webhook_id = id_of(&r);

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

    let r = post_event(
        app.api(),
        &json!({"type":"order.created","payload":{"order_id":123,"amount":99.99}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let event_id = id_of(&r);
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
    let id = id_of(&post_raw_event(app.api(), "order.created", raw).await);
    let stored: String = app
        .db()
        .query_one("SELECT payload FROM events WHERE id = $1", &[&id])
        .await
        .expect("row")
        .get(0);
    assert_eq!(stored, raw);
    expect_stream_messages(&app, 1).await;
    let js = app.jetstream();
    let stream = js.get_stream("HERALD_EVENTS").await.expect("stream");
    let msg = stream
        .get_last_raw_message_by_subject("herald.events.default.order.created")
        .await
        .expect("msg");
    let ev: herald_common::messages::EventMessage =
        serde_json::from_slice(&msg.payload).expect("event");
    assert_eq!(ev.payload.get(), raw);
    assert_eq!(ev.id, id);
    let marked = herald_tests::wait_until(WAIT, || async {
        let row = app
            .db()
            .query_one(
                "SELECT published_at IS NOT NULL FROM events WHERE id = $1",
                &[&id],
            )
            .await;
        row.map(|r| r.get::<_, bool>(0)).unwrap_or(false)
    })
    .await;
    assert!(marked.is_ok(), "published_at never set");
}

#[tokio::test]
async fn webhooks_are_listed_patched_rotated_and_deleted_with_change_notices() {
    let app = app().await;
    let mut changes = app
        .nats()
        .subscribe(WEBHOOK_CHANGES)
        .await
        .expect("subscribe");
    app.nats().flush().await.expect("flush");
    let ids: Vec<Uuid> =
        futures::future::join_all((0..3).map(|_| create_webhook(app.api(), &["order.created"])))
            .await;

    // Pagination: newest first, 2 + 1.
    let r = app.api().get("/webhooks?limit=2").await.expect("list");
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.value();
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    let cursor = page["next_cursor"].as_str().expect("cursor").to_string();
    let r = app
        .api()
        .get(&format!("/webhooks?limit=2&cursor={cursor}"))
        .await
        .expect("page 2");
    let page2 = r.value();
    assert_eq!(page2["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(page2["next_cursor"], Value::Null);
    let mut seen: Vec<String> = page["data"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(page2["data"].as_array().into_iter().flatten())
        .map(|w| w["id"].as_str().unwrap_or_default().to_string())
        .collect();
    seen.sort();
    let mut want: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    want.sort();
    assert_eq!(seen, want);

    // Disable, list by filter, re-enable.
    let id = ids[0];
    let r = app
        .api()
        .patch_json(
            &format!("/webhooks/{id}"),
            &json!({"active": false, "description": "paused"}),
        )
        .await
        .expect("patch");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.value()["active"], false);
    assert!(r.value()["disabled_reason"].is_string());
    let r = app
        .api()
        .get("/webhooks?active=false")
        .await
        .expect("filter");
    assert_eq!(r.value()["data"].as_array().map(Vec::len), Some(1));
    app.db()
        .execute(
            "UPDATE webhooks SET failing_since = now(), disabled_reason = 'gone' WHERE id = $1",
            &[&id],
        )
        .await
        .expect("fail");
    let r = app.api().patch_json(&format!("/webhooks/{id}"), &json!({"active": true, "rate_limit_per_second": 5, "payload_format": "raw", "headers": {"X-Team": "a"}})).await.expect("enable");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.value();
    assert_eq!(
        (
            v["active"].clone(),
            v["disabled_reason"].clone(),
            v["rate_limit_per_second"].clone()
        ),
        (json!(true), Value::Null, json!(5))
    );
    assert_eq!(v["description"], "paused");
    assert_eq!(v["payload_format"], "raw");
    let row = app.db().query_one("SELECT failing_since IS NULL, disabled_at IS NULL, headers FROM webhooks WHERE id = $1", &[&id]).await.expect("row");
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1));
    assert_eq!(row.get::<_, Value>(2), json!({"X-Team": "a"}));

    // Rotate: a new secret, the old ciphertext kept for the grace period.
    let before: Vec<u8> = app
        .db()
        .query_one(
            "SELECT secret_ciphertext FROM webhooks WHERE id = $1",
            &[&id],
        )
        .await
        .expect("row")
        .get(0);
    let r = rotate_secret(app.api(), id).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.value()["secret"]
        .as_str()
        .is_some_and(|s| s.starts_with("whsec_")));
    let row = app.db().query_one("SELECT previous_secret_ciphertext, previous_secret_expires_at > now() + interval '23 hours' FROM webhooks WHERE id = $1", &[&id]).await.expect("row");
    assert_eq!(row.get::<_, Option<Vec<u8>>>(0), Some(before));
    assert!(row.get::<_, bool>(1));
    let r = app
        .api()
        .post_json(
            &format!("/webhooks/{id}/rotate-secret"),
            &json!({"secret": "chosen-secret"}),
        )
        .await
        .expect("rotate 2");
    assert_eq!(r.value()["secret"], "chosen-secret");

    let r = app
        .api()
        .delete(&format!("/webhooks/{id}"))
        .await
        .expect("delete");
    assert_eq!(r.status, 204);
    assert_eq!(
        app.api()
            .get(&format!("/webhooks/{id}"))
            .await
            .expect("get")
            .status,
        404
    );

    // 3 creates, 2 patches, 2 rotations, 1 delete: 8 notices.
    let mut got = Vec::new();
    while got.len() < 8 {
        let msg = tokio::time::timeout(WAIT, changes.next())
            .await
            .expect("notice in time")
            .expect("notice");
        got.push(serde_json::from_slice::<WebhookChange>(&msg.payload).expect("change"));
    }
    assert_eq!(got.iter().filter(|c| c.op == ChangeOp::Delete).count(), 1);
    assert!(got
        .iter()
        .all(|c| c.tenant_id == "default" && ids.contains(&c.webhook_id)));
}

#[tokio::test]
async fn event_types_are_registered_and_usable() {
    let app = app().await;
    let r = app.api().get("/event-types").await.expect("list");
    let names: Vec<String> = r.value()["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut installed: Vec<&str> = herald_common::operational::TYPES.to_vec();
    installed.extend([
        "order.created",
        "order.updated",
        "user.signed_up",
        "webhook.test",
    ]);
    installed.sort_unstable();
    assert_eq!(
        names, installed,
        "the seeded types, webhook.test and Herald's operational ones"
    );
    assert_eq!(
        post_event(app.api(), &event("invoice.paid")).await.status,
        422
    );
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
    assert_eq!(
        post_event(app.api(), &event("invoice.paid")).await.status,
        201
    );
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
    assert_eq!(count(&app, "events").await, 5);
    expect_stream_messages(&app, 5).await;
    // The same batch again: every event a duplicate, 200, nothing new.
    let r = app
        .api()
        .post_json("/events/batch", &json!({"events": events}))
        .await
        .expect("repeat");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(count(&app, "events").await, 5);
    expect_stream_messages(&app, 5).await;
}

#[tokio::test]
async fn health_readiness_metrics_and_the_openapi_document_answer() {
    let app = app().await;
    let anon = app.anonymous();
    assert_eq!(anon.get("/healthz").await.expect("healthz").status, 200);
    assert_eq!(anon.get("/readyz").await.expect("readyz").status, 200);
    assert_eq!(
        post_event(app.api(), &event("order.created")).await.status,
        201
    );
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
