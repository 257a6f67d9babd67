//! Fan-out by wildcard and payload filter, end to end: which endpoint gets
//! which event, and that a filtered-out event leaves no delivery row.

use herald_tests::{create_endpoint, post_event, ReceivedRequest, TestAppOptions, TestReceiver};
use serde_json::json;

use super::support::{app, deliveries, register};

/// The `x-webhook-event` of each request, sorted.
fn types(requests: &[ReceivedRequest]) -> Vec<String> {
    let mut t: Vec<String> = requests
        .iter()
        .map(|r| r.header("x-webhook-event").unwrap_or_default().to_string())
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn one_star_matches_one_word_and_rest_matches_any_depth() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let api = app.api();
    register(api, &json!({"name": "order.item.added"})).await;
    let one = create_endpoint(api, &receiver.url("/one"), &["order.*"], json!({})).await;
    let rest = create_endpoint(api, &receiver.url("/rest"), &["order.>"], json!({})).await;
    let all = create_endpoint(api, &receiver.url("/all"), &[">"], json!({})).await;
    // Registered after the endpoints: matched all the same.
    register(api, &json!({"name": "order.refunded"})).await;
    app.start_dispatcher().await.expect("dispatcher");

    let sent = [
        "order.created",
        "order.updated",
        "order.item.added",
        "order.refunded",
        "user.signed_up",
    ];
    for t in sent {
        post_event(app.api(), t, json!({"id": 1})).await;
    }
    app.wait_for_deliveries(all.id, "delivered", 5).await;
    app.wait_for_deliveries(rest.id, "delivered", 4).await;
    app.wait_for_deliveries(one.id, "delivered", 3).await;
    // Each event's rows are created together, so the counts are final.
    assert_eq!(deliveries(&app, one.id).await, 3);
    assert_eq!(deliveries(&app, rest.id).await, 4);
    assert_eq!(
        types(&receiver.requests_for("/one")),
        ["order.created", "order.refunded", "order.updated"]
    );
    assert_eq!(
        types(&receiver.requests_for("/rest")),
        [
            "order.created",
            "order.item.added",
            "order.refunded",
            "order.updated"
        ]
    );
    assert_eq!(types(&receiver.requests_for("/all")).len(), 5);
}

#[tokio::test]
async fn a_filter_delivers_only_matching_events_and_no_row_for_the_others() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let api = app.api();
    let filter = json!({"amount": {"$gte": 100}});
    let big = create_endpoint(
        api,
        &receiver.url("/big"),
        &["order.created"],
        json!({ "filter": filter }),
    )
    .await;
    let every = create_endpoint(api, &receiver.url("/every"), &["order.created"], json!({})).await;
    app.start_dispatcher().await.expect("dispatcher");

    let amounts = [
        json!(50),
        json!(100),
        json!(150.5),
        json!(99.99),
        json!("lots"),
    ];
    for (i, amount) in amounts.iter().enumerate() {
        post_event(
            app.api(),
            "order.created",
            json!({"n": i, "amount": amount}),
        )
        .await;
    }
    app.wait_for_deliveries(every.id, "delivered", 5).await;
    app.wait_for_deliveries(big.id, "delivered", 2).await;
    assert_eq!(
        deliveries(&app, big.id).await,
        2,
        "filtered-out events create no delivery"
    );
    let mut got: Vec<i64> = receiver
        .requests_for("/big")
        .iter()
        .filter_map(|r| r.json()["data"]["n"].as_i64())
        .collect();
    got.sort_unstable();
    assert_eq!(got, [1, 2]);
}

#[tokio::test]
async fn a_fifo_line_follows_wildcards_and_its_filter_in_acceptance_order() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let api = app.api();
    for name in ["invoice.created", "order.item.added"] {
        register(api, &json!({ "name": name })).await;
    }
    // Overlapping patterns: the line's consumer takes all of the tenant's
    // events and the line matches each one itself.
    let extra = json!({"ordering": "fifo", "filter": {"amount": {"$gte": 100}}});
    let line = create_endpoint(
        api,
        &receiver.url("/line"),
        &["order.*", "*.created"],
        extra,
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher");

    let sent = [
        ("order.created", 150, true),
        ("order.updated", 50, false),
        ("user.signed_up", 500, false),
        ("invoice.created", 200, true),
        ("order.item.added", 300, false),
        ("order.updated", 120, true),
    ];
    for (t, amount, _) in sent {
        post_event(app.api(), t, json!({ "amount": amount })).await;
    }
    app.wait_for_deliveries(line.id, "delivered", 3).await;
    let got: Vec<(String, i64)> = receiver
        .requests_for("/line")
        .iter()
        .map(|r| {
            let v = r.json();
            (
                v["type"].as_str().unwrap_or_default().to_string(),
                v["data"]["amount"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let want: Vec<(String, i64)> = sent
        .iter()
        .filter(|(_, _, wanted)| *wanted)
        .map(|(t, a, _)| (t.to_string(), *a))
        .collect();
    assert_eq!(got, want, "in acceptance order, only what the line wants");
    assert_eq!(deliveries(&app, line.id).await, 3, "no row for the others");
}
