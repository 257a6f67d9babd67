//! Test events, the attempts timeline with its headers, stats and the event list.

use herald_tests::{
    create_endpoint, post_event, uuid_at, Behavior, TestAppOptions, TestReceiver, UNREACHABLE_URL,
    WAIT,
};
use serde_json::json;

use super::support::*;

#[tokio::test]
async fn a_test_event_reaches_its_endpoint_alone_and_its_attempt_shows_redacted_headers() {
    let app = app(TestAppOptions::new()).await;
    let receiver = TestReceiver::start().await;
    receiver.set_behavior(Behavior::ok().with_header("x-receiver", "yes"));
    let headers = json!({"headers": {"X-Api-Key": "k-very-secret", "X-Team": "payments"}});
    let url = receiver.url("/target");
    let target = create_endpoint(app.api(), &url, &["order.created"], headers)
        .await
        .id;
    // Another endpoint of the tenant subscribed to webhook.test gets nothing.
    let url = receiver.url("/bystander");
    let bystander = create_endpoint(app.api(), &url, &["webhook.test"], json!({}))
        .await
        .id;

    let r = post_empty(app.api(), &format!("/webhooks/{target}/test")).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let delivery = r.uuid("delivery_id");
    let detail = wait_for_delivery(app.api(), delivery, "delivered", 1).await;
    assert_eq!(detail["webhook_id"], target.to_string());
    assert_eq!(detail["event_type"], "webhook.test");

    let got = receiver.wait_for_requests(Some("/target"), 1, WAIT).await;
    assert_eq!(got[0].json()["type"], "webhook.test");
    assert_eq!(got[0].json()["data"]["webhook_id"], target.to_string());
    app.wait_until_idle().await;
    assert!(receiver.requests_for("/bystander").is_empty(), "fanned out");
    assert_eq!(receiver.request_count(), 1);

    let attempt = &detail["attempt_log"][0];
    let sent = strings(&attempt["request_headers"]);
    for secret in ["webhook-signature", "x-webhook-signature", "x-api-key"] {
        assert_eq!(
            sent.get(secret).map(String::as_str),
            Some("[redacted]"),
            "{secret}"
        );
    }
    assert_eq!(sent["x-team"], "payments");
    assert_eq!(
        sent["webhook-id"],
        detail["event_id"].as_str().unwrap_or_default()
    );
    assert_eq!(sent["x-webhook-delivery"], delivery.to_string());
    assert!(!attempt.to_string().contains("k-very-secret"));
    let received = strings(&attempt["response_headers"]);
    assert_eq!(received.get("x-receiver").map(String::as_str), Some("yes"));
    assert_eq!(attempt["status_code"], 200);
    assert_eq!(attempt["dispatcher_id"], "test-dispatcher-0");
    assert!(attempt["duration_ms"].as_i64() >= Some(0));

    // The test event is an event of the log, addressed to its endpoint.
    let events = get_ok(app.api(), "/events?type=webhook.test").await;
    assert_eq!(ids(&events), [uuid_at(&detail, "event_id")]);
    assert_eq!(events["data"][0]["target_webhook_id"], target.to_string());
    let types = get_ok(app.api(), "/event-types").await;
    assert!(types.to_string().contains("\"webhook.test\""), "{types}");

    let stats = get_ok(app.api(), &format!("/webhooks/{target}/stats")).await;
    assert_eq!(stats["last_24h"]["delivered"], 1);
    assert_eq!(stats["last_hour"]["total"], 1);
    assert_eq!(stats["last_24h"]["success_ratio"], 1.0);
    assert!(stats["last_success_at"].is_string(), "{stats}");
    assert_eq!(stats["sampled_attempts"], 1);
    assert!(stats["latency_p50_ms"].as_f64() >= Some(0.0));
    let idle = get_ok(app.api(), &format!("/webhooks/{bystander}/stats")).await;
    assert_eq!(idle["last_24h"]["total"], 0);
    assert_eq!(idle["last_24h"]["success_ratio"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_disabled_endpoint_gets_no_test_event_and_stats_say_why() {
    let app = app(TestAppOptions::new().dispatchers(0)).await;
    let id = create_endpoint(app.api(), UNREACHABLE_URL, &["order.created"], json!({}))
        .await
        .id;
    let r = app
        .api()
        .patch_json(&format!("/webhooks/{id}"), &json!({"active": false}))
        .await
        .expect("patch");
    assert_eq!(r.status, 200);
    let r = post_empty(app.api(), &format!("/webhooks/{id}/test")).await;
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (409, "endpoint_disabled".into())
    );
    let stats = get_ok(app.api(), &format!("/webhooks/{id}/stats")).await;
    assert_eq!(stats["active"], false);
    assert_eq!(stats["disabled_reason"], "disabled through the API");
}

#[tokio::test]
async fn the_event_list_filters_by_type_and_time_and_pages_newest_first() {
    let app = app(TestAppOptions::new().dispatchers(0)).await;
    let mut created = Vec::new();
    for i in 0..7 {
        let t = if i % 2 == 0 {
            "order.created"
        } else {
            "order.updated"
        };
        created.push((post_event(app.api(), t, json!({"n": i})).await, t));
    }
    let newest_first: Vec<_> = created.iter().rev().map(|(id, _)| *id).collect();
    assert_eq!(
        all_pages(app.api(), "/events", "limit=3").await,
        newest_first
    );
    let updated: Vec<_> = created
        .iter()
        .rev()
        .filter(|(_, t)| *t == "order.updated")
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(
        all_pages(app.api(), "/events", "type=order.updated&limit=2").await,
        updated
    );

    // The window: events 2..5 by the times in their ids.
    let time = |i: usize| {
        let ms = created[i].0.get_timestamp().expect("v7").to_unix();
        chrono::DateTime::from_timestamp(ms.0 as i64, ms.1).expect("time")
    };
    let (since, until) = (time(2), time(5));
    let q = format!(
        "since={}&until={}",
        since.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        until.format("%Y-%m-%dT%H:%M:%S%.3fZ")
    );
    let got = all_pages(app.api(), "/events", &q).await;
    for (i, (id, _)) in created.iter().enumerate() {
        let t = time(i);
        assert_eq!(got.contains(id), t >= since && t < until, "event {i}");
    }
    let detail = get_ok(app.api(), &format!("/events/{}", created[0].0)).await;
    assert_eq!(detail["payload"]["n"], 0);
    assert_eq!(detail["target_webhook_id"], serde_json::Value::Null);
}
