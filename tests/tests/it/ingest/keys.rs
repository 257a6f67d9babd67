//! Secrets at rest across a master-key rotation: endpoints created under key
//! `old` (one of them still in the format before key ids), `herald-ingest
//! rotate-keys` run as a process with `new` first, every secret then read
//! with `new` alone, and a dispatcher that has only `new` signing with them.

use std::collections::HashMap;
use std::process::Command;

use herald_common::config::settings::{ENCRYPTION_KEY, ENCRYPTION_KEYS};
use herald_common::crypto::keyring::{insecure_ring as ring, seal_legacy};
use herald_common::crypto::{EncryptionKey, Keyring, Sealed};
use herald_tests::{create_endpoint, post_event, Binary, TestApp, TestAppOptions, TestReceiver};
use serde_json::json;
use uuid::Uuid;

use super::support::*;

const ENDPOINTS: usize = 12;

fn key(seed: &str) -> EncryptionKey {
    EncryptionKey::derive_insecure(seed.as_bytes())
}

fn keys_var(ids: &[&str]) -> String {
    let entries: Vec<String> = ids
        .iter()
        .map(|id| format!("{id}:{}", key(id).to_base64()))
        .collect();
    entries.join(",")
}

/// `herald-ingest rotate-keys --batch 5` with the app's variables and `keys`.
async fn rotate(app: &TestApp, keys: &str) -> (bool, String) {
    let bin = Binary::Ingest.path().await.expect("binary");
    let mut cmd = Command::new(bin);
    cmd.env_clear().envs(&app.env().0);
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    let out = cmd
        .args(["rotate-keys", "--batch", "5"])
        .env(ENCRYPTION_KEY.name, "")
        .env(ENCRYPTION_KEYS.name, keys)
        .output()
        .expect("run rotate-keys");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    (out.status.success(), format!("{text}{err}"))
}

async fn stored(app: &TestApp) -> Vec<(Uuid, Vec<u8>, Option<Vec<u8>>)> {
    let rows = app
        .db()
        .query(
            "SELECT id, secret_ciphertext, previous_secret_ciphertext FROM webhooks ORDER BY id",
            &[],
        )
        .await
        .expect("rows");
    rows.iter()
        .map(|r| {
            (
                r.try_get("id").expect("id"),
                r.try_get("secret_ciphertext").expect("secret"),
                r.try_get("previous_secret_ciphertext").expect("previous"),
            )
        })
        .collect()
}

