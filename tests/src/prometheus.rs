//! A real Prometheus server for tests: `deploy/prometheus/prometheus.yml`
//! and `alerts.yml` copied into a temp dir with a short scrape interval and
//! target lists naming the test's nodes, on a free port, killed and removed
//! on `Drop`. Queried through its HTTP API.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, bail};
use serde_json::{json, Value};

use crate::http::ApiClient;
use crate::reaper;
use crate::server_child::ServerChild;
use crate::support::{binary_from_env, find_in_path, free_port, init_test_log, workspace_root};

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The `prometheus` binary: `HERALD_PROMETHEUS`, else `PATH` (Debian's
/// package `prometheus`, which `deploy/local/test.sh` installs).
pub fn prometheus_binary() -> anyhow::Result<PathBuf> {
    if let Some(found) = binary_from_env("HERALD_PROMETHEUS") {
        return found;
    }
    find_in_path("prometheus").ok_or_else(|| {
        anyhow!("prometheus not found: run deploy/local/test.sh (it installs it) or set HERALD_PROMETHEUS")
    })
}

/// What Prometheus scrapes: `host:port` of each node, per job.
#[derive(Debug, Clone, Default)]
pub struct ScrapeTargets {
    pub ingest: Vec<String>,
    pub dispatchers: Vec<String>,
}

/// One `prometheus` process.
pub struct PrometheusServer {
    // Before the dir: the process goes before its files.
    child: ServerChild,
    _dir: tempfile::TempDir,
    api: ApiClient,
}

impl PrometheusServer {
    /// Start Prometheus with the project's local config (scrape and rule
    /// evaluation every `interval`) against `targets`; returns once ready.
    pub async fn start(targets: &ScrapeTargets, interval: Duration) -> anyhow::Result<Self> {
        init_test_log();
        let binary = prometheus_binary()?;
        let dir = tempfile::Builder::new().prefix("herald-prom-").tempdir()?;
        reaper::at_exit(&format!("rm -rf '{}'", dir.path().display()));
        write_config(dir.path(), targets, interval)?;
        let port = free_port()?;
        let mut cmd = Command::new(&binary);
        cmd.arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let log = dir.path().join("prometheus.log");
        let child = ServerChild::spawn("prometheus", &mut cmd, &log)?;
        let mut server = Self {
            child,
            _dir: dir,
            api: ApiClient::new(format!("http://127.0.0.1:{port}")),
        };
        let api = &server.api;
        server
            .child
            .wait_ready(START_TIMEOUT, || async {
                matches!(api.get("/-/ready").await, Ok(r) if r.status.is_success())
            })
            .await?;
        Ok(server)
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> &str {
        self.api.base()
    }

    /// The last lines Prometheus logged.
    pub fn log(&self) -> String {
        self.child.log()
    }

    /// `GET /api/v1/<path>`: its `data`, or the error Prometheus gave.
    pub async fn api(&self, path: &str) -> anyhow::Result<Value> {
        let r = self.api.get(&format!("/api/v1/{path}")).await?;
        let body = r.value();
        if body["status"] != "success" {
            bail!("{path}: {} {}", r.status, body["error"]);
        }
        Ok(body["data"].clone())
    }

    /// Evaluate an instant query: its series (`metric` labels and `value`).
    pub async fn query(&self, expr: &str) -> anyhow::Result<Vec<Value>> {
        let q: String = url::form_urlencoded::byte_serialize(expr.as_bytes()).collect();
        let data = self.api(&format!("query?query={q}")).await?;
        match &data["result"] {
            Value::Array(series) => Ok(series.clone()),
            other => Ok(vec![json!({ "metric": {}, "value": other })]),
        }
    }

    /// The value of a query that returns one series, if it does.
    pub async fn scalar(&self, expr: &str) -> Option<f64> {
        let series = self.query(expr).await.ok()?;
        match series.as_slice() {
            [one] => one["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }

    /// Active targets as (job, instance, health).
    pub async fn targets(&self) -> anyhow::Result<Vec<(String, String, String)>> {
        let data = self.api("targets?state=active").await?;
        let targets = data["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(targets
            .iter()
            .map(|t| {
                let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
                (
                    s(&t["labels"]["job"]),
                    s(&t["labels"]["instance"]),
                    s(&t["health"]),
                )
            })
            .collect())
    }

    /// Every loaded rule, as Prometheus reports it (`name`, `query`,
    /// `annotations`, `health`, ...).
    pub async fn rules(&self) -> anyhow::Result<Vec<Value>> {
        let data = self.api("rules").await?;
        let groups = data["groups"].as_array().cloned().unwrap_or_default();
        Ok(groups
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect())
    }
}

/// `prometheus.yml` with both intervals set to `interval`, `alerts.yml`, and
/// the file_sd target lists, as `deploy/local/run.sh` lays them out.
fn write_config(
    dir: &std::path::Path,
    targets: &ScrapeTargets,
    interval: Duration,
) -> anyhow::Result<()> {
    let source = workspace_root().join("deploy/prometheus");
    let config = std::fs::read_to_string(source.join("prometheus.yml"))?;
    let every = format!("{}ms", interval.as_millis());
    let mut replaced = 0;
    let config: Vec<String> = config
        .lines()
        .map(|line| match line.trim_start().split_once(':') {
            Some(("scrape_interval" | "evaluation_interval", _)) => {
                replaced += 1;
                let (key, _) = line.split_once(':').unwrap_or((line, ""));
                format!("{key}: {every}")
            }
            _ => line.to_string(),
        })
        .collect();
    if replaced != 2 {
        bail!("prometheus.yml: expected a global scrape_interval and evaluation_interval");
    }
    std::fs::write(dir.join("prometheus.yml"), config.join("\n"))?;
    std::fs::copy(source.join("alerts.yml"), dir.join("alerts.yml"))?;
    std::fs::create_dir_all(dir.join("targets"))?;
    for (file, list) in [
        ("ingest.json", &targets.ingest),
        ("dispatcher.json", &targets.dispatchers),
    ] {
        let body = json!([{ "targets": list }]);
        std::fs::write(dir.join("targets").join(file), body.to_string())?;
    }
    Ok(())
}
