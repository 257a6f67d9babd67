//! `v1a` (ed25519) signatures: Herald keeps the signing key, shows the
//! public key, and an independent verifier (PyNaCl) accepts its requests,
//! during a rotation too, and refuses a tampered body.

use herald_tests::{ReceivedRequest, TestAppOptions, TestReceiver};
use serde_json::json;

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

#[tokio::test]
async fn an_independent_verifier_accepts_v1a_signatures_during_a_rotation_and_refuses_tampering() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let r = app
        .api()
        .post_json(
            "/webhooks",
            &json!({"url": receiver.url("/ed"), "event_types": ["order.created"], "signature_scheme": "ed25519"}),
        )
        .await
        .expect("POST /webhooks");
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.value();
    let id = created["id"].as_str().expect("id").to_string();
    let first_key = created["public_key"]
        .as_str()
        .expect("public_key")
        .to_string();
    assert!(first_key.starts_with("whpk_"), "{created}");
    assert!(created["secret"]
        .as_str()
        .is_some_and(|s| s.starts_with("whsk_")));
    assert_eq!(created["signature_scheme"], "ed25519");
    let shown = app
        .api()
        .get(&format!("/webhooks/{id}"))
        .await
        .expect("GET")
        .value();
    assert_eq!(shown["public_key"].as_str(), Some(first_key.as_str()));
    assert!(shown.get("secret").is_none());
    app.start_dispatcher().await.expect("dispatcher");

    post_events(app.api(), "order.created", 1, "before").await;
    let req = receiver
        .wait_for_requests(Some("/ed"), 1, WAIT)
        .await
        .remove(0);
    let sig = req.header("webhook-signature").expect("signature");
    assert!(sig.starts_with("v1a,") && !sig.contains(' '), "{sig}");
    assert!(
        req.header("x-webhook-signature").is_none(),
        "no HMAC legacy header"
    );
    assert_eq!(pynacl(&first_key, &req, None), "verified");
    assert!(herald_verify(&first_key, &req, &req.body));
    let mut tampered = req.body.to_vec();
    tampered.extend_from_slice(b" ");
    assert_eq!(pynacl(&first_key, &req, Some(&tampered)), "refused");
    assert!(!herald_verify(&first_key, &req, &tampered));

    let r = app
        .api()
        .post_json(&format!("/webhooks/{id}/rotate-secret"), &json!({}))
        .await
        .expect("rotate");
    assert_eq!(r.status, 200, "{}", r.text());
    let second_key = r.value()["public_key"]
        .as_str()
        .expect("new public key")
        .to_string();
    assert_ne!(second_key, first_key);
    let shown = app
        .api()
        .get(&format!("/webhooks/{id}"))
        .await
        .expect("GET")
        .value();
    assert_eq!(shown["public_key"].as_str(), Some(second_key.as_str()));
    assert_eq!(
        shown["previous_public_key"].as_str(),
        Some(first_key.as_str())
    );
    wait_active_endpoints(&app, 0, 1).await;
    receiver.clear();
    post_events(app.api(), "order.created", 1, "rotating").await;
    let req = receiver
        .wait_for_requests(Some("/ed"), 1, WAIT)
        .await
        .remove(0);
    let sig = req.header("webhook-signature").expect("signature");
    assert_eq!(
        sig.split(' ').filter(|s| s.starts_with("v1a,")).count(),
        2,
        "{sig}"
    );
    for key in [&first_key, &second_key] {
        assert_eq!(pynacl(key, &req, None), "verified", "{key}");
        assert!(herald_verify(key, &req, &req.body));
        assert_eq!(pynacl(key, &req, Some(b"{}")), "refused");
    }
}
