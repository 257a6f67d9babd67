//! A real Prometheus, with the project's scrape config and alert rules,
//! scrapes ingest and two dispatchers while events are delivered, and
//! evaluates every query of the dashboard and of the alert rules.

use std::collections::BTreeSet;
use std::time::Duration;

use herald_tests::{wait_for, workspace_root, PrometheusServer};
use serde_json::Value;
use tokio::time::Instant;

use super::model::{self, exprs, for_prometheus, is_row, panels, selectors, title};
use super::support::Cluster;

const EVENTS: usize = 40;
const SCRAPE_EVERY: Duration = Duration::from_secs(1);
/// Bound on Prometheus catching up (scrapes, rule evaluations, 5 s gauges).
const CATCH_UP: Duration = Duration::from_secs(60);
const ALERT_RULES: usize = 8;

#[tokio::test]
async fn prometheus_counts_every_delivery_and_runs_every_dashboard_and_alert_query() {
    let cluster = Cluster::loaded(2, EVENTS).await;
    let targets = cluster.targets();
    let prom = PrometheusServer::start(&targets, SCRAPE_EVERY)
        .await
        .expect("prometheus");
    let mut nodes: BTreeSet<(String, String)> = BTreeSet::new();
    nodes.extend(
        targets
            .ingest
            .iter()
            .map(|i| ("herald-ingest".into(), i.clone())),
    );
    nodes.extend(
        targets
            .dispatchers
            .iter()
            .map(|i| ("herald-dispatcher".into(), i.clone())),
    );
    assert_every_target_up(&prom, &nodes).await;

    let delivered = "sum(herald_deliveries_total{outcome=\"delivered\"})";
    let caught_up = wait_for(CATCH_UP, || async {
        let n = prom.scalar(delivered).await?;
        (n == EVENTS as f64).then_some(n)
    })
    .await;
    assert!(
        caught_up.is_ok(),
        "{delivered} is {:?}, not {EVENTS}",
        prom.scalar(delivered).await
    );

    // The $instance variable's query lists every node.
    let info = prom.query("herald_build_info").await.expect("build info");
    let instances: BTreeSet<String> = info.iter().map(|s| label(s, "instance")).collect();
    let expected: BTreeSet<String> = nodes.iter().map(|(_, i)| i.clone()).collect();
    assert_eq!(instances, expected, "herald_build_info instances");

    assert_values(&prom).await;
    assert_dashboard_queries_return_series(&prom).await;
    assert_alert_rules_evaluate(&prom).await;
}

/// What the run must show beyond the delivered count: one endpoint, one
/// failed attempt (the 503) retried, nothing left waiting, every node
/// connected and measured.
async fn assert_values(prom: &PrometheusServer) {
    let nodes = 3.0;
    let checks = [
        ("sum(herald_delivery_attempts_total{result=\"5xx\"})", 1.0),
        (
            "sum(herald_delivery_attempts_total{result=\"2xx\"})",
            EVENTS as f64,
        ),
        ("sum(herald_retries_scheduled_total)", 1.0),
        ("max(herald_endpoints{state=\"active\"})", 1.0),
        ("max(herald_endpoints{state=\"disabled\"})", 0.0),
        ("max(herald_retry_backlog)", 0.0),
        ("max(herald_outbox_pending)", 0.0),
        ("sum(herald_nats_connected)", nodes),
        ("count(herald_db_pool_max_connections == 8)", nodes),
        ("count(herald_process_resident_memory_bytes > 1e6)", nodes),
        ("count(herald_build_info == 1)", nodes),
    ];
    for (expr, want) in checks {
        let seen = wait_for(CATCH_UP, || async {
            (prom.scalar(expr).await? == want).then_some(())
        })
        .await;
        assert!(
            seen.is_ok(),
            "{expr} is {:?}, not {want}",
            prom.scalar(expr).await
        );
    }
}

