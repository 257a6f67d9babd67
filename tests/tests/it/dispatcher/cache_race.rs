//! An endpoint registered (or re-enabled) a moment before an event gets that
//! event, even though the dispatchers' endpoint caches hear of the change
//! only through a notice: fan-out resolves subscribers from Postgres, and a
//! dispatcher whose cache is older than the job re-reads the endpoint.

use std::collections::HashSet;

use herald_tests::{create_endpoint, TestAppOptions, TestReceiver, WAIT};
use serde_json::json;
use uuid::Uuid;

use super::support::*;

const ROUNDS: usize = 50;

#[tokio::test]
async fn an_endpoint_created_just_before_an_event_receives_it() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    app.start_dispatcher().await.expect("dispatcher 0");
    app.start_dispatcher().await.expect("dispatcher 1");
    let api = app.api().clone();

    // Round i: a fresh endpoint on /race/<i> (every other one created
    // disabled and re-enabled by PATCH), then at once an event tagged i.
    let mut sent: Vec<Uuid> = Vec::with_capacity(ROUNDS);
    for i in 0..ROUNDS {
        let path = format!("/race/{i}");
        let enabled_later = i % 2 == 1;
        let ep = create_endpoint(
            &api,
            &receiver.url(&path),
            &["order.created"],
            json!({"active": !enabled_later}),
        )
        .await;
        if enabled_later {
            let r = api
                .patch_json(&format!("/webhooks/{}", ep.id), &json!({"active": true}))
                .await
                .expect("PATCH /webhooks");
            assert_eq!(r.status, 200, "{}", r.text());
        }
        let r = api
            .post_json(
                "/events",
                &json!({"type": "order.created", "payload": {"round": i}}),
            )
            .await
            .expect("POST /events");
        assert_eq!(r.status, 201, "{}", r.text());
        sent.push(
            r.value()["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("event id"),
        );
    }

    // Endpoint i must get event i (and may get later ones: it subscribed).
    let ok = herald_tests::wait_until(WAIT, || async {
        (0..ROUNDS)
            .all(|i| event_ids(&receiver.requests_for(&format!("/race/{i}"))).contains(&sent[i]))
    })
    .await;
    let missed: Vec<usize> = (0..ROUNDS)
        .filter(|i| !event_ids(&receiver.requests_for(&format!("/race/{i}"))).contains(&sent[*i]))
        .collect();
    assert!(
        ok.is_ok() && missed.is_empty(),
        "endpoints that missed the event sent right after they were registered: {missed:?}"
    );
    for i in 0..ROUNDS {
        let requests = receiver.requests_for(&format!("/race/{i}"));
        let unique: HashSet<Uuid> = event_ids(&requests).into_iter().collect();
        assert_eq!(unique.len(), requests.len(), "duplicates on /race/{i}");
    }
}
