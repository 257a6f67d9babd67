//! Adding dispatchers to a running cluster under load (1 → 3): deliveries
//! per second rise, and the checker finds nothing lost. Each dispatcher is
//! held to 2 deliveries in flight against a receiver answering in 100 ms,
//! so one dispatcher delivers about 20/s while the load asks for about 60/s:
//! the figures depend on waiting, hardly on CPU.

use std::time::{Duration, Instant};

use herald_tests::{Behavior, Producer, ReceivedRequest};

use crate::reliability::support::{options, Scenario, TYPES};

/// Events per second; each goes to two of the three endpoints.
const RATE: u32 = 30;
const LOAD: Duration = Duration::from_secs(24);
/// Steady-state windows in which deliveries per second are counted.
const WINDOW: Duration = Duration::from_secs(8);

/// 2xx deliveries per second that arrived in `[from, from + WINDOW)`.
fn rate(requests: &[ReceivedRequest], from: Instant) -> f64 {
    let to = from + WINDOW;
    let n = requests
        .iter()
        .filter(|r| (200..300).contains(&r.status) && r.received_at >= from && r.received_at < to)
        .count();
    n as f64 / WINDOW.as_secs_f64()
}

#[tokio::test]
async fn adding_dispatchers_under_load_raises_deliveries_per_second_and_loses_nothing() {
    let _alone = herald_tests::machine_alone().await;
    let s = Scenario::start_alone(options().env("HERALD_DISPATCHER_CONCURRENCY", "2")).await;
    s.receiver
        .set_behavior(Behavior::delay(Duration::from_millis(100)));
    let _d1 = s.dispatcher("d1").await;
    let producer = Producer::start(vec![s.app.api().clone()], &TYPES, RATE, LOAD);
    let started = Instant::now();

    // One dispatcher: the backlog grows (about 60 wanted, 20 delivered per second).
    tokio::time::sleep(Duration::from_secs(10)).await;
    let one_from = started + Duration::from_secs(2);
    let _d2 = s.dispatcher("d2").await;
    let _d3 = s.dispatcher("d3").await;
    let three_from = Instant::now() + Duration::from_secs(2);
    tokio::time::sleep(Duration::from_secs(2) + WINDOW).await;

    let requests = s.receiver.requests();
    let (one, three) = (rate(&requests, one_from), rate(&requests, three_from));
    println!("deliveries/s: 1 dispatcher {one:.1}, 3 dispatchers {three:.1}");
    assert!(
        three >= one * 1.5,
        "deliveries/s did not rise with 3 dispatchers: {one:.1} -> {three:.1}"
    );
    let produced = producer.finish().await;
    s.finish("dispatchers 1 -> 3 under load", &produced.accepted, None)
        .await;
}
