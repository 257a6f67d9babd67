//! `v1a` (ed25519) signatures: Herald keeps the signing key, shows the
//! public key, and an independent verifier (PyNaCl) accepts its requests,
//! during a rotation too, and refuses a tampered body.

use herald_tests::{
    create_endpoint, post_events, ReceivedRequest, TestApp, TestAppOptions, TestReceiver, WAIT,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::support::*;

/// Verifies `webhook-signature` with PyNaCl against a `whpk_` key, as a
/// receiver would: prints `verified` or `refused`.
const VERIFY_PY: &str = r#"
import base64, json, sys
from nacl.signing import VerifyKey
from nacl.exceptions import BadSignatureError
public, headers, body = sys.argv[1], json.load(open(sys.argv[2])), open(sys.argv[3], "rb").read()
assert public.startswith("whpk_")
key = VerifyKey(base64.b64decode(public[len("whpk_"):]))
content = (headers["webhook-id"] + "." + headers["webhook-timestamp"] + ".").encode() + body
ok = False
for part in headers["webhook-signature"].split(" "):
    version, _, sig = part.partition(",")
    if version == "v1a":
        try:
            key.verify(content, base64.b64decode(sig))
            ok = True
        except BadSignatureError:
            pass
print("verified" if ok else "refused")
"#;

/// What PyNaCl says of `req` (with `body` instead of its own, if given).
fn pynacl(public: &str, req: &ReceivedRequest, body: Option<&[u8]>) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let headers = json!({
        "webhook-id": req.header("webhook-id"),
        "webhook-timestamp": req.header("webhook-timestamp"),
        "webhook-signature": req.header("webhook-signature"),
    });
    let (h, b) = (dir.path().join("headers.json"), dir.path().join("body"));
    std::fs::write(&h, headers.to_string()).expect("write headers");
    std::fs::write(&b, body.unwrap_or(&req.body)).expect("write body");
    let out = run_python(VERIFY_PY, &[public.as_ref(), h.as_os_str(), b.as_os_str()]);
    out.trim().to_string()
}

fn herald_verify(public: &str, req: &ReceivedRequest, body: &[u8]) -> bool {
    let h = |n| req.header(n).unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    herald_common::verify(
        public,
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
        body,
        now,
    )
    .is_ok()
}

/// An ed25519 endpoint on `/ed`: its id and `whpk_` public key.
async fn ed25519_endpoint(app: &TestApp, receiver: &TestReceiver) -> (Uuid, String) {
    let scheme = json!({"signature_scheme": "ed25519"});
    let url = receiver.url("/ed");
    let created = create_endpoint(app.api(), &url, &["order.created"], scheme).await;
    let public = created.created["public_key"].as_str().unwrap_or_default();
    (created.id, public.to_string())
}

/// What `GET /webhooks/{id}` shows.
async fn shown(app: &TestApp, id: Uuid) -> Value {
    let r = app.api().get(&format!("/webhooks/{id}")).await;
    r.expect("GET /webhooks/{id}").value()
}

/// Post one event and wait for its request on `/ed`.
async fn one_request(app: &TestApp, receiver: &TestReceiver, tag: &str) -> ReceivedRequest {
    receiver.clear();
    post_events(app.api(), "order.created", 1, tag).await;
    let mut got = receiver.wait_for_requests(Some("/ed"), 1, WAIT).await;
    got.remove(0)
}

#[tokio::test]
async fn an_ed25519_endpoint_shows_its_public_key_and_never_its_signing_key() {
    let receiver = TestReceiver::start().await;
    let app = app(TestAppOptions::new()).await;
    let scheme = json!({"signature_scheme": "ed25519"});
    let url = receiver.url("/ed");
    let created = create_endpoint(app.api(), &url, &["order.created"], scheme).await;
    assert!(created.secret.starts_with("whsk_"), "{}", created.created);
    assert_eq!(created.created["signature_scheme"], "ed25519");
    let public = created.created["public_key"].as_str().unwrap_or_default();
    assert!(public.starts_with("whpk_"), "{}", created.created);
    let shown = shown(&app, created.id).await;
    assert_eq!(shown["public_key"].as_str(), Some(public));
    assert!(shown.get("secret").is_none(), "{shown}");
}

#[tokio::test]
async fn an_independent_verifier_accepts_v1a_signatures_and_refuses_a_tampered_body() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let (_, public) = ed25519_endpoint(&app, &receiver).await;
    app.start_dispatcher().await.expect("dispatcher");
    let req = one_request(&app, &receiver, "before").await;
    let sig = req.header("webhook-signature").expect("signature");
    assert!(sig.starts_with("v1a,") && !sig.contains(' '), "{sig}");
    let legacy = req.header("x-webhook-signature");
    assert!(legacy.is_none(), "no HMAC legacy header");
    assert_eq!(pynacl(&public, &req, None), "verified");
    assert!(herald_verify(&public, &req, &req.body));
    let mut tampered = req.body.to_vec();
    tampered.extend_from_slice(b" ");
    assert_eq!(pynacl(&public, &req, Some(&tampered)), "refused");
    assert!(!herald_verify(&public, &req, &tampered));
}

#[tokio::test]
async fn during_a_rotation_both_keys_sign_and_either_verifies() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let (id, first_key) = ed25519_endpoint(&app, &receiver).await;
    app.start_dispatcher().await.expect("dispatcher");
    let r = app
        .api()
        .post_json(&format!("/webhooks/{id}/rotate-secret"), &json!({}))
        .await;
    let r = r.expect("rotate");
    assert_eq!(r.status, 200, "{}", r.text());
    let second_key = r.value()["public_key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_ne!(second_key, first_key);
    let shown = shown(&app, id).await;
    assert_eq!(shown["public_key"].as_str(), Some(second_key.as_str()));
    assert_eq!(
        shown["previous_public_key"].as_str(),
        Some(first_key.as_str())
    );

    wait_active_endpoints(&app, 0, 1).await;
    let req = one_request(&app, &receiver, "rotating").await;
    let sig = req.header("webhook-signature").expect("signature");
    let v1a = sig.split(' ').filter(|s| s.starts_with("v1a,")).count();
    assert_eq!(v1a, 2, "{sig}");
    for key in [&first_key, &second_key] {
        assert_eq!(pynacl(key, &req, None), "verified", "{key}");
        assert!(herald_verify(key, &req, &req.body));
        assert_eq!(pynacl(key, &req, Some(b"{}")), "refused");
    }
}
