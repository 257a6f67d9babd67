//! The event type catalogue through the API: schemas checked on every new
//! event (one or a batch), archiving, the paged list, and a change made by
//! another node reaching this one's cache.

use herald_ingest::store::cache::TYPE_TTL;
use herald_tests::tenant_with_key;
use serde_json::{json, Value};

use super::support::*;

fn invoice_schema() -> Value {
    json!({
        "type": "object",
        "required": ["invoice_id", "amount"],
        "properties": {
            "invoice_id": {"type": "string"},
            "amount": {"type": "number", "minimum": 0}
        }
    })
}

#[tokio::test]
async fn a_schema_rejects_a_bad_payload_with_its_pointer_and_accepts_a_good_one() {
    let app = ingest_only().await;
    let api = app.api();
    register(
        api,
        &json!({"name": "invoice.paid", "description": "Paid.", "schema": invoice_schema()}),
    )
    .await;

    let bad = json!({"type": "invoice.paid", "payload": {"invoice_id": "in_1", "amount": -5}});
    let r = post(api, "/events", &bad).await;
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (422, "schema_violation".into()),
        "{}",
        r.text()
    );
    let error = &r.value()["error"];
    assert_eq!(error["pointer"], "/payload/amount");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("\"/amount\"") && message.contains("minimum of 0"),
        "{message}"
    );
    assert_eq!(app.count("events").await, 0, "nothing stored");

    let good = json!({"type": "invoice.paid", "payload": {"invoice_id": "in_1", "amount": 12.5}});
    assert_eq!(post(api, "/events", &good).await.status, 201);
    assert_eq!(app.count("events").await, 1);

    // A batch: the second item lacks a required property; nothing stored.
    let batch = json!({"events": [good, {"type": "invoice.paid", "payload": {"amount": 1}}]});
    let r = post(api, "/events/batch", &batch).await;
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (422, "schema_violation".into()),
        "{}",
        r.text()
    );
    assert_eq!(r.value()["error"]["pointer"], "/events/1/payload");
    let message = r.value()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.starts_with("events[1]: ") && message.contains("invoice_id"),
        "{message}"
    );
    assert_eq!(app.count("events").await, 1, "nothing of the batch stored");
    let fixed = json!({"events": [good, good]});
    assert_eq!(post(api, "/events/batch", &fixed).await.status, 201);
    assert_eq!(app.count("events").await, 3);

    // Removing the schema takes effect at once on this node.
    let r = patch(api, "/event-types/invoice.paid", &json!({"schema": null})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.value()["schema"], Value::Null);
    assert_eq!(post(api, "/events", &bad).await.status, 201);
}

#[tokio::test]
async fn an_archived_type_refuses_new_events_and_keeps_subscriptions_and_history() {
    let app = ingest_only().await;
    let api = app.api();
    let hook = post(
        api,
        "/webhooks",
        &json!({"url": "http://127.0.0.1:9/hook", "event_types": ["order.updated"]}),
    )
    .await;
    assert_eq!(hook.status, 201, "{}", hook.text());
    let hook_id = hook.value()["id"].as_str().expect("id").to_string();
    let event = json!({"type": "order.updated", "payload": {"order_id": 1}});
    let first = post(api, "/events", &event).await;
    assert_eq!(first.status, 201);
    let first_id = first.value()["id"].as_str().expect("id").to_string();

    let r = api
        .delete("/event-types/order.updated")
        .await
        .expect("archive");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        (
            r.value()["archived"].as_bool(),
            r.value()["archived_at"].is_string()
        ),
        (Some(true), true)
    );
    let r = post(api, "/events", &event).await;
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (422, "event_type_archived".into()),
        "{}",
        r.text()
    );
    let r = post(
        api,
        "/events/batch",
        &json!({"events": [{"type": "order.created", "payload": {}}, event]}),
    )
    .await;
    assert_eq!(r.error_code(), "event_type_archived");
    assert!(r.value()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("events[1]: "));
    assert_eq!(
        app.count("events").await,
        1,
        "only the event accepted before"
    );

    // Its subscription and its history stay; the list hides it unless asked.
    let w = api
        .get(&format!("/webhooks/{hook_id}"))
        .await
        .expect("webhook")
        .value();
    assert_eq!(w["event_types"], json!(["order.updated"]));
    assert_eq!(
        api.get(&format!("/events/{first_id}"))
            .await
            .expect("event")
            .status,
        200
    );
    let names = |v: Value| -> Vec<String> {
        v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["name"].as_str().unwrap_or_default().to_string())
            .filter(|n| !n.starts_with("herald."))
            .collect()
    };
    let listed = names(api.get("/event-types").await.expect("list").value());
    assert_eq!(listed, ["order.created", "user.signed_up", "webhook.test"]);
    let all = names(
        api.get("/event-types?include_archived=true")
            .await
            .expect("list")
            .value(),
    );
    assert_eq!(
        all,
        [
            "order.created",
            "order.updated",
            "user.signed_up",
            "webhook.test"
        ]
    );
    assert_eq!(
        api.get("/event-types/order.updated")
            .await
            .expect("get")
            .value()["archived"],
        true
    );

    let r = patch(
        api,
        "/event-types/order.updated",
        &json!({"archived": false}),
    )
    .await;
    assert_eq!(r.value()["archived"], false);
    assert_eq!(post(api, "/events", &event).await.status, 201);
}

