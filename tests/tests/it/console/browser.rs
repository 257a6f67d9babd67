//! The console in a real browser: `tests/browser/console.test.mjs` drives
//! Debian's headless Chromium through playwright-core against Herald
//! started here (ingest, a dispatcher, a test receiver), signs in, creates
//! endpoints, sends test events, retries a failed delivery from the page,
//! filters, opens the attempts and signs in as a tenant. Its screenshots
//! go to a temp dir, or to docs/console/ with `HERALD_WRITE_SCREENSHOTS=1`
//! (so a test run leaves the tracked images alone). `deploy/local/test.sh` installs chromium, Node.js
//! and the npm packages (`npm ci` in tests/browser) when missing.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use herald_tests::{
    create_endpoint, tenant_with_key, workspace_root, Behavior, TestAppOptions, TestReceiver,
};
use serde_json::json;
use tokio::process::Command;

use super::support::*;

/// The whole browser run is bounded.
const TIMEOUT: Duration = Duration::from_secs(240);

fn chromium() -> PathBuf {
    std::env::var_os("HERALD_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

#[tokio::test]
async fn the_console_works_in_a_real_browser() {
    let dir = workspace_root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir() && chromium().exists(),
        "run deploy/local/test.sh: it installs chromium, Node.js and the npm packages of tests/browser"
    );
    let app = app(TestAppOptions::new()).await;
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/flaky", Behavior::fail_first(4, 500));
    let (tenant_api, _) = tenant_with_key(app.api(), "acme").await;
    let tenant_endpoint = receiver.url("/acme");
    create_endpoint(&tenant_api, &tenant_endpoint, &["order.created"], json!({})).await;
    let tenant_key = tenant_api_key(&tenant_api);
    let profile = tempfile::tempdir().expect("profile dir");
    let scratch = tempfile::tempdir().expect("screenshot dir");
    let shots = match std::env::var("HERALD_WRITE_SCREENSHOTS").as_deref() {
        Ok("1") => workspace_root().join("docs/console"),
        _ => scratch.path().to_path_buf(),
    };

    let mut child = Command::new("node")
        .arg(dir.join("console.test.mjs"))
        .current_dir(&dir)
        .env("HERALD_URL", app.ingest_url())
        .env("HERALD_ADMIN_TOKEN", app.admin_token())
        .env("HERALD_TENANT", "acme")
        .env("HERALD_TENANT_KEY", tenant_key)
        .env("HERALD_TENANT_ENDPOINT", &tenant_endpoint)
        .env("HERALD_RECEIVER_OK", receiver.url("/ok"))
        .env("HERALD_RECEIVER_FLAKY", receiver.url("/flaky"))
        .env("HERALD_SCREENSHOTS", &shots)
        .env("HERALD_CHROMIUM", chromium())
        .env("HERALD_PROFILE", profile.path())
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node (Node.js) runs");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let read = |mut r: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        tokio::spawn(async move {
            let mut s = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut r, &mut s).await;
            s
        })
    };
    let (out, err) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let status = match tokio::time::timeout(TIMEOUT, child.wait()).await {
        Ok(status) => status.expect("node exit status"),
        Err(_) => {
            let _ = child.kill().await;
            panic!("the browser test took longer than {TIMEOUT:?}");
        }
    };
    let (out, err) = (out.await.unwrap_or_default(), err.await.unwrap_or_default());
    println!("{out}");
    assert!(
        status.success(),
        "browser test failed ({status}):\n{out}\n{err}"
    );
    assert!(out.contains(" passed, 0 failed"), "{out}");
    // Every screenshot docs/console.md shows was taken.
    for png in documented_screenshots() {
        let taken = std::fs::metadata(shots.join(&png))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(taken > 0, "no screenshot {png} in {}", shots.display());
    }
    // What the browser did reached Herald: two test events, one retried.
    assert_eq!(receiver.requests_for("/ok").len(), 1);
    assert_eq!(receiver.requests_for("/flaky").len(), 5);
}

/// The `console/<name>.png` images docs/console.md shows.
fn documented_screenshots() -> Vec<String> {
    let doc =
        std::fs::read_to_string(workspace_root().join("docs/console.md")).expect("docs/console.md");
    let names: Vec<String> = doc
        .split("(console/")
        .skip(1)
        .filter_map(|rest| {
            rest.split_once(".png)")
                .map(|(name, _)| format!("{name}.png"))
        })
        .collect();
    assert!(!names.is_empty(), "docs/console.md shows no screenshot");
    names
}

/// The key a tenant client sends.
fn tenant_api_key(api: &herald_tests::ApiClient) -> String {
    api.token().expect("a tenant key").to_string()
}
