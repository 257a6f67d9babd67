//! A webhook secret is shown on create and rotate only: never in a GET,
//! a log line, or the database in plain text.

use std::io::Write;
use std::sync::{Arc, Mutex};

use herald_tests::{create_endpoint, UNREACHABLE_URL};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

use super::support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default()
    }
}

// A current-thread runtime (the default) runs ingest's tasks on this thread,
// so the scoped subscriber sees every log line they write.
#[tokio::test]
async fn the_secret_never_appears_in_responses_logs_or_the_table() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = app().await;
    let chosen = "my-very-own-secret-value";
    let r = app
        .api()
        .post_json("/webhooks", &json!({"url": "http://127.0.0.1:9/hook", "event_types": ["order.created"], "secret": chosen}))
        .await
        .expect("create");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.value()["secret"], chosen);
    let id = r.uuid("id");
    let generated = create_endpoint(app.api(), UNREACHABLE_URL, &["order.created"], json!({}))
        .await
        .id;
    let r = rotate_secret(app.api(), id).await;
    let rotated = r.value()["secret"].as_str().expect("secret").to_string();
    assert!(rotated.starts_with("whsec_"));

    let mut seen = String::new();
    for path in [
        format!("/webhooks/{id}"),
        format!("/webhooks/{generated}"),
        "/webhooks".to_string(),
        "/webhooks?limit=1".to_string(),
    ] {
        let r = app.api().get(&path).await.expect("get");
        assert_eq!(r.status, 200);
        assert!(!r.text().contains("secret\""), "{path}: {}", r.text());
        seen.push_str(&r.text());
    }
    let patched = app
        .api()
        .patch_json(&format!("/webhooks/{id}"), &json!({"description": "x"}))
        .await
        .expect("patch")
        .text();
    seen.push_str(&patched);
    assert!(!seen.contains(chosen) && !seen.contains(&rotated));

    // The table holds ciphertexts only, which decrypt to the secrets.
    let keys = app.config().security.keys.keyring().expect("keys");
    let row = app.db().query_one("SELECT secret_ciphertext, previous_secret_ciphertext, webhooks::text AS as_text FROM webhooks WHERE id = $1", &[&id]).await.expect("row");
    let (current, previous, as_text): (Vec<u8>, Option<Vec<u8>>, String) = (
        row.try_get("secret_ciphertext").expect("secret"),
        row.try_get("previous_secret_ciphertext").expect("previous"),
        row.try_get("as_text").expect("as text"),
    );
    assert_eq!(keys.open_string(id, &current).expect("decrypt"), rotated);
    assert_eq!(
        keys.open_string(id, &previous.expect("previous"))
            .expect("decrypt"),
        chosen
    );
    for secret in [chosen, rotated.as_str()] {
        assert!(!as_text.contains(secret));
        let hex = secret
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        assert!(!as_text.contains(&hex), "plain secret bytes in the row");
    }

    let admin_token = app.admin_token().to_string();
    drop(app);
    let text = logs.text();
    assert!(
        text.contains("Endpoint created"),
        "logs were captured: {text}"
    );
    assert!(!text.contains(chosen), "the chosen secret was logged");
    assert!(!text.contains(&rotated), "the rotated secret was logged");
    assert!(!text.contains(&admin_token), "the admin token was logged");
}
