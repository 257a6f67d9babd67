//! A short chaos soak (45 s) in the test command: the seeded schedule kills
//! and restarts dispatchers, ingest and NATS nodes and flaps the receiver
//! under 300 events/s; nothing may be lost, misrouted or badly signed, and
//! duplicates stay within the kills' in-flight window. The full soak
//! (`deploy/local/chaos.sh`, 10 minutes) also judges memory and descriptor
//! trends; this one prints them. The seed is printed: replay a failure with
//! `deploy/local/chaos.sh --seed <seed> --duration 45s --rate 300`.

use std::time::Duration;

use herald_tests::chaos::{self, ChaosOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_chaos_soak_loses_nothing() {
    let seed = std::env::var("HERALD_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let options = ChaosOptions::new(Duration::from_secs(45), seed, 300);
    let report = match chaos::run(&options).await {
        Ok(r) => r,
        Err(e) => panic!("chaos soak (seed {seed}) could not run: {e:#}"),
    };
    println!("{report}");
    let faults: usize = report.faults.values().sum();
    assert!(faults >= 3, "the schedule injected {faults} faults");
    report.check.assert_clean();
    report
        .check
        .assert_duplicates_within(report.duplicate_bound, "the kills' in-flight window");
}
