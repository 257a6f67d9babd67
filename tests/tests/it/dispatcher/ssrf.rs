//! The SSRF guard switched on (`HERALD_ALLOW_PRIVATE_URLS=false`), with the
//! test's receiver reachable through a one-address allowlist
//! (`127.0.0.1/32`) and names answered by a resolver the test controls
//! (`ScriptedDns`, the guard's test-util lookup: ingest's check and the
//! dispatcher's connector both ask it, then check and pin the answer as in
//! production). A "trap" listens on 127.0.0.2, a loopback address the
//! allowlist does not cover, standing in for an internal service: it must
//! never see a connection.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use herald_common::config::settings::{ALLOW_PRIVATE_URLS, URL_ALLOWLIST};
use herald_common::url_guard::{Resolver, ScriptedDns};
use herald_tests::{
    create_endpoint, post_events, wait_for, Behavior, TestApp, TestAppOptions, TestReceiver, WAIT,
};
use serde_json::json;
use tokio::net::TcpListener;
use uuid::Uuid;

use super::support::*;

const NAME: &str = "hooks.rebind.test";

/// Counts the connections made to 127.0.0.2:`port`.
struct Trap {
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Trap {
    async fn start(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.2", port))
            .await
            .expect("bind 127.0.0.2");
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            while listener.accept().await.is_ok() {
                count.fetch_add(1, Ordering::SeqCst);
            }
        });
        Self { accepted, task }
    }

    fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Trap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

async fn guarded_app(dns: &ScriptedDns) -> TestApp {
    let dns = dns.clone();
    app(TestAppOptions::new()
        .env(ALLOW_PRIVATE_URLS.name, "false")
        .env(URL_ALLOWLIST.name, "127.0.0.1/32")
        .configure(move |c| {
            let guard = c.security.url_guard.clone();
            c.security.url_guard = guard.with_resolver(Resolver::Scripted(dns.clone()));
        }))
    .await
}

/// The attempts of the endpoint's one delivery once there are `n`:
/// `(status_code, error)` in order.
async fn attempts(app: &TestApp, webhook: Uuid, n: usize) -> Vec<(Option<i32>, Option<String>)> {
    wait_for(WAIT, || async {
        let got = app.attempts_of(webhook).await;
        (got.len() >= n).then(|| got.into_iter().map(|a| (a.status_code, a.error)).collect())
    })
    .await
    .expect("attempts recorded")
}

#[tokio::test]
async fn a_name_that_rebinds_to_an_internal_address_is_blocked_at_send_time() {
    let receiver = TestReceiver::start().await;
    let trap = Trap::start(receiver.addr().port()).await;
    let dns = ScriptedDns::default();
    let mut app = guarded_app(&dns).await;
    let url = format!("http://{NAME}:{}/hook", receiver.addr().port());

    // Registration: the name must resolve to an allowed address.
    dns.set(NAME, &[ip("127.0.0.2")]);
    let body = json!({"url": url, "event_types": ["order.created"]});
    let r = app
        .api()
        .post_json("/webhooks", &body)
        .await
        .expect("create");
    assert_eq!(
        (r.status.as_u16(), r.value()["error"]["code"].clone()),
        (422, json!("url_not_allowed"))
    );
    dns.set(NAME, &[ip("127.0.0.1")]);
    let slow_retries = json!({"retry_schedule": ["1s", "1s", "1s", "1s"]});
    let endpoint = create_endpoint(app.api(), &url, &["order.created"], slow_retries).await;

    // Later the name points inside: the dispatcher refuses to connect.
    dns.set(NAME, &[ip("127.0.0.2")]);
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "order.created", 1, "rebind").await;
    let first = attempts(&app, endpoint.id, 1).await;
    let (status, error) = &first[0];
    assert_eq!(*status, None, "no response: nothing was sent");
    let error = error.as_deref().unwrap_or_default();
    assert!(
        error.contains("blocked") && error.contains("127.0.0.2"),
        "{error}"
    );
    assert_eq!(
        trap.connections(),
        0,
        "the internal address was never reached"
    );
    assert_eq!(receiver.request_count(), 0);

    // The name points back at the receiver: the next attempt delivers.
    dns.set(NAME, &[ip("127.0.0.1")]);
    let got = receiver.wait_for_requests(Some("/hook"), 1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert_eq!(trap.connections(), 0);
}

#[tokio::test]
async fn redirects_are_recorded_as_failed_attempts_and_never_followed() {
    let receiver = TestReceiver::start().await;
    let trap = Trap::start(receiver.addr().port()).await;
    let dns = ScriptedDns::default();
    let mut app = guarded_app(&dns).await;
    let inside = format!("http://127.0.0.2:{}/internal", receiver.addr().port());
    receiver.set_behavior_for(
        "/to-inside",
        Behavior::status(302).with_header("location", &inside),
    );
    receiver.set_behavior_for(
        "/to-self",
        Behavior::status(307).with_header("location", &receiver.url("/landing")),
    );
    let once = json!({"retry_schedule": ["1h"]});
    let mut ids = Vec::new();
    for path in ["/to-inside", "/to-self"] {
        let e = create_endpoint(
            app.api(),
            &receiver.url(path),
            &["order.created"],
            once.clone(),
        )
        .await;
        ids.push(e.id);
    }
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "order.created", 1, "redirect").await;
    for (id, status) in ids.iter().zip([302, 307]) {
        let got = attempts(&app, *id, 1).await;
        assert_eq!(
            got[0].0,
            Some(status),
            "the redirect is the attempt's answer"
        );
        let state: String = app
            .db()
            .query_one("SELECT status FROM deliveries WHERE webhook_id = $1", &[id])
            .await
            .expect("delivery")
            .try_get("status")
            .expect("status");
        assert_eq!(state, "retrying", "a redirect is not a delivery");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        trap.connections(),
        0,
        "the internal Location was not followed"
    );
    assert!(
        receiver.requests_for("/landing").is_empty(),
        "no Location is followed"
    );
    assert_eq!(receiver.request_count(), 2);
}
