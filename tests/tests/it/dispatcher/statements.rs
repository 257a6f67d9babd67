//! Every SQL statement of the dispatcher prepares against the migrated
//! schema, so a renamed or dropped column fails here, not in a delivery.

use herald_tests::TestDb;

#[tokio::test]
async fn every_dispatcher_statement_prepares_against_the_migrated_schema() {
    let db = TestDb::migrated().await;
    let client = db.connect().await;
    let statements = herald_dispatcher::store::statements();
    for table in [
        "INSERT INTO deliveries",
        "INSERT INTO delivery_attempts",
        "UPDATE webhooks",
        "webhook_rate_slots",
    ] {
        assert!(
            statements.iter().any(|s| s.contains(table)),
            "no statement with {table:?}"
        );
    }
    let mut failures = Vec::new();
    for sql in &statements {
        if let Err(error) = client.prepare(sql).await {
            failures.push(format!("{error:?}\n{sql}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
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
