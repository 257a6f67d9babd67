//! schemathesis against ingest's `/openapi.json`: every operation gets a
//! bounded number of generated requests with the admin token, and the run
//! fails on any 5xx or any response outside the document (status, content
//! type, body schema). It runs when `HERALD_TEST_SCHEMATHESIS=1`, which
//! `deploy/local/test.sh` sets for a full run (it also installs the
//! `schemathesis` package and names it in `HERALD_SCHEMATHESIS`); otherwise
//! it says that it skipped. `SCHEMATHESIS_MAX_EXAMPLES` (20) sets the
//! examples per operation.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use herald_tests::{TestApp, TestAppOptions};
use tokio::process::Command;

const TEST: &str = "ingest::schemathesis";
/// The whole run is bounded.
const TIMEOUT: Duration = Duration::from_secs(20 * 60);
const CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

/// `HERALD_SCHEMATHESIS`, else `schemathesis` on the PATH, else the one in
/// the test script's venv.
fn schemathesis() -> PathBuf {
    match herald_tests::binary_from_env("HERALD_SCHEMATHESIS") {
        Some(found) => found.unwrap_or_else(|e| panic!("{e}")),
        None => herald_tests::find_in_path("schemathesis").unwrap_or_else(|| {
            herald_tests::workspace_root().join(".herald/venv/bin/schemathesis")
        }),
    }
}

#[tokio::test]
async fn generated_requests_get_no_server_error_and_no_answer_outside_the_document() {
    if std::env::var("HERALD_TEST_SCHEMATHESIS").as_deref() != Ok("1") {
        let reason =
            "HERALD_TEST_SCHEMATHESIS is not 1 (deploy/local/test.sh sets it for a full run)";
        return herald_tests::skip(TEST, reason);
    }
    let app = TestApp::spawn(TestAppOptions::new().dispatchers(0)).await;
    let examples = std::env::var("SCHEMATHESIS_MAX_EXAMPLES").unwrap_or_else(|_| "20".into());
    // schemathesis keeps its state in .schemathesis/ of its working directory.
    let work = tempfile::tempdir().expect("tempdir");
    let run = Command::new(schemathesis())
        .arg("run")
        .arg(format!("{}/openapi.json", app.ingest_url()))
        .arg("--header")
        .arg(format!("Authorization: Bearer {}", app.admin_token()))
        .args([
            "--checks",
            CHECKS,
            "--max-examples",
            &examples,
            "--no-color",
        ])
        .current_dir(work.path())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("schemathesis took longer than {TIMEOUT:?}"))
        .unwrap_or_else(|e| {
            panic!("cannot run schemathesis ({e}); run deploy/local/test.sh, which installs it")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