fn label(series: &Value, name: &str) -> String {
    series["metric"][name]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn assert_every_target_up(prom: &PrometheusServer, nodes: &BTreeSet<(String, String)>) {
    let all_up = wait_for(CATCH_UP, || async {
        let targets = prom.targets().await.ok()?;
        let up: BTreeSet<(String, String)> = targets
            .into_iter()
            .filter(|(_, _, health)| health == "up")
            .map(|(job, instance, _)| (job, instance))
            .collect();
        (&up == nodes).then_some(())
    })
    .await;
    assert!(
        all_up.is_ok(),
        "targets: {:?}, wanted {nodes:?} up",
        prom.targets().await
    );
}

/// Every target of every panel parses and returns at least one series.
/// (No panel is exempt: error ratios divide counters that start at 0.)
async fn assert_dashboard_queries_return_series(prom: &PrometheusServer) {
    let dash = model::dashboard();
    let deadline = Instant::now() + CATCH_UP;
    let mut failures = Vec::new();
    let mut queried = BTreeSet::new();
    for panel in panels(&dash).into_iter().filter(|p| !is_row(p)) {
        for expr in exprs(panel) {
            queried.extend(selectors(expr).into_iter().map(|(name, _)| name));
            let q = for_prometheus(expr);
            let left = deadline.saturating_duration_since(Instant::now());
            let found = wait_for(left, || async {
                prom.query(&q).await.ok().filter(|s| !s.is_empty())
            })
            .await;
            if found.is_err() {
                let why = match prom.query(&q).await {
                    Ok(_) => "no series".to_string(),
                    Err(e) => format!("{e:#}"),
                };
                failures.push(format!("{}: {q}: {why}", title(panel)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "dashboard queries:\n{}",
        failures.join("\n")
    );
    let scraped = prom
        .api("label/__name__/values")
        .await
        .expect("metric names");
    let scraped: BTreeSet<&str> = scraped
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let unknown: Vec<&String> = queried
        .iter()
        .filter(|n| !scraped.contains(n.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "the dashboard queries names nobody exports: {unknown:?}"
    );
}

/// Every rule is loaded and evaluated without error, its query parses, it
/// links a runbook section that exists; none fires on this healthy cluster.
async fn assert_alert_rules_evaluate(prom: &PrometheusServer) {
    let evaluated = wait_for(CATCH_UP, || async {
        let rules = prom.rules().await.ok()?;
        let ok = rules.len() == ALERT_RULES && rules.iter().all(|r| r["health"] == "ok");
        ok.then_some(rules)
    })
    .await;
    let rules = match evaluated {
        Ok(rules) => rules,
        Err(_) => panic!("rules not all evaluated: {:#?}", prom.rules().await),
    };
    let runbooks = runbook_anchors();
    for rule in &rules {
        let name = rule["name"].as_str().unwrap_or_default();
        let query = rule["query"].as_str().unwrap_or_default();
        if let Err(e) = prom.query(query).await {
            panic!("{name}: {query}: {e:#}");
        }
        let a = &rule["annotations"];
        for key in ["summary", "description"] {
            assert!(
                a[key].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: no {key}"
            );
        }
        let runbook = a["runbook"].as_str().unwrap_or_default();
        let anchor = runbook
            .strip_prefix("docs/operations.md#")
            .unwrap_or_default();
        assert!(
            runbooks.contains(anchor),
            "{name}: runbook {runbook:?} has no section"
        );
    }
    let firing = prom.query("ALERTS").await.expect("ALERTS");
    assert!(
        firing.is_empty(),
        "alerts on a healthy cluster: {firing:#?}"
    );
}

/// Anchors of the headings of `docs/operations.md` (GitHub's slugs).
fn runbook_anchors() -> BTreeSet<String> {
    let text = std::fs::read_to_string(workspace_root().join("docs/operations.md"))
        .expect("docs/operations.md");
    text.lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|h| {
            let h = h.trim_start_matches('#').trim().to_lowercase();
            h.chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect()
}
