//! Retries with backoff (schedule in milliseconds), failure after the last
//! attempt, and `410 Gone`.

use herald_tests::{Behavior, TestAppOptions, TestReceiver};
use serde_json::json;
use uuid::Uuid;

use super::support::*;

/// (attempt, status code, error) of a delivery's attempts, in order.
async fn attempts(
    app: &herald_tests::TestApp,
    webhook: Uuid,
) -> Vec<(i32, Option<i32>, Option<String>)> {
    app.db()
        .query(
            "SELECT a.attempt, a.status_code, a.error FROM delivery_attempts a
             JOIN deliveries d ON d.id = a.delivery_id
             WHERE d.webhook_id = $1 ORDER BY a.started_at",
            &[&webhook],
        )
        .await
        .expect("attempts")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn a_flaky_endpoint_is_retried_until_delivered_and_a_dead_one_fails_after_the_last_attempt() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/flaky", Behavior::fail_first(3, 500));
    receiver.set_behavior_for("/dead", Behavior::status(503));
    // The test schedule is 50ms,100ms,200ms: four attempts in all.
    let mut app = app(TestAppOptions::new()).await;
    let flaky = endpoint(
        app.api(),
        receiver.url("/flaky"),
        &["order.created"],
        json!({}),
    )
    .await;
    let dead = endpoint(
        app.api(),
        receiver.url("/dead"),
        &["user.signed_up"],
        json!({}),
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher");
    let order = post_events(app.api(), "order.created", 1, "flaky").await[0];
    post_events(app.api(), "user.signed_up", 1, "dead").await;

    wait_status(&app, flaky.id, "delivered", 1).await;
    let tries = attempts(&app, flaky.id).await;
    let numbers: Vec<i32> = tries.iter().map(|t| t.0).collect();
    let codes: Vec<Option<i32>> = tries.iter().map(|t| t.1).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert_eq!(codes, [Some(500), Some(500), Some(500), Some(200)]);
    assert_eq!(tries[0].2.as_deref(), Some("HTTP 500"));
    let requests = receiver.requests_for("/flaky");
    assert_eq!(requests.len(), 4);
    assert!(
        event_ids(&requests).iter().all(|id| *id == order),
        "same webhook-id on every try"
    );
    let row = app
        .db()
        .query_one(
            "SELECT attempts, last_status_code, last_error, next_retry_at IS NULL, delivered_at IS NOT NULL
             FROM deliveries WHERE webhook_id = $1",
            &[&flaky.id],
        )
        .await
        .expect("delivery");
    assert_eq!(row.get::<_, i32>(0), 4);
    assert_eq!(row.get::<_, Option<i32>>(1), Some(200));
    assert_eq!(row.get::<_, Option<String>>(2), None);
    assert!(row.get::<_, bool>(3) && row.get::<_, bool>(4));

    wait_status(&app, dead.id, "failed", 1).await;
    let tries = attempts(&app, dead.id).await;
    assert_eq!(tries.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(tries.iter().all(|t| t.1 == Some(503)));
    let row = app
        .db()
        .query_one(
            "SELECT attempts, last_error, next_retry_at IS NULL FROM deliveries WHERE webhook_id = $1",
            &[&dead.id],
        )
        .await
        .expect("delivery");
    assert_eq!(row.get::<_, i32>(0), 4);
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("HTTP 503"));
    assert!(row.get::<_, bool>(2));
    // The failing endpoint is marked as such; the healthy one is not.
    let failing: Vec<(Uuid, bool)> = app
        .db()
        .query("SELECT id, failing_since IS NOT NULL FROM webhooks", &[])
        .await
        .expect("webhooks")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        failing.contains(&(dead.id, true)) && failing.contains(&(flaky.id, false)),
        "{failing:?}"
    );
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_fails_the_delivery_without_retrying() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/gone", Behavior::status(410));
    let mut app = app(TestAppOptions::new()).await;
    let gone = endpoint(
        app.api(),
        receiver.url("/gone"),
        &["order.created"],
        json!({}),
    )
    .await;
    let fine = endpoint(
        app.api(),
        receiver.url("/fine"),
        &["order.created"],
        json!({}),
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "order.created", 1, "first").await;

    wait_status(&app, gone.id, "failed", 1).await;
    wait_status(&app, fine.id, "delivered", 1).await;
    let row = app
        .db()
        .query_one(
            "SELECT active, disabled_reason, disabled_at IS NOT NULL FROM webhooks WHERE id = $1",
            &[&gone.id],
        )
        .await
        .expect("webhook");
    assert!(!row.get::<_, bool>(0), "410 disables the endpoint");
    assert!(row
        .get::<_, Option<String>>(1)
        .is_some_and(|r| r.contains("410")));
    assert!(row.get::<_, bool>(2));
    assert_eq!(attempts(&app, gone.id).await.len(), 1, "no retry after 410");
    let r = app
        .api()
        .get(&format!("/webhooks/{}", gone.id))
        .await
        .expect("GET");
    assert_eq!(r.value()["active"], false, "{}", r.text());

    // Later events no longer reach it, while the other endpoint still gets them.
    post_events(app.api(), "order.created", 3, "later").await;
    wait_status(&app, fine.id, "delivered", 4).await;
    assert_eq!(receiver.requests_for("/gone").len(), 1);
}

