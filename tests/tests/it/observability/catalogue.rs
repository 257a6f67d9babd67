//! `docs/metrics.md` against what the binaries export after a short run:
//! every exported family is documented with its type, unit, labels, the
//! binary exporting it and its `# HELP` text, and nothing documented is gone.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::model::{catalogue, exposition, Documented, Family};
use super::support::Cluster;

/// Gauges are sampled every 5 s; the first sample comes at start.
const SETTLE: Duration = Duration::from_secs(30);

/// Each exported family, merged over the processes, with who exports it.
type Exported = BTreeMap<String, (Family, BTreeSet<&'static str>)>;

async fn exported(cluster: &Cluster) -> Exported {
    let mut out: Exported = BTreeMap::new();
    for (binary, text) in cluster.scrape().await {
        for (name, family) in exposition(&text) {
            let entry = out
                .entry(name)
                .or_insert_with(|| (family.clone(), BTreeSet::new()));
            entry.0.labels.extend(family.labels);
            entry.1.insert(binary);
        }
    }
    out
}

#[tokio::test]
async fn metrics_catalogue_lists_exactly_what_the_binaries_export() {
    let cluster = Cluster::loaded(1, 5).await;
    let documented = catalogue();
    let complete = herald_tests::wait_for(SETTLE, || async {
        let now = exported(&cluster).await;
        documented
            .keys()
            .all(|k| now.contains_key(k))
            .then_some(now)
    })
    .await;
    let exported = match complete {
        Ok(e) => e,
        Err(_) => exported(&cluster).await,
    };
    let names = |m: &dyn Fn(&String) -> bool| -> Vec<String> {
        documented
            .keys()
            .chain(exported.keys())
            .filter(|n| m(n))
            .cloned()
            .collect()
    };
    let missing = names(&|n| !exported.contains_key(n));
    let stale = names(&|n| !documented.contains_key(n));
    assert!(
        missing.is_empty(),
        "documented but not exported (stale docs?): {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "exported but not in docs/metrics.md: {stale:?}"
    );
    for (name, (family, binaries)) in &exported {
        check_row(name, family, binaries, &documented[name]);
    }
}

fn check_row(name: &str, family: &Family, binaries: &BTreeSet<&str>, doc: &Documented) {
    assert_eq!(doc.kind, family.kind, "{name}: type");
    assert_eq!(doc.labels, family.labels, "{name}: labels");
    let by = match binaries.len() {
        2 => "both",
        _ => binaries.first().copied().unwrap_or_default(),
    };
    assert_eq!(doc.exported_by, by, "{name}: exported by");
    assert!(!family.help.is_empty(), "{name}: no # HELP line");
    assert!(
        doc.meaning.starts_with(&family.help),
        "{name}: the meaning starts with the help text {:?}, not {:?}",
        family.help,
        doc.meaning
    );
    let unit = if name.contains("_seconds") {
        "seconds"
    } else if name.contains("_bytes") {
        "bytes"
    } else {
        assert!(
            !["seconds", "bytes", ""].contains(&doc.unit.as_str()),
            "{name}: unit"
        );
        doc.unit.as_str()
    };
    assert_eq!(doc.unit, unit, "{name}: unit");
}
