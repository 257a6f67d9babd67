//! What the checks of the deployment files share: the external checkers
//! (`deploy/local/test.sh` installs them and names them in `HERALD_HADOLINT`,
//! `HERALD_KUBECTL`, `HERALD_DOCKER_COMPOSE`), YAML documents as JSON values,
//! the settings the code reads, and whether a route is really served.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use herald_common::config::settings::SETTINGS;
use herald_tests::{skip_or_fail, ApiClient, Binary, TestApp};
use serde::Deserialize;
use serde_json::Value;

/// The checker named by `var`, else `name` on the PATH; `None` (after
/// printing that `test` skipped, or failing in CI) when there is none.
pub fn tool(test: &str, var: &str, name: &str) -> Option<PathBuf> {
    let found = match herald_tests::binary_from_env(var) {
        Some(found) => Some(found.unwrap_or_else(|e| panic!("{e}"))),
        None => herald_tests::find_in_path(name),
    };
    if found.is_none() {
        let reason = format!("{name} is not installed ({var}; deploy/local/test.sh installs it)");
        skip_or_fail(test, &reason);
    }
    found
}

/// Run `tool args...` in the workspace root; fails the test unless it succeeds.
pub fn run(tool: &PathBuf, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .current_dir(herald_tests::workspace_root())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{stdout}\n{stderr}",
        tool.display()
    );
    stdout
}

/// Every document of a (multi-document) YAML text.
pub fn yaml_docs(text: &str) -> Vec<Value> {
    yaml_serde::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// A file of the workspace as text.
pub fn read(path: &str) -> String {
    let full = herald_tests::workspace_root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Every `HERALD_*` variable the binaries read: the declared settings (the
/// parser reads exactly these, a unit test of `herald_common` checks it).
pub fn settings() -> BTreeSet<String> {
    SETTINGS.iter().map(|s| s.name.to_string()).collect()
}

/// The binary a container runs, from its command: `herald-ingest` (with
/// no subcommand, `serve` or `migrate`) or `herald-dispatcher`.
pub fn herald_binary(command: &[String]) -> Binary {
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["herald-ingest"] | ["herald-ingest", "serve"] | ["herald-ingest", "migrate"] => {
            Binary::Ingest
        }
        ["herald-dispatcher"] => Binary::Dispatcher,
        other => panic!("not a Herald command: {other:?}"),
    }
}

/// The port of a `host:port` listen address.
pub fn port_of(listen: &str) -> u16 {
    let port = listen.rsplit_once(':').and_then(|(_, p)| p.parse().ok());
    port.unwrap_or_else(|| panic!("{listen:?} has no port"))
}

/// Each (binary, path) answers 200 on a running Herald.
pub async fn assert_served(routes: &BTreeSet<(&'static str, String)>) {
    let app = TestApp::spawn(herald_tests::TestAppOptions::new()).await;
    for (binary, path) in routes {
        let base = match *binary {
            "herald-ingest" => app.ingest_url(),
            _ => app.dispatcher_url(0).expect("a dispatcher"),
        };
        let r = ApiClient::new(base).get(path).await.expect("GET");
        assert_eq!(r.status, 200, "{binary} {path}: {}", r.text());
    }
}
