//! The Grafana dashboard's model: what Grafana 10+ needs to load it, and
//! what makes it usable on any Herald (no hard-coded data source or instance).

use std::collections::BTreeSet;

use serde_json::Value;

use super::model::{self, catalogue, documented_family, exprs, is_row, panels, selectors, title};

/// Grafana 10.0 writes schemaVersion 38.
const GRAFANA_10_SCHEMA: u64 = 38;
const GRID_COLUMNS: u64 = 24;
const DATASOURCE: &str = "${datasource}";
const INSTANCE_MATCHER: &str = "instance=~\"$instance\"";
/// Grafana unit ids the dashboard may use.
const UNITS: &[&str] = &[
    "ops",
    "reqps",
    "s",
    "bytes",
    "short",
    "percentunit",
    "bool_yes_no",
];
/// The rows the dashboard is organised in.
const ROWS: &[&str] = &["Overview", "Delivery", "Queues", "API", "Resources"];

#[test]
fn dashboard_model_loads_in_grafana_10_and_fits_any_herald() {
    let dash = model::dashboard();
    let schema = dash["schemaVersion"].as_u64().unwrap_or(0);
    assert!(
        schema >= GRAFANA_10_SCHEMA,
        "schemaVersion {schema} is older than Grafana 10"
    );
    assert!(
        dash["uid"].as_str().is_some_and(|u| !u.is_empty()),
        "a fixed uid keeps links stable"
    );
    let all = panels(&dash);
    let rows: Vec<&str> = all.iter().filter(|p| is_row(p)).map(|p| title(p)).collect();
    assert_eq!(rows, ROWS, "rows");

    let ids: Vec<u64> = all
        .iter()
        .map(|p| p["id"].as_u64().expect("panel id"))
        .collect();
    let unique: BTreeSet<&u64> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "panel ids repeat: {ids:?}");
    assert_grid(&all);
    assert_variables(&dash);
    for panel in all.iter().filter(|p| !is_row(p)) {
        assert_panel(panel);
    }
    let text = dash.to_string();
    for host in ["127.0.0.1", "localhost", ":8080", ":9091"] {
        assert!(!text.contains(host), "the dashboard names a host ({host})");
    }
}

/// Inside the 24-column grid, and no two panels overlap.
fn assert_grid(all: &[&Value]) {
    let rect = |p: &Value| {
        let g = &p["gridPos"];
        let v = |k: &str| {
            g[k].as_u64()
                .unwrap_or_else(|| panic!("{}: gridPos.{k}", title(p)))
        };
        (v("x"), v("y"), v("w"), v("h"))
    };
    for p in all {
        let (x, _, w, h) = rect(p);
        assert!(w > 0 && h > 0, "{}: empty gridPos", title(p));
        assert!(
            x + w <= GRID_COLUMNS,
            "{}: beyond column {GRID_COLUMNS}",
            title(p)
        );
    }
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            let ((ax, ay, aw, ah), (bx, by, bw, bh)) = (rect(a), rect(b));
            let apart = ax + aw <= bx || bx + bw <= ax || ay + ah <= by || by + bh <= ay;
            assert!(apart, "panels {:?} and {:?} overlap", title(a), title(b));
        }
    }
}

/// `$datasource` (any Prometheus) and `$instance` (from the targets).
fn assert_variables(dash: &Value) {
    let vars = dash["templating"]["list"]
        .as_array()
        .expect("templating.list");
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no ${name} variable"))
    };
    let ds = var("datasource");
    assert_eq!(
        (&ds["type"], &ds["query"]),
        (&"datasource".into(), &"prometheus".into())
    );
    let instance = var("instance");
    assert_eq!(instance["datasource"]["uid"], DATASOURCE);
    assert_eq!(instance["includeAll"], true);
    assert_eq!(instance["allValue"], ".*");
    let query = instance["definition"].as_str().unwrap_or_default();
    assert!(
        query.starts_with("label_values(herald_") && query.ends_with(", instance)"),
        "{query}"
    );
}

fn assert_panel(panel: &Value) {
    let name = title(panel);
    assert_eq!(
        panel["datasource"]["uid"], DATASOURCE,
        "{name}: panel data source"
    );
    let unit = panel["fieldConfig"]["defaults"]["unit"]
        .as_str()
        .unwrap_or_default();
    assert!(
        UNITS.contains(&unit),
        "{name}: unit {unit:?} is not one of {UNITS:?}"
    );
    let targets = panel["targets"].as_array().expect("targets");
    assert!(!targets.is_empty(), "{name}: no query");
    let catalogue = catalogue();
    for t in targets {
        assert_eq!(
            t["datasource"]["uid"], DATASOURCE,
            "{name}: query data source"
        );
        let expr = t["expr"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: a target without expr"));
        assert_eq!(
            expr.matches("instance").count(),
            2 * expr.matches(INSTANCE_MATCHER).count(),
            "{name}: instances are chosen by $instance only: {expr}"
        );
        for (metric, matchers) in selectors(expr) {
            let has = matchers.is_some_and(|m| m.contains(INSTANCE_MATCHER));
            assert!(has, "{name}: {metric} is not filtered by $instance: {expr}");
            if metric.starts_with("herald_") {
                let known = documented_family(&catalogue, &metric);
                assert!(
                    known.is_some(),
                    "{name}: {metric} is not in docs/metrics.md"
                );
            }
        }
    }
    assert!(!exprs(panel).is_empty());
}
