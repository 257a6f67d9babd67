//! `herald-ingest` as a real process: `migrate`, bad configuration, SIGTERM
//! drain, and `kill -9` between commit and publish.

use std::process::Command;
use std::time::Duration;

use herald_tests::{post_event, ApiClient, Binary, TestDb, WAIT};
use serde_json::json;

use super::support::*;

fn ingest_command(path: &std::path::Path) -> Command {
    let mut cmd = Command::new(path);
    cmd.env_clear();
    if let Some(p) = std::env::var_os("PATH") {
        cmd.env("PATH", p);
    }
    cmd
}

#[tokio::test]
async fn the_migrate_command_applies_migrations_once_and_exits() {
    let db = TestDb::create().await;
    let bin = Binary::Ingest.path().await.expect("binary");
    for _ in 0..2 {
        let out = ingest_command(&bin)
            .arg("migrate")
            .env("HERALD_DATABASE_URL", db.url())
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pg = db.connect().await;
    let versions: Vec<i32> = pg
        .query(
            "SELECT version FROM herald_migrations ORDER BY version",
            &[],
        )
        .await
        .expect("the migration log")
        .iter()
        .map(|r| r.try_get("version").expect("version"))
        .collect();
    let known: Vec<i32> = herald_common::migrate::MIGRATIONS
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(versions, known, "each migration applied once");
}

#[tokio::test]
async fn bad_configuration_exits_64_listing_every_problem() {
    let bin = Binary::Ingest.path().await.expect("binary");
    let out = ingest_command(&bin)
        .env("HERALD_MODE", "production")
        .env("HERALD_MAX_BODY_BYTES", "lots")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    for var in [
        "HERALD_ADMIN_TOKEN",
        "HERALD_ENCRYPTION_KEY",
        "HERALD_MAX_BODY_BYTES",
    ] {
        assert!(err.contains(var), "{var} not reported: {err}");
    }
}

#[tokio::test]
async fn sigterm_answers_in_flight_requests_and_publishes_before_exiting() {
    let app = app().await;
    let mut node = app.spawn_process(Binary::Ingest, &[]).await.expect("spawn");
    node.wait_healthy(WAIT).await.expect("healthy");
    let api = ApiClient::new(node.url()).with_token(app.admin_token());
    let sends = (0..50).map(|i| {
        let api = api.clone();
        async move { post_event(&api, "order.created", json!({"n": i})).await }
    });
    futures::future::join_all(sends).await;
    let status = node
        .stop(Duration::from_secs(20))
        .await
        .expect("exit status");
    assert!(status.success(), "exit: {status:?}\n{}", node.log());
    expect_stream_messages(&app, 50).await;
}

#[tokio::test]
async fn an_ingest_killed_between_commit_and_publish_loses_nothing() {
    let mut app = app().await;
    // Only the process under test may relay.
    app.stop_ingest().await.expect("stop in-process ingest");
    let mut node = app.spawn_process(Binary::Ingest, &[]).await.expect("spawn");
    node.wait_healthy(WAIT).await.expect("healthy");
    let api = ApiClient::new(node.url()).with_token(app.admin_token());

    // NATS down: every event is committed, none can be published.
    app.nats_server().expect("nats").stop().await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(post_event(&api, "order.created", json!({"n": i})).await);
    }
    node.kill9();
    assert_eq!(app.count("events WHERE published_at IS NULL").await, 20);

    app.nats_server()
        .expect("nats")
        .restart()
        .await
        .expect("restart nats");
    node.start().await.expect("restart ingest");
    node.wait_healthy(WAIT).await.expect("healthy again");
    expect_stream_messages(&app, 20).await;
    assert_eq!(stream_event_ids(&app).await, ids);
}
