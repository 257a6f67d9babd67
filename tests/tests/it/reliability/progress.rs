//! A short ack wait is safe: work that outlasts it in a live dispatcher (a
//! slow receiver, fan-out's inserts and the attempt log's flushes held up
//! by Postgres) is kept in progress, so JetStream hands nothing to another
//! dispatcher and nothing is sent twice.

use std::time::Duration;

use herald_common::config::settings::ACK_WAIT;
use herald_common::subjects::{
    DELIVERIES_STREAM, DELIVER_CONSUMER, EVENTS_STREAM, FANOUT_CONSUMER,
};
use herald_tests::Behavior;

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_receivers_and_a_stalled_attempt_log_past_the_ack_wait_cause_no_redelivery() {
    let s = Scenario::start(options().env(ACK_WAIT.name, "2s")).await;
    // One request in 20 is answered after 3 s, past the 2 s ack wait.
    s.receiver
        .set_behavior(Behavior::slow_fraction(0.05, Duration::from_secs(3)));
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    let producer = s.load(LOAD);

    // Hold every write of deliveries and attempts for 3 s: fan-out's
    // inserts and the attempt log's flushes wait past the ack wait. The
    // tables are locked in the order the attempt log writes them (attempts,
    // then deliveries): the other order deadlocks with a flush under way.
    s.delivered(1_000).await;
    let db = s.app.test_db().connect().await;
    db.batch_execute("BEGIN; LOCK TABLE delivery_attempts, deliveries IN EXCLUSIVE MODE")
        .await
        .expect("lock");
    tokio::time::sleep(Duration::from_secs(3)).await;
    db.batch_execute("COMMIT").await.expect("unlock");

    let produced = producer.finish().await;
    let report = s
        .finish("slow work past a 2 s ack wait", &produced.accepted, None)
        .await;
    report.assert_duplicates_within(0, "live dispatchers keep slow work in progress");
    // JetStream redelivered nothing: each consumer handed out each message
    // of its stream once.
    for (stream, name) in [
        (EVENTS_STREAM, FANOUT_CONSUMER),
        (DELIVERIES_STREAM, DELIVER_CONSUMER),
    ] {
        let info = s
            .app
            .consumer_info(stream, name)
            .await
            .expect("consumer info");
        println!(
            "{stream}/{name}: delivered {} messages in {} deliveries",
            info.delivered.stream_sequence, info.delivered.consumer_sequence
        );
        assert_eq!(
            info.delivered.consumer_sequence, info.delivered.stream_sequence,
            "{stream}/{name} redelivered messages"
        );
    }
}