#[tokio::test]
async fn the_catalogue_is_listed_by_page_and_changed_only_by_the_admin() {
    let app = ingest_only().await;
    let api = app.api();
    for name in ["order.item.added", "invoice.paid"] {
        register(api, &json!({"name": name})).await;
    }
    // Page by page, two at a time, in name order.
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/event-types?limit=2".to_string();
    loop {
        let page = api.get(&path).await.expect("page").value();
        for entry in page["data"].as_array().into_iter().flatten() {
            assert!(
                entry["id"]
                    .as_str()
                    .is_some_and(|id| id.parse::<uuid::Uuid>().is_ok())
                    && entry["description"].is_string()
                    && entry["deprecated"] == false,
                "{entry}"
            );
            seen.push(entry["name"].as_str().unwrap_or_default().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/event-types?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut want: Vec<String> = herald_common::operational::TYPES
        .iter()
        .chain(&["invoice.paid", "order.created", "order.item.added"])
        .chain(&["order.updated", "user.signed_up", "webhook.test"])
        .map(|s| s.to_string())
        .collect();
    want.sort();
    assert_eq!(seen, want);
    let prefixed = api
        .get("/event-types?prefix=order.")
        .await
        .expect("prefix")
        .value();
    assert_eq!(prefixed["data"].as_array().map(Vec::len), Some(3));
    assert_eq!(prefixed["next_cursor"], Value::Null);
    assert_eq!(
        api.get("/event-types?cursor=!!")
            .await
            .expect("bad")
            .error_code(),
        "invalid_cursor"
    );

    let r = patch(
        api,
        "/event-types/invoice.paid",
        &json!({"deprecated": true, "description": "Use invoice.settled."}),
    )
    .await;
    assert_eq!(
        (
            r.value()["deprecated"].as_bool(),
            r.value()["description"].as_str()
        ),
        (Some(true), Some("Use invoice.settled."))
    );
    let r = patch(
        api,
        "/event-types/invoice.paid",
        &json!({"schema": {"type": "nonsense"}}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (400, "invalid_schema".into())
    );
    let r = patch(
        api,
        "/event-types/invoice.paid",
        &json!({"schema": {"$ref": "https://example.com/s.json"}}),
    )
    .await;
    assert_eq!(r.error_code(), "invalid_schema", "no schema loads anything");
    let r = post(
        api,
        "/event-types",
        &json!({"name": "a.b", "description": "nul\u{0}"}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (400, "invalid_unicode".into()),
        "never a 500"
    );
    let r = api
        .delete("/event-types/herald.endpoint.disabled")
        .await
        .expect("reserved");
    assert_eq!(
        r.error_code(),
        "reserved_event_type",
        "Herald's own types stay"
    );
    // A producer's unknown type names the types it may send.
    let r = post(
        api,
        "/events",
        &json!({"type": "order.shiped", "payload": {}}),
    )
    .await;
    let message = r.value()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("registered event types: invoice.paid, order.created, order.item.added, order.updated, user.signed_up, webhook.test ("),
        "{message}"
    );
    assert_eq!(
        api.get("/event-types/no.such").await.expect("404").status,
        404
    );
    assert_eq!(
        api.delete("/event-types/a..b")
            .await
            .expect("400")
            .error_code(),
        "invalid_event_type"
    );

    let (tenant, _) = tenant_with_key(api, "acme").await;
    assert_eq!(
        tenant
            .get("/event-types/invoice.paid")
            .await
            .expect("read")
            .status,
        200
    );
    assert_eq!(
        tenant
            .delete("/event-types/invoice.paid")
            .await
            .expect("archive")
            .status,
        403
    );
    let r = patch(
        &tenant,
        "/event-types/invoice.paid",
        &json!({"deprecated": false}),
    )
    .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn a_change_made_through_another_node_is_seen_within_the_cache_ttl() {
    let app = ingest_only().await;
    let api = app.api();
    let event = json!({"type": "order.created", "payload": {"order_id": 1}});
    assert_eq!(
        post(api, "/events", &event).await.status,
        201,
        "the type is now cached"
    );
    // What another ingest node's PATCH writes.
    app.db()
        .execute(
            "UPDATE event_types SET schema = $1, updated_at = now() WHERE name = 'order.created'",
            &[&json!({"required": ["customer_id"]})],
        )
        .await
        .expect("update");
    let seen = herald_tests::wait_until(TYPE_TTL * 3, || async {
        post(api, "/events", &event).await.status == 422
    })
    .await;
    assert!(
        seen.is_ok(),
        "the new schema was not applied within {:?}",
        TYPE_TTL * 3
    );
    let r = post(
        api,
        "/events",
        &json!({"type": "order.created", "payload": {"customer_id": 7}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
}
