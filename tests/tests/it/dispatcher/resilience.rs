//! Dispatchers as real processes: SIGTERM drains without losing anything,
//! two replicas share the work, and `kill -9` of one loses nothing.

use std::collections::HashSet;
use std::time::Duration;

use herald_tests::{
    create_endpoint, post_events, Behavior, Endpoint, TestApp, TestAppOptions, TestReceiver, WAIT,
};
use serde_json::json;
use uuid::Uuid;

use super::support::*;

const PATHS: [&str; 2] = ["/one", "/two"];

/// An app whose jobs come back quickly after a crash (5 s ack wait), with two
/// endpoints on `order.created` that answer after 10 ms.
async fn setup() -> (TestApp, TestReceiver, Vec<Endpoint>) {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior(Behavior::delay(Duration::from_millis(10)));
    let app = app(TestAppOptions::new().env("HERALD_ACK_WAIT", "5s")).await;
    let mut endpoints = Vec::new();
    for path in PATHS {
        endpoints.push(
            create_endpoint(
                app.api(),
                &receiver.url(path),
                &["order.created"],
                json!({}),
            )
            .await,
        );
    }
    (app, receiver, endpoints)
}

/// Every event reached every endpoint; returns the duplicate count.
async fn everything_arrived(
    app: &TestApp,
    receiver: &TestReceiver,
    endpoints: &[Endpoint],
    events: &[Uuid],
) -> usize {
    for e in endpoints {
        app.wait_for_deliveries(e.id, "delivered", events.len() as i64)
            .await;
    }
    let want: HashSet<Uuid> = events.iter().copied().collect();
    let mut dups = 0;
    for path in PATHS {
        let got = receiver.requests_for(path);
        assert_eq!(
            event_ids(&got).into_iter().collect::<HashSet<_>>(),
            want,
            "{path} is missing events"
        );
        dups += duplicates(&got);
    }
    dups
}

#[tokio::test]
async fn sigterm_under_load_drains_in_flight_work_and_loses_nothing() {
    let (app, receiver, endpoints) = setup().await;
    let mut first = dispatcher(&app, "first").await;
    let events = post_events(app.api(), "order.created", 500, "term").await;
    receiver.wait_for_requests(None, 100, WAIT).await;

    first.sigterm();
    let status = first.wait(Duration::from_secs(60)).await.expect("exited");
    assert!(status.success(), "exit status {status:?}:\n{}", first.log());
    // Nothing runs now: every request the receiver saw was recorded as an attempt.
    let (sent, recorded) = (
        receiver.request_count(),
        app.count("delivery_attempts").await,
    );
    assert_eq!(
        recorded as usize, sent,
        "attempts recorded vs requests received at shutdown"
    );
    assert!(
        sent < 2 * events.len(),
        "the load was not over when SIGTERM arrived"
    );

    let _second = dispatcher(&app, "second").await;
    let dups = everything_arrived(&app, &receiver, &endpoints, &events).await;
    assert_eq!(
        app.count("delivery_attempts").await as usize,
        receiver.request_count(),
        "an attempt is missing from the log"
    );
    println!(
        "sigterm: {sent} of {} requests sent before SIGTERM, exit 0; {dups} duplicates",
        2 * events.len()
    );
}

#[tokio::test]
async fn two_dispatchers_share_the_work_and_kill_9_of_one_loses_nothing() {
    let (app, receiver, endpoints) = setup().await;
    let mut victim = dispatcher(&app, "victim").await;
    let _survivor = dispatcher(&app, "survivor").await;
    let events = post_events(app.api(), "order.created", 600, "kill").await;

    let shared = herald_tests::wait_until(WAIT, || async {
        let by = attempts_by_dispatcher(&app).await;
        by.get("victim").copied().unwrap_or(0) > 50 && by.get("survivor").copied().unwrap_or(0) > 50
    })
    .await;
    assert!(
        shared.is_ok(),
        "both dispatchers should deliver: {:?}",
        attempts_by_dispatcher(&app).await
    );
    victim.kill9();
    let at_kill = receiver.request_count();

    let dups = everything_arrived(&app, &receiver, &endpoints, &events).await;
    let by = attempts_by_dispatcher(&app).await;
    println!(
        "kill -9: attempts by dispatcher {by:?}; {at_kill} of {} requests sent at the kill; {dups} duplicates",
        2 * events.len()
    );
    assert!(
        at_kill < 2 * events.len(),
        "the load was over before the kill"
    );
}
