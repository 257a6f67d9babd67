//! Replays of missed events and manual retries on a fresh retry schedule.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use herald_tests::{
    create_endpoint, post_event, uuid_at, Behavior, TestAppOptions, TestReceiver, WAIT,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::support::*;

/// The event ids the receiver got on `path`.
fn received(receiver: &TestReceiver, path: &str) -> Vec<Uuid> {
    receiver
        .requests_for(path)
        .iter()
        .map(|r| uuid_at(&r.json(), "id"))
        .collect()
}

#[tokio::test]
async fn a_replay_delivers_exactly_the_events_missed_while_disabled_and_a_second_none() {
    let app = app(TestAppOptions::new()).await;
    let receiver = TestReceiver::start().await;
    let start = Utc::now();
    let url = receiver.url("/hook");
    let hook = create_endpoint(app.api(), &url, &["order.created"], json!({}))
        .await
        .id;
    for n in 0..3 {
        post_event(app.api(), "order.created", json!({"before": n})).await;
    }
    receiver.wait_for_requests(Some("/hook"), 3, WAIT).await;

    let patch = |active: bool| {
        let api = app.api().clone();
        async move {
            let r = api
                .patch_json(&format!("/webhooks/{hook}"), &json!({"active": active}))
                .await
                .expect("patch");
            assert_eq!(r.status, 200, "{}", r.text());
        }
    };
    patch(false).await;
    let mut missed = BTreeSet::new();
    for n in 0..20 {
        missed.insert(post_event(app.api(), "order.created", json!({"missed": n})).await);
        // Not subscribed: never replayed.
        post_event(app.api(), "order.updated", json!({"other": n})).await;
    }
    app.wait_until_idle().await;
    let r = app
        .api()
        .post_json(
            &format!("/webhooks/{hook}/replay"),
            &json!({"since": start}),
        )
        .await
        .expect("replay");
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (409, "endpoint_disabled".into())
    );
    patch(true).await;

    let body = json!({"since": start, "until": Utc::now()});
    let r = app
        .api()
        .post_json(&format!("/webhooks/{hook}/replay"), &body)
        .await
        .expect("replay");
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.value()["created"], 20);
    receiver.wait_for_requests(Some("/hook"), 23, WAIT).await;
    let again = app
        .api()
        .post_json(&format!("/webhooks/{hook}/replay"), &body)
        .await
        .expect("replay");
    assert_eq!(again.value()["created"], 0, "{}", again.text());

    app.wait_until_idle().await;
    let got = received(&receiver, "/hook");
    assert_eq!(got.len(), 23, "exactly the 3 sent and the 20 missed");
    let replayed: BTreeSet<Uuid> = got[3..].iter().copied().collect();
    assert_eq!(replayed, missed);
    let log = all_pages(
        app.api(),
        "/deliveries",
        &format!("webhook_id={hook}&status=delivered"),
    )
    .await;
    assert_eq!(log.len(), 23);
}

/// The attempt log of a delivery: (attempt, started_at, duration_ms).
fn attempts(detail: &Value) -> Vec<(i64, DateTime<Utc>, i64)> {
    detail["attempt_log"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| {
            let at = a["started_at"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("time");
            (
                a["attempt"].as_i64().expect("n"),
                at,
                a["duration_ms"].as_i64().expect("ms"),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_manual_retry_of_a_failed_delivery_that_fails_again_is_retried_on_schedule() {
    // Schedule 300ms, 600ms: three attempts, then failed.
    let options = TestAppOptions::new()
        .env("HERALD_RETRY_SCHEDULE", "300ms,600ms")
        .env("HERALD_RETRY_JITTER", "0");
    let app = app(options).await;
    let receiver = TestReceiver::start().await;
    receiver.set_behavior(Behavior::status(500));
    let url = receiver.url("/down");
    create_endpoint(app.api(), &url, &["order.created"], json!({})).await;
    let event = post_event(app.api(), "order.created", json!({"n": 1})).await;
    let delivery = herald_tests::wait_for(WAIT, || async {
        let v = app
            .api()
            .get(&format!("/deliveries?event_id={event}"))
            .await
            .ok()?
            .value();
        v["data"][0]["id"]
            .as_str()
            .and_then(|s| s.parse::<Uuid>().ok())
    })
    .await
    .expect("a delivery");
    wait_for_delivery(app.api(), delivery, "failed", 3).await;

    let r = post_empty(app.api(), &format!("/deliveries/{delivery}/retry")).await;
    assert_eq!(r.status, 202, "{}", r.text());
    // The re-send fails and is retried after 300 ms, then 600 ms: six in all.
    let detail = wait_for_delivery(app.api(), delivery, "failed", 6).await;
    let log = attempts(&detail);
    assert_eq!(
        log.iter().map(|a| a.0).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    let gap = |i: usize| {
        let ended = log[i].1 + chrono::TimeDelta::milliseconds(log[i].2);
        (log[i + 1].1 - ended).num_milliseconds()
    };
    for (after, delay) in [(3, 300), (4, 600)] {
        let waited = gap(after);
        println!(
            "attempt {} came {waited} ms after attempt {} ended (schedule: {delay} ms)",
            after + 2,
            after + 1
        );
        assert!(
            waited >= delay - 20,
            "attempt {} after {waited} ms",
            after + 2
        );
    }
    assert_eq!(receiver.requests_for("/down").len(), 6);
}
