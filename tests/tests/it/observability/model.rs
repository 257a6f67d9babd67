//! Reading what the observability tests check: the Grafana dashboard and its
//! queries, Prometheus' text exposition, and the catalogue in
//! `docs/metrics.md`.

use std::collections::{BTreeMap, BTreeSet};

use herald_tests::workspace_root;
use serde_json::Value;

pub const DASHBOARD: &str = "deploy/grafana/dashboards/herald.json";

/// The dashboard, parsed (the test fails on invalid JSON).
pub fn dashboard() -> Value {
    let text = std::fs::read_to_string(workspace_root().join(DASHBOARD)).expect(DASHBOARD);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DASHBOARD} is not valid JSON: {e}"))
}

/// Every panel, rows included, and the panels inside collapsed rows.
pub fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().into_iter().flatten() {
        out.push(p);
        out.extend(p["panels"].as_array().into_iter().flatten());
    }
    out
}

pub fn is_row(panel: &Value) -> bool {
    panel["type"] == "row"
}

pub fn title(panel: &Value) -> &str {
    panel["title"].as_str().unwrap_or("(untitled)")
}

/// The PromQL of each target of `panel`.
pub fn exprs(panel: &Value) -> Vec<&str> {
    let targets = panel["targets"].as_array().into_iter().flatten();
    targets.filter_map(|t| t["expr"].as_str()).collect()
}

/// A dashboard query as Grafana sends it with "All" instances selected.
pub fn for_prometheus(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$instance", ".*")
}

/// Each metric selector of `expr` (`herald_*` and `up`) with its matcher
/// block (`None` when it has none).
pub fn selectors(expr: &str) -> Vec<(String, Option<String>)> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find(|c: char| word(c)) {
        let tail = &rest[start..];
        let end = tail.find(|c: char| !word(c)).unwrap_or(tail.len());
        let (name, after) = tail.split_at(end);
        let is_metric = name.starts_with("herald_") || name == "up";
        let matchers = after
            .strip_prefix('{')
            .and_then(|m| m.find('}').map(|close| m[..close].to_string()));
        if is_metric && !after.starts_with('(') {
            out.push((name.to_string(), matchers));
        }
        rest = after;
    }
    out
}

/// One metric family of a `/metrics` answer.
#[derive(Debug, Default, Clone)]
pub struct Family {
    pub kind: String,
    pub help: String,
    pub labels: BTreeSet<String>,
}

/// Parse Prometheus' text format: families by name with their `# TYPE`,
/// `# HELP` and the label names of their samples (`le` aside).
pub fn exposition(text: &str) -> BTreeMap<String, Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            families.entry(name.to_string()).or_default().help = help.to_string();
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            families.entry(name.to_string()).or_default().kind = kind.to_string();
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            let (sample, labels) = line.split_at(end);
            let family = family_of(&families, sample);
            let names = label_names(labels).into_iter().filter(|l| l != "le");
            families.entry(family).or_default().labels.extend(names);
        }
    }
    families
}

fn family_of(families: &BTreeMap<String, Family>, sample: &str) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = sample.strip_suffix(suffix) {
            if families.get(base).is_some_and(|f| f.kind == "histogram") {
                return base.to_string();
            }
        }
    }
    sample.to_string()
}

/// Label names of `{a="x",b="y\"z"} 1` (values may hold braces and quotes).
fn label_names(block: &str) -> Vec<String> {
    let Some(mut rest) = block.strip_prefix('{') else {
        return Vec::new();
    };
    let mut names = Vec::new();
    while let Some((name, after)) = rest.split_once("=\"") {
        names.push(name.trim_start_matches(',').trim().to_string());
        let mut escaped = false;
        let close = after.char_indices().find(|&(_, c)| {
            let end = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            end
        });
        let Some((i, _)) = close else { break };
        rest = &after[i + 1..];
        if rest.starts_with('}') {
            break;
        }
    }
    names
}

/// One row of the catalogue.
#[derive(Debug, Clone)]
pub struct Documented {
    pub kind: String,
    pub unit: String,
    pub labels: BTreeSet<String>,
    pub exported_by: String,
    pub meaning: String,
}

/// The catalogue: rows `| \`name\` | type | unit | labels | exported by | meaning |`.
pub fn catalogue() -> BTreeMap<String, Documented> {
    let text =
        std::fs::read_to_string(workspace_root().join("docs/metrics.md")).expect("docs/metrics.md");
    let ticked = |s: &str| -> BTreeSet<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `herald_")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [name, kind, unit, labels, exported_by, meaning] = cells[..] else {
            panic!("docs/metrics.md: a metric row needs six cells: {line}");
        };
        let name = name.trim_matches('`').to_string();
        let row = Documented {
            kind: kind.to_string(),
            unit: unit.to_string(),
            labels: ticked(labels),
            exported_by: exported_by.to_string(),
            meaning: meaning.to_string(),
        };
        assert!(
            out.insert(name.clone(), row).is_none(),
            "{name} documented twice"
        );
    }
    out
}

/// The documented family a queried series name belongs to
/// (`herald_x_bucket` → `herald_x` for a histogram).
pub fn documented_family(catalogue: &BTreeMap<String, Documented>, name: &str) -> Option<String> {
    if catalogue.contains_key(name) {
        return Some(name.to_string());
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        (catalogue.get(base)?.kind == "histogram").then(|| base.to_string())
    })
}
