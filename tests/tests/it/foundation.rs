//! Foundation: the harness itself, the migration runner and JetStream
//! provisioning against real servers; the settings ([`settings`]) and the
//! NATS plumbing of `herald_common` ([`plumbing`]).

mod plumbing;
mod settings;

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use herald_common::config::Config;
use herald_common::subjects::{event_subject, EVENTS_STREAM, FANOUT_CONSUMER};
use herald_common::{jetstream::provision, migrate};
use herald_tests::app::test_env;
use herald_tests::{
    wait_until, ApiClient, Behavior, NatsCluster, NatsServer, TestApp, TestAppOptions, TestDb,
    TestReceiver,
};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[tokio::test]
async fn migrations_and_streams_apply_twice_and_an_event_round_trips() {
    let nats = NatsServer::start().await;
    let db = TestDb::create().await;

    let mut pg = db.connect().await;
    let first = migrate::run(&mut pg).await.expect("first migration run");
    assert_eq!(
        first.applied,
        migrate::MIGRATIONS
            .iter()
            .map(|m| m.version)
            .collect::<Vec<_>>()
    );
    let second = migrate::run(&mut pg).await.expect("second migration run");
    assert!(
        second.applied.is_empty(),
        "second run applied {:?}",
        second.applied
    );

    let js = jetstream::new(nats.connect().await);
    let settings = Config::for_tests(db.url(), &nats.url()).streams;
    let created = provision(&js, &settings).await.expect("first provisioning");
    assert!(!created.is_noop(), "{created:?}");
    let again = provision(&js, &settings)
        .await
        .expect("second provisioning");
    assert!(again.is_noop(), "{again:?}");

    let subject = event_subject("default", "order.created");
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", "evt-1");
    let ack = js
        .publish_with_headers(subject.clone(), headers.clone(), r#"{"n":1}"#.into())
        .await
        .expect("publish")
        .await
        .expect("PubAck");
    assert_eq!(ack.stream, EVENTS_STREAM);
    let dup = js
        .publish_with_headers(subject.clone(), headers, r#"{"n":1}"#.into())
        .await
        .expect("publish again")
        .await
        .expect("PubAck again");
    assert!(dup.duplicate, "the same Nats-Msg-Id is a duplicate");

    let consumer: jetstream::consumer::Consumer<pull::Config> = js
        .get_stream(EVENTS_STREAM)
        .await
        .expect("stream")
        .get_consumer(FANOUT_CONSUMER)
        .await
        .expect("fanout consumer");
    let mut messages = consumer
        .fetch()
        .max_messages(10)
        .expires(secs(2))
        .messages()
        .await
        .expect("fetch");
    let msg = messages
        .next()
        .await
        .expect("one message")
        .expect("message");
    assert_eq!(msg.subject.as_str(), subject);
    assert_eq!(&msg.payload[..], br#"{"n":1}"#);
    assert_eq!(
        msg.headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str()),
        Some("evt-1")
    );
    msg.double_ack().await.expect("ack");
    assert!(
        messages.next().await.is_none(),
        "only one message was stored"
    );

    let mut consumer = consumer;
    let info = consumer.info().await.expect("consumer info");
    assert_eq!((info.num_pending, info.num_ack_pending), (0, 0));
}

#[tokio::test]
async fn a_three_node_cluster_replicates_the_streams_three_times() {
    let cluster = NatsCluster::start(3).await;
    let env = test_env("postgres://unused@127.0.0.1/unused", &cluster.urls())
        .with("HERALD_STREAM_REPLICAS", "3");
    let settings = Config::from_source(&env).expect("config").streams;
    let js = jetstream::new(cluster.connect().await);
    let never = herald_common::shutdown::CancellationToken::new();
    herald_common::jetstream::provision_with_retry(&js, &settings, Some(secs(30)), &never)
        .await
        .expect("provisioning with 3 replicas");

    let mut stream = js.get_stream(EVENTS_STREAM).await.expect("HERALD_EVENTS");
    let info = stream.info().await.expect("stream info");
    assert_eq!(info.config.num_replicas, 3);
    let placement = info.cluster.clone().expect("cluster info");
    assert_eq!(placement.name.as_deref(), Some(cluster.name()));
    assert!(placement.leader.is_some(), "{placement:?}");
    assert_eq!(
        placement.replicas.len(),
        2,
        "two followers besides the leader: {placement:?}"
    );
}

#[tokio::test]
async fn two_migration_runners_at_once_both_succeed() {
    let db = TestDb::create().await;
    let (mut a, mut b) = (db.connect().await, db.connect().await);
    let (ra, rb) = tokio::join!(migrate::run(&mut a), migrate::run(&mut b));
    let (ra, rb) = (ra.expect("runner a"), rb.expect("runner b"));
    let mut applied = [ra.applied, rb.applied];
    applied.sort();
    assert!(
        applied[0].is_empty(),
        "one runner found nothing to do: {applied:?}"
    );
    assert_eq!(applied[1].len(), migrate::MIGRATIONS.len());

    let count = |sql: &'static str| {
        let a = &a;
        async move {
            a.query_one(sql, &[])
                .await
                .expect(sql)
                .try_get::<_, i64>("n")
                .expect("n")
        }
    };
    let tables =
        count("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'webhooks'")
            .await;
    assert_eq!(tables, 1);
    let recorded = count("SELECT count(*) AS n FROM herald_migrations").await;
    assert_eq!(recorded, migrate::MIGRATIONS.len() as i64);
}

#[tokio::test]
async fn nats_restarts_on_the_same_port_and_keeps_jetstream_data() {
    let mut nats = NatsServer::start().await;
    let port = nats.port();
    let settings = Config::for_tests("postgres://unused@127.0.0.1/unused", &nats.url()).streams;
    let js = jetstream::new(nats.connect().await);
    provision(&js, &settings).await.expect("provisioning");
    js.publish(event_subject("default", "order.created"), "{}".into())
        .await
        .expect("publish")
        .await
        .expect("PubAck");

    nats.stop().await;
    assert!(!nats.is_running());
    nats.restart().await.expect("restart");
    assert_eq!(nats.port(), port);

    let js = jetstream::new(nats.connect().await);
    let mut stream = js.get_stream(EVENTS_STREAM).await.expect("stream survived");
    assert_eq!(stream.info().await.expect("info").state.messages, 1);
    let again = provision(&js, &settings).await.expect("provisioning again");
    assert!(again.is_noop(), "{again:?}");

    nats.kill();
    assert!(!nats.is_running());
    nats.restart().await.expect("restart after kill");
    assert_eq!(nats.port(), port);
}

#[tokio::test]
async fn a_test_database_is_dropped_with_its_guard() {
    let db = TestDb::create().await;
    let url = db.url().to_string();
    db.connect()
        .await
        .batch_execute("CREATE TABLE t (x int)")
        .await
        .expect("usable");
    drop(db);
    assert!(
        herald_common::db::connect(&url).await.is_err(),
        "database still exists"
    );
}

#[tokio::test]
async fn the_receiver_records_requests_and_answers_as_told() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/flaky", Behavior::fail_first(2, 503));
    receiver.set_behavior(Behavior::status(410).with_header("x-test", "yes"));
    let client = ApiClient::new(receiver.url("/"));

    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            client
                .post_json("/flaky", &serde_json::json!({"a": 1}))
                .await
                .expect("post")
                .status
                .as_u16(),
        );
    }
    assert_eq!(statuses, [503, 503, 200]);
    let gone = client.get("/other?x=1").await.expect("get");
    assert_eq!(
        (gone.status.as_u16(), gone.header("x-test")),
        (410, Some("yes"))
    );

    let flaky = receiver.requests_for("/flaky");
    assert_eq!(flaky.len(), 3);
    assert_eq!(flaky[0].json()["a"], 1);
    assert_eq!(flaky[0].header("content-type"), Some("application/json"));
    assert_eq!(
        receiver.requests_for("/other")[0].query.as_deref(),
        Some("x=1")
    );
    assert_eq!(
        receiver.connection_count(),
        1,
        "the pooled client reused one connection"
    );

    receiver.set_behavior_for("/slow", Behavior::hang());
    let slow = tokio::time::timeout(Duration::from_millis(200), client.get("/slow")).await;
    assert!(slow.is_err(), "a hanging path does not answer");
    assert!(wait_until(secs(5), || async {
        receiver.requests_for("/slow").len() == 1
    })
    .await
    .is_ok());
}

#[tokio::test]
async fn wait_until_gives_up_after_its_timeout() {
    let started = std::time::Instant::now();
    let result = wait_until(Duration::from_millis(100), || async { false }).await;
    assert!(result.is_err());
    assert!(started.elapsed() < secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_app_serves_health_and_stops_its_dispatchers() {
    let mut app = TestApp::spawn(TestAppOptions::new().dispatchers(2)).await;
    let health = app.anonymous().get("/healthz").await.expect("healthz");
    assert!(health.status.is_success(), "{health:?}");
    assert_eq!(app.running_dispatchers(), 2);
    let metrics_url = app.dispatcher_url(1).expect("dispatcher 1");
    assert!(ApiClient::new(metrics_url)
        .get("/healthz")
        .await
        .expect("dispatcher healthz")
        .status
        .is_success());

    app.stop_dispatcher(0).await.expect("graceful stop");
    app.kill_dispatcher(1);
    assert_eq!(app.running_dispatchers(), 0);
    app.restart_dispatcher(1).await.expect("restart");
    assert_eq!(app.running_dispatchers(), 1);
    app.shutdown().await.expect("shutdown");
}
