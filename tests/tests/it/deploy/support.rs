//! What the deployment tests share: a lock for the heaviest tests, and
//! JetStream API requests as the `nats` CLI sends them.

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
