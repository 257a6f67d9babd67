//! FIFO endpoints: first arrivals in acceptance order through 5xx answers
//! and a `kill -9` of the dispatcher holding the line, nothing lost, while
//! an unordered endpoint keeps its pace; and how many lines a dispatcher
//! carries (figures printed, docs/dispatcher.md).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use herald_tests::{
    create_endpoint, post_events, Behavior, ReceivedRequest, TestApp, TestAppOptions, TestReceiver,
    WAIT,
};
use serde_json::json;
use uuid::Uuid;

use super::support::*;

const FIFO_EVENTS: usize = 500;
const BATCH: usize = 50;

/// Each event id once, at its first arrival.
fn first_arrivals(requests: &[ReceivedRequest]) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    event_ids(requests)
        .into_iter()
        .filter(|id| seen.insert(*id))
        .collect()
}

/// Seconds from each request's event acceptance (the envelope's timestamp)
/// to its arrival, sorted.
fn latencies(requests: &[ReceivedRequest]) -> Vec<f64> {
    let mut out: Vec<f64> = requests
        .iter()
        .filter_map(|r| {
            let ts = r.json()["timestamp"].as_str().map(str::to_string)?;
            let accepted = chrono::DateTime::parse_from_rfc3339(&ts).ok()?;
            let arrived: chrono::DateTime<chrono::Utc> = r.received_at_system.into();
            Some((arrived - accepted.with_timezone(&chrono::Utc)).num_milliseconds() as f64 / 1e3)
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

/// The dispatcher that recorded the FIFO endpoint's latest attempt.
async fn holder(app: &TestApp, webhook: Uuid) -> Option<String> {
    app.db()
        .query_opt(
            "SELECT a.dispatcher_id FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
             WHERE d.webhook_id = $1 ORDER BY a.created_at DESC LIMIT 1",
            &[&webhook],
        )
        .await
        .expect("holder")
        .and_then(|r| r.try_get("dispatcher_id").ok())
}

#[tokio::test]
async fn fifo_arrivals_keep_acceptance_order_through_5xx_and_a_kill_9_while_unordered_keeps_pace() {
    let receiver = TestReceiver::start().await;
    let app = app(TestAppOptions::new().env("HERALD_ACK_WAIT", "3s").env(
        "HERALD_RETRY_SCHEDULE",
        "50ms,100ms,200ms,400ms,800ms,1s,1s,1s,1s,1s,1s,1s",
    ))
    .await;
    let fifo = create_endpoint(
        app.api(),
        &receiver.url("/fifo"),
        &["order.created"],
        json!({"ordering": "fifo"}),
    )
    .await;
    let plain = create_endpoint(
        app.api(),
        &receiver.url("/plain"),
        &["user.signed_up"],
        json!({}),
    )
    .await;
    let mut nodes = [dispatcher(&app, "d1").await, dispatcher(&app, "d2").await];

    // The unordered endpoint is fed all along: one event every 20 ms.
    let api = app.api().clone();
    let plain_feed = tokio::spawn(async move {
        let mut n: i64 = 0;
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            post_events(&api, "user.signed_up", 1, "plain").await;
            n += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        n
    });
    let started = Instant::now();
    let mut accepted = Vec::with_capacity(FIFO_EVENTS);
    for _ in 0..FIFO_EVENTS / BATCH {
        accepted.extend(post_events(app.api(), "order.created", BATCH, "fifo").await);
    }

    // 5xx for a while, then recovered: the line holds and retries.
    receiver.wait_for_requests(Some("/fifo"), 100, WAIT).await;
    receiver.set_behavior_for("/fifo", Behavior::fail_first(8, 503));
    // kill -9 of the dispatcher holding the line.
    receiver.wait_for_requests(Some("/fifo"), 250, WAIT).await;
    let victim = holder(&app, fifo.id).await.expect("someone holds the line");
    let index = usize::from(victim == "d2");
    nodes[index].kill9();
    let killed_at = receiver.requests_for("/fifo").len();

    app.wait_for_deliveries(fifo.id, "delivered", FIFO_EVENTS as i64)
        .await;
    let fifo_time = started.elapsed();
    let plain_posted: i64 = plain_feed.await.expect("plain feed");
    app.wait_for_deliveries(plain.id, "delivered", plain_posted)
        .await;

    let requests = receiver.requests_for("/fifo");
    let firsts = first_arrivals(&requests);
    assert_eq!(firsts.len(), FIFO_EVENTS, "every FIFO event arrived");
    assert_eq!(firsts, accepted, "first arrivals in acceptance order");
    let failed = requests.iter().filter(|r| r.status != 200).count();
    assert!(failed >= 8, "the receiver failed {failed} requests");
    let repeats = requests.len() - failed - FIFO_EVENTS;
    let plain_latency = latencies(&receiver.requests_for("/plain"));
    println!(
        "FIFO: {FIFO_EVENTS} events in order in {:.1} s ({failed} answered 503, kill -9 of {victim} after {killed_at} requests, {repeats} repeated successes); unordered: {} events, latency p50 {:.3} s, p99 {:.3} s, max {:.3} s",
        fifo_time.as_secs_f64(),
        plain_latency.len(),
        percentile(&plain_latency, 0.5),
        percentile(&plain_latency, 0.99),
        percentile(&plain_latency, 1.0),
    );
    // Generous: the unordered endpoint never waits for the FIFO line (its
    // jobs do not even share a consumer), nor for the killed dispatcher
    // longer than the ack wait.
    assert!(percentile(&plain_latency, 0.99) < 5.0, "{plain_latency:?}");
}

#[tokio::test]
async fn how_many_fifo_lines_one_dispatcher_carries() {
    const LINES: usize = 200;
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new().env("HERALD_MAX_ENDPOINTS_PER_TENANT", "1000")).await;
    for i in 0..LINES {
        create_endpoint(
            app.api(),
            &receiver.url(&format!("/l{i}")),
            &["order.created"],
            json!({"ordering": "fifo"}),
        )
        .await;
    }
    let started = Instant::now();
    app.start_dispatcher().await.expect("dispatcher");
    let js = app.jetstream();
    let ready = herald_tests::wait_until(WAIT, || async {
        let Ok(mut stream) = js.get_stream("HERALD_EVENTS").await else {
            return false;
        };
        stream
            .info()
            .await
            .map(|i| i.state.consumer_count > LINES)
            .unwrap_or(false)
    })
    .await;
    assert!(ready.is_ok(), "{LINES} consumers were not created");
    let consumers_ready = started.elapsed();
    let api_before = js.query_account().await.expect("account").requests.total;
    let idle = Duration::from_secs(10);
    tokio::time::sleep(idle).await;
    let api_idle = js.query_account().await.expect("account").requests.total - api_before;
    let health = herald_tests::ApiClient::new(app.dispatcher_url(0).expect("running"));
    assert_eq!(health.get("/healthz").await.expect("healthz").status, 200);
    let posted = Instant::now();
    post_events(app.api(), "order.created", 1, "all").await;
    receiver.wait_for_requests(None, LINES, WAIT).await;
    let fanned = posted.elapsed();
    let ordered = Instant::now();
    post_events(app.api(), "order.created", 20, "burst").await;
    receiver.wait_for_requests(None, LINES * 21, WAIT).await;
    println!(
        "FIFO lines: {LINES} endpoints, consumers and lines ready in {:.2} s; idle: {:.1} JetStream API requests/s besides one pull per line every 5 s; one event to every line delivered in {:.2} s; 20 more each ({} requests) in {:.2} s",
        consumers_ready.as_secs_f64(),
        api_idle as f64 / idle.as_secs_f64(),
        fanned.as_secs_f64(),
        LINES * 20,
        ordered.elapsed().as_secs_f64(),
    );
}
