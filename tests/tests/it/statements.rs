//! Every SQL statement of the workspace, prepared against a freshly migrated
//! database: a renamed column or table, a changed type or a typo fails this
//! test instead of a request. Each crate lists its statements in
//! `store::statements()`; another crate joins with one line in `CRATES`.

use herald_tests::TestDb;

/// A crate's list of its SQL statements.
type Statements = fn() -> Vec<&'static str>;

/// The crates whose statements are checked.
const CRATES: &[(&str, Statements)] = &[
    ("herald-ingest", herald_ingest::store::statements),
    ("herald-dispatcher", herald_dispatcher::store::statements),
];

#[tokio::test]
async fn every_sql_statement_prepares_against_the_migrated_schema() {
    let db = TestDb::migrated().await;
    let client = db.connect().await;
    let mut failures = Vec::new();
    for (krate, statements) in CRATES {
        let statements = statements();
        assert!(!statements.is_empty(), "{krate} lists no statements");
        for sql in statements {
            if let Err(e) = client.prepare(sql).await {
                let reason = e.as_db_error().map_or(e.to_string(), |d| d.to_string());
                failures.push(format!("{krate}: {reason}\n    {sql}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} statement(s) do not prepare:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_statement_naming_a_missing_column_does_not_prepare() {
    let db = TestDb::migrated().await;
    let client = db.connect().await;
    let error = client
        .prepare("SELECT id, no_such_column FROM deliveries")
        .await
        .expect_err("a missing column fails");
    assert!(format!("{error:?}").contains("no_such_column"), "{error:?}");
}

/// Plan nodes a hot statement must not have: a scan of a whole table, or a
/// join that compares every row with every row instead of probing an index.
const NOT_ON_THE_HOT_PATH: &[&str] = &[
    "Seq Scan",
    "Hash",
    "Merge",
    "Materialize",
    "CTE Scan on input",
];

/// The dispatcher's hot statements, planned on a [`Plans::Indexed`] session
/// against empty tables (where a generic plan goes wrong: a whole table
/// looks cheaper than an index), use index probes and nested loops only.
#[tokio::test]
async fn hot_statements_keep_index_plans_when_planned_on_empty_tables() {
    use herald_common::db::{pool_with, Plans};
    let db = TestDb::migrated().await;
    let pool = pool_with(db.url(), 1, Plans::Indexed).expect("pool");
    let client = pool.get().await.expect("a connection");
    let mut failures = Vec::new();
    for (n, sql) in herald_dispatcher::store::hot_statements()
        .into_iter()
        .enumerate()
    {
        let params = client.prepare(sql).await.expect("prepares").params().len();
        let nulls = vec!["NULL"; params].join(", ");
        client
            .batch_execute(&format!("PREPARE hot{n} AS {sql}"))
            .await
            .expect("PREPARE");
        let plan: Vec<String> = client
            .simple_query(&format!("EXPLAIN EXECUTE hot{n}({nulls})"))
            .await
            .expect("EXPLAIN")
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    r.get("QUERY PLAN").map(str::to_string)
                }
                _ => None,
            })
            .collect();
        let plan = plan.join("\n");
        if let Some(bad) = NOT_ON_THE_HOT_PATH.iter().find(|b| plan.contains(*b)) {
            failures.push(format!("{bad} in\n{sql}\n{plan}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
