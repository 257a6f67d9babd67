//! What an operator reads with the `nats` CLI (which cannot be installed
//! here), through the same JetStream API requests it sends:
//! `nats stream info` ($JS.API.STREAM.INFO.*), `nats consumer info`
//! ($JS.API.CONSUMER.INFO.*), `nats consumer report`
//! ($JS.API.CONSUMER.LIST.*) and `nats stream view` ($JS.API.STREAM.MSG.GET.*),
//! on a 3-node cluster before, during and after a load.

use std::collections::BTreeSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use herald_tests::{create_endpoint, NatsCluster, TestApp, TestAppOptions, TestReceiver, WAIT};
use serde_json::{json, Value};

use super::support::js_api;

const EVENTS: usize = 200;

async fn consumer(client: &async_nats::Client, stream: &str, name: &str) -> Value {
    js_api(
        client,
        &format!("$JS.API.CONSUMER.INFO.{stream}.{name}"),
        "",
    )
    .await
}

/// `nats stream info`: subjects, replicas (a leader and two current
/// followers), file storage, the retention an operator expects.
async fn assert_stream(client: &async_nats::Client, stream: &str, subject: &str, retention: &str) {
    let info = js_api(client, &format!("$JS.API.STREAM.INFO.{stream}"), "").await;
    let config = &info["config"];
    assert_eq!(config["subjects"], json!([subject]), "{stream}: {info}");
    assert_eq!(config["num_replicas"], 3, "{stream}: {info}");
    assert_eq!(config["storage"], "file", "{stream}: {info}");
    assert_eq!(config["retention"], retention, "{stream}: {info}");
    assert!(info["cluster"]["leader"].is_string(), "{stream}: {info}");
    let followers = info["cluster"]["replicas"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(followers.len(), 2, "{stream}: {info}");
}

/// `nats consumer info`: durable, explicit acks, the configured
/// `max_ack_pending`.
async fn assert_consumer(
    client: &async_nats::Client,
    stream: &str,
    name: &str,
    max_ack_pending: i64,
) {
    let info = consumer(client, stream, name).await;
    let config = &info["config"];
    assert_eq!(config["durable_name"], name, "{info}");
    assert_eq!(config["ack_policy"], "explicit", "{info}");
    assert_eq!(config["max_ack_pending"], max_ack_pending, "{info}");
}

/// Unprocessed plus unacknowledged messages of a consumer.
async fn backlog(client: &async_nats::Client, stream: &str, name: &str) -> i64 {
    let info = consumer(client, stream, name).await;
    info["num_pending"].as_i64().unwrap_or(-1) + info["num_ack_pending"].as_i64().unwrap_or(-1)
}

/// `nats stream view HERALD_EVENTS`: every stored message is readable JSON
/// whose `Nats-Msg-Id` header is the event id it carries; the ids seen.
async fn view_events(client: &async_nats::Client) -> BTreeSet<String> {
    let info = js_api(client, "$JS.API.STREAM.INFO.HERALD_EVENTS", "").await;
    let (first, last) = (
        info["state"]["first_seq"].as_u64(),
        info["state"]["last_seq"].as_u64(),
    );
    let mut ids = BTreeSet::new();
    for seq in first.unwrap_or(1)..=last.unwrap_or(0) {
        let body = json!({ "seq": seq }).to_string();
        let got = js_api(client, "$JS.API.STREAM.MSG.GET.HERALD_EVENTS", &body).await;
        let message = &got["message"];
        let decode = |field: &str| {
            STANDARD
                .decode(message[field].as_str().unwrap_or(""))
                .expect(field)
        };
        let event: Value = serde_json::from_slice(&decode("data")).expect("stored event is JSON");
        let headers = String::from_utf8(decode("hdrs")).expect("headers are text");
        let msg_id = headers
            .lines()
            .find_map(|l| l.strip_prefix("Nats-Msg-Id:"))
            .map(str::trim)
            .expect("Nats-Msg-Id header");
        let id = event["id"].as_str().expect("event id");
        assert_eq!(msg_id, id, "seq {seq}: {event}");
        assert!(message["subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("herald.events.")));
        ids.insert(id.to_string());
    }
    ids
}

#[tokio::test]
async fn what_the_nats_cli_shows_on_a_cluster_before_during_and_after_a_load() {
    let cluster = NatsCluster::start(3).await;
    let options = TestAppOptions::new()
        .nats_url(cluster.urls())
        .env("HERALD_STREAM_REPLICAS", "3")
        .env("HERALD_DELIVER_MAX_ACK_PENDING", "700")
        .event_types(&["order.created"])
        .dispatchers(0);
    let mut app = TestApp::spawn(options).await;
    let client = app.nats().clone();
    let receiver = TestReceiver::start().await;
    create_endpoint(
        app.api(),
        &receiver.url("/hook"),
        &["order.created"],
        json!({}),
    )
    .await;

    assert_stream(&client, "HERALD_EVENTS", "herald.events.>", "interest").await;
    assert_stream(
        &client,
        "HERALD_DELIVERIES",
        "herald.deliveries.>",
        "workqueue",
    )
    .await;
    let fanout_cap = app.config().streams.fanout_max_ack_pending;
    assert_consumer(&client, "HERALD_EVENTS", "fanout", fanout_cap).await;
    assert_consumer(&client, "HERALD_DELIVERIES", "deliver", 700).await;

    let events: Vec<Value> = (0..EVENTS)
        .map(|n| json!({"type": "order.created", "payload": {"n": n}}))
        .collect();
    let r = app
        .api()
        .post_json("/events/batch", &json!({ "events": events }))
        .await
        .expect("batch");
    assert!(r.status.is_success(), "{}", r.text());
    let posted: BTreeSet<String> = r.value()["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(posted.len(), EVENTS, "{}", r.text());
    herald_tests::eventually("fanout shows the load pending", WAIT, || async {
        backlog(&client, "HERALD_EVENTS", "fanout").await == EVENTS as i64
    })
    .await;
    assert_eq!(view_events(&client).await, posted);

    app.start_dispatcher().await.expect("dispatcher");
    app.start_dispatcher().await.expect("dispatcher");
    herald_tests::eventually("both consumers drain to 0", WAIT, || async {
        backlog(&client, "HERALD_EVENTS", "fanout").await == 0
            && backlog(&client, "HERALD_DELIVERIES", "deliver").await == 0
            && receiver.request_count() >= EVENTS
    })
    .await;

    let report = js_api(&client, "$JS.API.CONSUMER.LIST.HERALD_DELIVERIES", "{}").await;
    let listed = report["consumers"].as_array().cloned().unwrap_or_default();
    assert!(
        listed
            .iter()
            .any(|c| c["name"] == "deliver" && c["num_pending"] == 0),
        "{report}"
    );
    let jobs = js_api(&client, "$JS.API.STREAM.INFO.HERALD_DELIVERIES", "").await;
    assert_eq!(
        jobs["state"]["messages"], 0,
        "a work queue keeps no acked job: {jobs}"
    );
    let events = js_api(&client, "$JS.API.STREAM.INFO.HERALD_EVENTS", "").await;
    assert_eq!(
        events["state"]["messages"], 0,
        "interest retention keeps no event every consumer acked: {events}"
    );
}
