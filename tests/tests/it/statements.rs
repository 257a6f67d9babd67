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