#[tokio::test]
async fn rotate_keys_reseals_every_secret_under_the_new_key_and_delivery_still_signs() {
    let receiver = TestReceiver::start().await;
    let app = app_with(
        TestAppOptions::new()
            .env(ENCRYPTION_KEY.name, "")
            .env(ENCRYPTION_KEYS.name, keys_var(&["old"])),
    )
    .await;
    let mut secrets: HashMap<Uuid, String> = HashMap::new();
    let mut paths: HashMap<String, Uuid> = HashMap::new();
    for i in 0..ENDPOINTS {
        let path = format!("/e{i}");
        let e = create_endpoint(
            app.api(),
            &receiver.url(&path),
            &["order.created"],
            json!({}),
        )
        .await;
        secrets.insert(e.id, e.secret);
        paths.insert(path, e.id);
    }
    let ids: Vec<Uuid> = secrets.keys().copied().collect();
    // One endpoint mid-rotation (a previous secret), one in the legacy format.
    let rotated = app
        .api()
        .post_json(&format!("/webhooks/{}/rotate-secret", ids[0]), &json!({}))
        .await
        .expect("rotate");
    let previous = secrets.insert(
        ids[0],
        rotated.value()["secret"].as_str().expect("new").to_string(),
    );
    let legacy = seal_legacy(&key("old"), secrets[&ids[1]].as_bytes());
    app.db()
        .execute(
            "UPDATE webhooks SET secret_ciphertext = $2 WHERE id = $1",
            &[&ids[1], &legacy],
        )
        .await
        .expect("legacy row");
    let before = stored(&app).await;
    assert!(before
        .iter()
        .all(|(id, ct, _)| *id == ids[1] || Keyring::sealed_with(ct) == Sealed::Under("old")));

    let (ok, out) = rotate(&app, &keys_var(&["new", "old"])).await;
    assert!(ok, "{out}");
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("rotate-keys:"))
        .collect();
    assert_eq!(lines.len(), 4, "3 batches of 5 and the summary: {out}");
    assert!(
        lines[3].contains("12 endpoints read, 12 re-encrypted under key \"new\""),
        "{out}"
    );

    let only_new = ring(&["new"]);
    for (id, ct, prev) in stored(&app).await {
        assert_eq!(Keyring::sealed_with(&ct), Sealed::Under("new"), "{id}");
        assert_eq!(
            only_new.open_string(id, &ct).expect("new key reads it"),
            secrets[&id]
        );
        if id == ids[0] {
            let prev = prev.expect("previous secret kept");
            assert_eq!(only_new.open_string(id, &prev).ok(), previous);
        }
    }
    let (ok, again) = rotate(&app, &keys_var(&["new", "old"])).await;
    assert!(
        ok && again.contains("12 endpoints read, 0 re-encrypted"),
        "{again}"
    );
    // With the old key gone, nothing is left that needs it.
    let (ok, done) = rotate(&app, &keys_var(&["new"])).await;
    assert!(ok && done.contains("0 unreadable"), "{done}");

    let mut dispatcher = app
        .spawn_process(
            Binary::Dispatcher,
            &[
                (ENCRYPTION_KEY.name, ""),
                (ENCRYPTION_KEYS.name, &keys_var(&["new"])),
            ],
        )
        .await
        .expect("dispatcher");
    dispatcher
        .wait_healthy(herald_tests::WAIT)
        .await
        .expect("healthy");
    post_event(app.api(), "order.created", json!({"order_id": 123})).await;
    let got = receiver
        .wait_for_requests(None, ENDPOINTS, herald_tests::WAIT)
        .await;
    assert_eq!(got.len(), ENDPOINTS, "every endpoint got the event");
    let now = chrono::Utc::now().timestamp();
    for req in got {
        let secret = &secrets[&paths[&req.path]];
        let h = |n| req.header(n).unwrap_or_default();
        let signed = herald_common::verify(
            secret,
            h("webhook-id"),
            h("webhook-timestamp"),
            h("webhook-signature"),
            &req.body,
            now,
        );
        assert!(
            signed.is_ok(),
            "{} is signed with its endpoint's secret",
            req.path
        );
    }
    dispatcher.stop(herald_tests::WAIT).await;
}

#[tokio::test]
async fn a_secret_copied_into_another_row_does_not_decrypt() {
    let receiver = TestReceiver::start().await;
    let mut app = app_with(TestAppOptions::new()).await;
    let mut ids = Vec::new();
    for path in ["/a", "/b"] {
        let e = create_endpoint(
            app.api(),
            &receiver.url(path),
            &["order.created"],
            json!({}),
        )
        .await;
        ids.push(e.id);
    }
    app.db()
        .execute(
            "UPDATE webhooks SET secret_ciphertext = (SELECT secret_ciphertext FROM webhooks WHERE id = $1) WHERE id = $2",
            &[&ids[0], &ids[1]],
        )
        .await
        .expect("copy");
    app.start_dispatcher().await.expect("dispatcher");
    post_event(app.api(), "order.created", json!({"order_id": 123})).await;
    receiver
        .wait_for_requests(Some("/a"), 1, herald_tests::WAIT)
        .await;
    let row = herald_tests::wait_for(herald_tests::WAIT, || async {
        app.db()
            .query_opt(
                "SELECT last_error FROM deliveries WHERE webhook_id = $1 AND attempts > 0",
                &[&ids[1]],
            )
            .await
            .ok()
            .flatten()
    })
    .await
    .expect("the copied row's delivery was attempted");
    let error: Option<String> = row.try_get("last_error").expect("last_error");
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("another endpoint")),
        "refused for its secret: {error:?}"
    );
    assert!(
        receiver.requests_for("/b").is_empty(),
        "nothing signed with a stolen secret"
    );
    assert_eq!(receiver.requests_for("/a").len(), 1);
}
