//! No accepted event is lost: NATS down, ingest killed between commit and
//! publish; and idempotency under concurrency.

use std::collections::HashSet;
use std::time::Duration;

use herald_ingest::pipeline::outbox::Round;
use herald_tests::{post_event, TestApp, TestAppOptions, UNREACHABLE_URL, WAIT};
use serde_json::json;
use uuid::Uuid;

use super::support::*;

#[tokio::test]
async fn events_accepted_while_nats_is_down_reach_the_stream_exactly_once() {
    let mut app = app().await;
    app.nats_server().expect("private nats").stop().await;

    let mut ids = Vec::new();
    for i in 0..100 {
        ids.push(post_event(app.api(), "order.created", json!({"n": i})).await);
    }
    assert_eq!(
        app.anonymous().get("/readyz").await.expect("readyz").status,
        503
    );
    assert_eq!(app.count("events WHERE published_at IS NULL").await, 100);

    app.nats_server()
        .expect("private nats")
        .restart()
        .await
        .expect("restart");
    expect_stream_messages(&app, 100).await;
    let in_stream = stream_event_ids(&app).await;
    assert_eq!(in_stream.len(), 100);
    let unique: HashSet<Uuid> = in_stream.iter().copied().collect();
    assert_eq!(unique, ids.iter().copied().collect::<HashSet<_>>());
    // Relayed in creation order.
    assert_eq!(in_stream, ids);
    let ready = herald_tests::wait_until(WAIT, || async {
        app.anonymous()
            .get("/readyz")
            .await
            .map(|r| r.status == 200)
            .unwrap_or(false)
    })
    .await;
    assert!(ready.is_ok(), "not ready after NATS came back");
}

#[tokio::test]
async fn the_relay_publishes_events_committed_but_never_published() {
    let app = app().await;
    let ids = insert_unpublished(&app, 30, 60.0).await;
    expect_stream_messages(&app, 30).await;
    assert_eq!(stream_event_ids(&app).await, ids, "in creation order");
    let metrics = app
        .anonymous()
        .get("/metrics")
        .await
        .expect("metrics")
        .text();
    assert!(metrics.contains("herald_outbox_pending"), "{metrics}");
}

/// The relay driven round by round with no ingest running (so no timer and
/// no fast path): a round publishes the due events in creation order and
/// marks them; younger events wait for the grace period.
#[tokio::test]
async fn a_relay_round_publishes_due_events_in_order_and_leaves_young_ones() {
    let options = TestAppOptions::new().dispatchers(0).without_ingest();
    let app = TestApp::spawn(options.event_types(&TYPES)).await;
    let due = insert_unpublished(&app, 5, 60.0).await;
    let young = insert_unpublished(&app, 2, 0.0).await;
    let mut outbox = app.outbox();
    outbox.grace = Duration::from_secs(30);

    let round = outbox.step().await.expect("first round");
    assert_eq!(
        round,
        Round {
            claimed: 5,
            published: 5
        }
    );
    assert_eq!(stream_event_ids(&app).await, due, "in creation order");
    assert_eq!(app.count("events WHERE published_at IS NULL").await, 2);
    let round = outbox.step().await.expect("second round");
    assert_eq!(round, Round::default(), "the young events are not due yet");

    outbox.grace = Duration::ZERO;
    let round = outbox.step().await.expect("third round");
    assert_eq!(
        round,
        Round {
            claimed: 2,
            published: 2
        }
    );
    assert_eq!(stream_event_ids(&app).await[5..], young[..]);
    assert_eq!(app.count("events WHERE published_at IS NULL").await, 0);
}

#[tokio::test]
async fn a_repeated_idempotency_key_gives_one_event_and_one_message() {
    let app = app().await;
    let body =
        json!({"type": "order.created", "payload": {"order_id": 1}, "idempotency_key": "order-1"});
    let responses = futures::future::join_all((0..20).map(|_| post(app.api(), &body))).await;
    let created = responses.iter().filter(|r| r.status == 201).count();
    let repeats = responses.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        (created, repeats),
        (1, 19),
        "{:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let ids: HashSet<Uuid> = responses.iter().map(|r| r.uuid("id")).collect();
    assert_eq!(ids.len(), 1, "every answer names the first event");
    assert_eq!(app.count("events").await, 1);
    expect_stream_messages(&app, 1).await;

    // The header works the same; a different payload is a conflict and
    // changes nothing either.
    let r = app
        .api()
        .send(
            http::Method::POST,
            "/events",
            &[
                ("content-type", "application/json"),
                ("idempotency-key", "order-1"),
            ],
            json!({"type": "order.created", "payload": {"other": true}}).to_string(),
        )
        .await
        .expect("header");
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.error_code(), "idempotency_conflict");
    assert_eq!(app.count("events").await, 1);
    expect_stream_messages(&app, 1).await;
}

#[tokio::test]
async fn concurrent_events_are_all_stored_and_published() {
    let app = app().await;
    let responses = futures::future::join_all((0..300).map(|i| {
        let body = json!({"type": "user.signed_up", "payload": {"n": i}});
        let api = app.api().clone();
        async move { post(&api, &body).await }
    }))
    .await;
    assert!(responses.iter().all(|r| r.status == 201));
    assert_eq!(app.count("events").await, 300);
    expect_stream_messages(&app, 300).await;
}

#[tokio::test]
async fn writes_answer_503_while_postgres_refuses_connections_and_recover_after() {
    let app = app().await;
    post_event(app.api(), "order.created", json!({"n": 1})).await;
    let name = app.test_db().name().to_string();
    // ALTER DATABASE cannot target the database it runs in.
    let other_url = app
        .test_db()
        .url()
        .replacen(&format!("/{name}"), "/postgres", 1);
    let admin = herald_common::db::connect(&other_url)
        .await
        .expect("connect to postgres");
    let db = app.db();
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
        ))
        .await
        .expect("refuse connections");
    db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
        &[],
    )
    .await
    .expect("terminate");

    for _ in 0..3 {
        let r = post(app.api(), &event("order.created")).await;
        assert_eq!(
            (r.status.as_u16(), r.error_code().as_str()),
            (503, "unavailable"),
            "{}",
            r.text()
        );
    }
    let r = app
        .api()
        .post_json(
            "/webhooks",
            &json!({"url": UNREACHABLE_URL, "event_types": ["order.created"]}),
        )
        .await
        .expect("create");
    assert_eq!(
        (r.status.as_u16(), r.error_code().as_str()),
        (503, "unavailable"),
        "{}",
        r.text()
    );
    assert_eq!(
        app.anonymous().get("/readyz").await.expect("readyz").status,
        503
    );
    assert_eq!(app.count("events").await, 1);
    assert_eq!(app.count("webhooks").await, 0);

    admin
        .batch_execute(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .await
        .expect("allow connections");
    let back = herald_tests::wait_until(WAIT, || async {
        post(app.api(), &event("order.created")).await.status == 201
    })
    .await;
    assert!(back.is_ok(), "ingest did not recover");
    expect_stream_messages(&app, 2).await;
}
