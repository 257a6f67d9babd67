//! A replay finds the missed events the way fan-out would have routed
//! them: by wildcard and payload filter.

use chrono::{Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use herald_tests::post_event;

use super::support::{deliveries, ingest_only, post, register};

#[tokio::test]
async fn a_replay_delivers_the_missed_events_its_wildcards_and_filter_want() {
    let app = ingest_only().await;
    let api = app.api();
    register(api, &json!({"name": "order.item.added"})).await;
    let since = Utc::now() - Duration::seconds(5);
    let sent = [
        ("order.created", 150, true),
        ("order.updated", 50, false),
        ("order.item.added", 300, false),
        ("user.signed_up", 500, false),
        ("order.updated", 100, true),
    ];
    let mut wanted = Vec::new();
    for (t, amount, want) in sent {
        let id = post_event(api, t, json!({ "amount": amount })).await;
        if want {
            wanted.push(id);
        }
    }
    // Registered after the events: it never received them (no dispatcher
    // runs here either).
    let hook = post(
        api,
        "/webhooks",
        &json!({"url": "http://127.0.0.1:9/hook", "event_types": ["order.*"],
                "filter": {"amount": {"$gte": 100}}}),
    )
    .await;
    assert_eq!(hook.status, 201, "{}", hook.text());
    let id: Uuid = hook.value()["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");

    let path = format!("/webhooks/{id}/replay");
    let body = json!({ "since": since });
    let r = post(api, &path, &body).await;
    assert_eq!(
        (r.status.as_u16(), r.value()["created"].as_i64()),
        (202, Some(2)),
        "{}",
        r.text()
    );
    let rows = app
        .db()
        .query(
            "SELECT event_id FROM deliveries WHERE webhook_id = $1 ORDER BY event_id",
            &[&id],
        )
        .await
        .expect("deliveries");
    let got: Vec<Uuid> = rows
        .iter()
        .map(|r| r.try_get("event_id").expect("event_id"))
        .collect();
    assert_eq!(got, wanted);
    assert_eq!(
        post(api, &path, &body).await.value()["created"],
        0,
        "nothing twice"
    );
    assert_eq!(deliveries(&app, id).await, 2);
}
