//! Bad settings stop both binaries before they touch anything.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::time::Duration;

use herald_tests::Binary;

/// A port the test owns where a server would be; it never accepts, so any
/// connection attempt stays in its backlog.
fn silent_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

fn nobody_connected(listener: &TcpListener) -> bool {
    matches!(listener.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock)
}

#[tokio::test]
async fn bad_settings_exit_64_listing_every_error_before_any_connection() {
    let (postgres, pg_port) = silent_listener();
    let (nats, nats_port) = silent_listener();
    for binary in [Binary::Ingest, Binary::Dispatcher] {
        let mut cmd = tokio::process::Command::new(binary.path().await.expect("binary"));
        cmd.env_clear().kill_on_drop(true);
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        let good = format!("nats://127.0.0.1:{nats_port}");
        cmd.env(
            "HERALD_DATABASE_URL",
            format!("postgres://herald@127.0.0.1:{pg_port}/herald"),
        )
        .env(
            "HERALD_NATS_URL",
            format!("{good},http://127.0.0.1:{nats_port}"),
        )
        .env("HERALD_URL_ALLOWLIST", "10.0.0.0/8,10.0.0.0/99")
        .env("HERALD_FETCH_BATCH", "many")
        .env("HERALD_LISTEN", "127.0.0.1:0")
        .env("HERALD_METRICS_LISTEN", "127.0.0.1:0");
        let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit", binary.name()))
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{}: {stderr}", binary.name());
        for error in [
            format!("HERALD_NATS_URL entry \"http://127.0.0.1:{nats_port}\""),
            "HERALD_URL_ALLOWLIST entry \"10.0.0.0/99\"".to_string(),
            "HERALD_FETCH_BATCH=\"many\"".to_string(),
        ] {
            assert!(
                stderr.contains(&error),
                "{}: {error} not reported: {stderr}",
                binary.name()
            );
        }
    }
    // Each binary has exited: a connection it made would be queued by now.
    assert!(
        nobody_connected(&postgres),
        "something connected to Postgres"
    );
    assert!(nobody_connected(&nats), "something connected to NATS");
}
