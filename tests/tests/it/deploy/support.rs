//! What the deployment tests share: the generous wait, and the rule for a
//! test that needs something this machine may lack (fixed ports, a tool):
//! it says plainly that it skipped, except in CI (`CI` set), where the
//! missing thing is a failure.

use std::time::Duration;

/// Generous bound for anything that should happen "soon" on a busy machine.
pub const WAIT: Duration = Duration::from_secs(60);

/// Held by the tests that load the machine most (`run.sh --cluster`, the
/// scale-out measure), so that they never run at the same time: the
/// scale-out figures would then measure the CPU, not the dispatchers.
pub async fn heavy() -> tokio::sync::MutexGuard<'static, ()> {
    static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    HEAVY.lock().await
}

/// Skip with `reason` (printed), or panic when running in CI.
pub fn skip_or_fail(test: &str, reason: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{test}: {reason} (CI must run it)");
    }
    println!("SKIPPED {test}: {reason}");
    eprintln!("SKIPPED {test}: {reason}");
}

/// One JetStream API request, as the `nats` CLI sends it (e.g. subject
/// `$JS.API.STREAM.INFO.HERALD_EVENTS`, empty body); the JSON answer, which
/// must not be an API error.
pub async fn js_api(client: &async_nats::Client, subject: &str, body: &str) -> serde_json::Value {
    let reply = client
        .request(subject.to_string(), body.to_string().into())
        .await
        .unwrap_or_else(|e| panic!("{subject}: {e}"));
    let value: serde_json::Value = serde_json::from_slice(&reply.payload)
        .unwrap_or_else(|e| panic!("{subject}: answer is not JSON: {e}"));
    assert!(value.get("error").is_none(), "{subject}: {value}");
    value
}

/// An endpoint on `receiver`'s path `/hook` for `order.created` events.
pub async fn hook_endpoint(api: &herald_tests::ApiClient, receiver: &herald_tests::TestReceiver) {
    let body = serde_json::json!({"url": receiver.url("/hook"), "event_types": ["order.created"]});
    let r = api
        .post_json("/webhooks", &body)
        .await
        .expect("POST /webhooks");
    assert_eq!(r.status, 201, "{}", r.text());
}
