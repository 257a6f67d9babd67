//! The README's settings tables must be what [`settings::markdown`]
//! generates: the same variables, sections, defaults and meanings.
//! Regenerate them with `cargo run -q -p herald-ingest -- settings`.

use std::collections::BTreeMap;

use super::settings::{self, Fallback, Section, SETTINGS};

const README: &str = include_str!("../../../README.md");
const BEGIN: &str = "<!-- settings:begin";
const END: &str = "<!-- settings:end -->";

/// (section title, default, meaning) by variable name.
type Rows = BTreeMap<String, (String, String, String)>;

/// The tables between the README's settings markers.
fn readme_block() -> &'static str {
    let start = README
        .find(BEGIN)
        .expect("README has a settings:begin marker");
    let start = start + README[start..].find('\n').expect("marker line") + 1;
    let end = README.find(END).expect("README has a settings:end marker");
    README[start..end].trim()
}

fn readme_rows() -> Rows {
    let mut rows = Rows::new();
    let mut section = String::new();
    for line in readme_block().lines() {
        if let Some(title) = line.strip_prefix("### ") {
            section = title.trim().to_string();
        } else if let Some(row) = line.strip_prefix("| `HERALD_") {
            let cells: Vec<&str> = row.trim_end_matches('|').split(" | ").collect();
            let name = format!("HERALD_{}", cells[0].trim_end_matches('`'));
            let cell = |i: usize| {
                cells
                    .get(i)
                    .map(|c| c.trim().to_string())
                    .unwrap_or_default()
            };
            rows.insert(name, (section.clone(), cell(1), cell(2)));
        }
    }
    rows
}

fn declared_rows() -> Rows {
    SETTINGS
        .iter()
        .map(|s| {
            let default = match s.default {
                Fallback::Value(v) => format!("`{v}`"),
                Fallback::Described(words) => words.to_string(),
            };
            let row = (s.section.title().to_string(), default, s.help.to_string());
            (s.name.to_string(), row)
        })
        .collect()
}

#[test]
fn the_readme_lists_exactly_the_declared_settings() {
    let (readme, declared) = (readme_rows(), declared_rows());
    let mut problems = Vec::new();
    for (name, want) in &declared {
        match readme.get(name) {
            None => problems.push(format!("{name} is declared but not in the README")),
            Some(have) if have != want => problems.push(format!(
                "{name} differs:\n    README:   {have:?}\n    declared: {want:?}"
            )),
            Some(_) => {}
        }
    }
    for name in readme.keys().filter(|n| !declared.contains_key(*n)) {
        problems.push(format!("{name} is in the README but not declared"));
    }
    assert!(
        problems.is_empty(),
        "README settings out of date (regenerate with `cargo run -q -p herald-ingest -- settings`):\n{}",
        problems.join("\n")
    );
    assert_eq!(
        readme_block(),
        settings::markdown().trim(),
        "README settings tables are not the generated ones (order or layout)"
    );
}

#[test]
fn declarations_are_well_formed() {
    let mut names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), SETTINGS.len(), "a name is declared twice");
    for s in SETTINGS {
        assert!(s.name.starts_with("HERALD_"), "{}", s.name);
        assert!(!s.help.contains('|'), "{}: `|` breaks the table", s.name);
        assert!(settings::find(s.name) == Some(s));
    }
    for section in Section::ALL {
        assert!(
            SETTINGS.iter().any(|s| s.section == section),
            "{section:?} is empty"
        );
    }
}
