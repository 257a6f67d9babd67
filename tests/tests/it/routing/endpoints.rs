//! What `POST`/`PATCH /webhooks` accept for routing: patterns, filters
//! (400 naming the bad operator), `custom_headers`, and an unknown event
//! type's error naming the registered ones.

use serde_json::json;

use super::support::*;

#[tokio::test]
async fn endpoints_take_patterns_and_filters_and_refuse_bad_ones_clearly() {
    let app = ingest_only().await;
    let api = app.api();
    let body = |extra: serde_json::Value| {
        let mut b = json!({"url": "http://127.0.0.1:9/hook", "event_types": ["order.*"]});
        if let (Some(b), Some(e)) = (b.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        b
    };
    let cases = [
        (
            json!({"event_types": ["order.>.x"]}),
            400,
            "invalid_event_type",
            "order.>.x",
        ),
        (
            json!({"event_types": ["order*"]}),
            400,
            "invalid_event_type",
            "order*",
        ),
        (
            json!({"filter": {"amount": {"$regex": "^1"}}}),
            400,
            "invalid_filter",
            "unknown filter operator \"$regex\" at amount",
        ),
        (
            json!({"filter": {"$nor": []}}),
            400,
            "invalid_filter",
            "\"$nor\"",
        ),
        (
            json!({"filter": {"amount": {"$gte": [1]}}}),
            400,
            "invalid_filter",
            "$gte at amount",
        ),
        (json!({"filter": [1]}), 400, "invalid_filter", "JSON object"),
        (
            json!({"headers": {"X-A": "1"}, "custom_headers": {"X-B": "2"}}),
            400,
            "conflicting_fields",
            "custom_headers",
        ),
        (
            json!({"custom_headers": {"Webhook-Signature": "forged"}}),
            400,
            "reserved_header",
            "Webhook-Signature",
        ),
        (
            json!({"filter": {"a": "nul\u{0}"}}),
            400,
            "invalid_unicode",
            "\\u0000",
        ),
        (
            json!({"event_types": ["order.shipped"]}),
            422,
            "unknown_event_type",
            "\"order.shipped\" is not registered; registered event types: herald.delivery.failed, \
             herald.delivery.recovered, herald.endpoint.disabled, herald.endpoint.enabled, \
             herald.endpoint.failing, herald.endpoint.recovered, order.created, order.updated, \
             user.signed_up, webhook.test (",
        ),
    ];
    for (extra, status, want, words) in cases {
        let r = post(api, "/webhooks", &body(extra.clone())).await;
        let message = r.value()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (status, want.to_string()),
            "{extra}: {}",
            r.text()
        );
        assert!(message.contains(words), "{extra}: {message}");
    }

    // A pattern needs no registered type; a filter is kept as given.
    let filter = json!({"amount": {"$gte": 100}, "currency": {"$in": ["EUR", "USD"]}});
    let r = post(
        api,
        "/webhooks",
        &body(json!({"event_types": ["invoice.*", ">"], "filter": filter})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.value()["filter"], filter);
    assert_eq!(r.value()["event_types"], json!(["invoice.*", ">"]));
    let id = r.value()["id"].as_str().expect("id").to_string();
    let path = format!("/webhooks/{id}");
    let r = patch(api, &path, &json!({"filter": {"$not": {"x": 1}}})).await;
    assert_eq!(
        r.value()["filter"],
        json!({"$not": {"x": 1}}),
        "{}",
        r.text()
    );
    let r = patch(api, &path, &json!({"filter": {"x": {"$like": 1}}})).await;
    assert_eq!(r.error_code(), "invalid_filter");
    let r = patch(
        api,
        &path,
        &json!({"filter": null, "custom_headers": {"X-Team": "a"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        (r.value()["filter"].clone(), r.value()["headers"].clone()),
        (json!(null), json!({"X-Team": "a"}))
    );
    let r = patch(api, &path, &json!({"event_types": ["nope.nothing"]})).await;
    assert_eq!(r.error_code(), "unknown_event_type");
}
