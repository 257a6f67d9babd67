//! The NATS plumbing of `herald_common` against a real server: the connect
//! strategy both binaries use, and bounded publishing with `Nats-Msg-Id`.

use std::time::Duration;

use async_nats::jetstream;
use herald_common::config::Config;
use herald_common::jetstream::{provision, Outgoing, PubAcks};
use herald_common::shutdown::CancellationToken;
use herald_common::subjects::{event_subject, EVENTS_STREAM};
use herald_tests::NatsServer;

const WAIT: Duration = Duration::from_secs(30);

fn config(nats: &NatsServer) -> Config {
    Config::for_tests("postgres://unused@127.0.0.1/unused", &nats.url())
}

#[tokio::test]
async fn a_client_connects_when_its_server_comes_and_sees_each_reconnect() {
    let mut server = NatsServer::start().await;
    let settings = config(&server).nats;
    server.stop().await;
    let (client, mut link) = herald_common::nats::connect("test", &settings)
        .await
        .expect("the client does not wait for a server");
    assert!(!link.is_connected());

    let stop = CancellationToken::new();
    server.restart().await.expect("start the server");
    let connected = tokio::time::timeout(WAIT, link.connected(&stop)).await;
    assert_eq!(
        connected.ok(),
        Some(true),
        "connected once the server is up"
    );
    assert_eq!(link.connects(), 1);
    client.flush().await.expect("usable");

    server.kill();
    server.restart().await.expect("restart the server");
    let again = tokio::time::timeout(WAIT, link.connected_after(1, &stop)).await;
    assert_eq!(again.ok(), Some(true), "a reconnect is seen");
    assert!(link.is_connected());

    stop.cancel();
    assert!(
        !link.connected_after(u64::MAX, &stop).await,
        "shutdown ends a wait"
    );
}

#[tokio::test]
async fn bounded_pub_acks_publish_past_the_context_permits_and_return_every_ack() {
    let server = NatsServer::start().await;
    let js = jetstream::new(server.connect().await);
    provision(&js, &config(&server).streams)
        .await
        .expect("provision");
    // More than the context's 5,000 ack permits, awaited 1,024 at a time.
    let (total, limit) = (6_000, 1_024);
    let mut acks = PubAcks::new(js.clone(), limit);
    let mut acked = 0;
    for i in 0..total {
        let message = Outgoing::new(event_subject("t", "x"), &format!("m-{i}"), "{}".into());
        acks.publish(i, message).await.expect("publish");
        assert!(acks.outstanding() <= limit);
        acked += acks.completed().filter(|a| a.result.is_ok()).count();
    }
    acked += acks
        .flush()
        .await
        .iter()
        .filter(|a| a.result.is_ok())
        .count();
    assert_eq!(acked, total);

    let again = Outgoing::new(event_subject("t", "x"), "m-0", "{}".into());
    acks.publish(0, again).await.expect("publish a repeat");
    let repeat = acks.next().await.expect("an ack").result.expect("PubAck");
    assert!(repeat.duplicate, "the same Nats-Msg-Id is dropped");
    let mut stream = js.get_stream(EVENTS_STREAM).await.expect("stream");
    assert_eq!(
        stream.info().await.expect("info").state.messages,
        total as u64
    );
}