#[tokio::test]
async fn an_endpoint_failing_for_longer_than_the_threshold_is_disabled_with_a_reason() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/down", Behavior::status(500));
    let mut app = app(TestAppOptions::new()
        .env("HERALD_AUTO_DISABLE_AFTER", "1s")
        .env("HERALD_RETRY_SCHEDULE", "1m"))
    .await;
    let down = endpoint(
        app.api(),
        receiver.url("/down"),
        &["order.created"],
        json!({}),
    )
    .await;
    let up = endpoint(
        app.api(),
        receiver.url("/up"),
        &["order.created"],
        json!({}),
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "order.created", 1, "x").await;
    wait_status(&app, up.id, "delivered", 1).await;

    let disabled = herald_tests::wait_until(WAIT, || async {
        let row = app
            .db()
            .query_one("SELECT active FROM webhooks WHERE id = $1", &[&down.id])
            .await;
        row.map(|r| !r.get::<_, bool>(0)).unwrap_or(false)
    })
    .await;
    assert!(
        disabled.is_ok(),
        "the failing endpoint was not auto-disabled"
    );
    let reason: Option<String> = app
        .db()
        .query_one(
            "SELECT disabled_reason FROM webhooks WHERE id = $1",
            &[&down.id],
        )
        .await
        .expect("webhook")
        .get(0);
    assert!(
        reason
            .as_deref()
            .is_some_and(|r| r.contains("failed for more than 1s")),
        "{reason:?}"
    );
    let up_active: bool = app
        .db()
        .query_one("SELECT active FROM webhooks WHERE id = $1", &[&up.id])
        .await
        .expect("webhook")
        .get(0);
    assert!(up_active, "a healthy endpoint stays active");

    // Re-enabling is an API call; the endpoint receives events again.
    receiver.set_behavior_for("/down", Behavior::ok());
    let r = app
        .api()
        .patch_json(&format!("/webhooks/{}", down.id), &json!({"active": true}))
        .await
        .expect("PATCH");
    assert_eq!(r.status, 200, "{}", r.text());
    wait_active_endpoints(&app, 0, 2).await;
    post_events(app.api(), "order.created", 1, "y").await;
    wait_status(&app, down.id, "delivered", 1).await;
}

#[tokio::test]
async fn retry_after_is_honoured_and_response_bodies_are_cut_to_the_limit() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for(
        "/busy",
        Behavior::fail_first(1, 429)
            .with_header("retry-after", "2")
            .with_body("x".repeat(5000)),
    );
    let mut app = app(TestAppOptions::new()).await;
    let busy = endpoint(
        app.api(),
        receiver.url("/busy"),
        &["order.created"],
        json!({}),
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "order.created", 1, "busy").await;
    wait_status(&app, busy.id, "delivered", 1).await;

    let rows = app
        .db()
        .query(
            "SELECT a.status_code, length(a.response_body), a.started_at FROM delivery_attempts a
             JOIN deliveries d ON d.id = a.delivery_id WHERE d.webhook_id = $1 ORDER BY a.attempt",
            &[&busy.id],
        )
        .await
        .expect("attempts");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<_, Option<i32>>(0), Some(429));
    for r in &rows {
        assert_eq!(
            r.get::<_, Option<i32>>(1),
            Some(1024),
            "HERALD_RESPONSE_BODY_LIMIT is 1 KiB"
        );
    }
    let first: chrono::DateTime<chrono::Utc> = rows[0].get(2);
    let second: chrono::DateTime<chrono::Utc> = rows[1].get(2);
    // The schedule says 50 ms; the endpoint asked for 2 s.
    assert!(
        second - first >= chrono::Duration::milliseconds(1900),
        "retried after {}",
        second - first
    );
}
