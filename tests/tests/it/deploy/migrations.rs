//! Reversible migrations: `herald-ingest migrate down [N]` on a database
//! holding data leaves exactly the schema of an older version, and migrating
//! up again brings back the same schema with every surviving row as it was.

use std::collections::BTreeMap;
use std::process::Command;

use herald_common::migrate::{self, MIGRATIONS};
use herald_tests::schema::current_schema as schema;
use herald_tests::{create_endpoint, Binary, TestApp, TestAppOptions, TestDb, TestReceiver, WAIT};
use serde_json::{json, Value};
use tokio_postgres::Client;

type Rows = BTreeMap<String, Vec<Value>>;

/// Every row of every Herald table as JSON (the migration log excluded).
async fn rows(pg: &Client) -> Rows {
    let mut all = Rows::new();
    for table in columns(pg)
        .await
        .into_keys()
        .filter(|t| t != "herald_migrations")
    {
        let q = format!("SELECT to_jsonb(t) AS row FROM {table} t");
        let mut rows: Vec<Value> = Vec::new();
        for row in pg.query(q.as_str(), &[]).await.expect("rows") {
            rows.push(row.try_get("row").expect("row"));
        }
        all.insert(table, rows);
    }
    all
}

/// `rows` cut down to the tables and columns of `keep`, sorted.
/// The rows of `rows` that also stand in `survivors`, table by table.
fn kept(rows: &Rows, survivors: &Rows) -> Rows {
    survivors
        .iter()
        .map(|(table, keep)| {
            let rows = rows.get(table).map_or(&[][..], Vec::as_slice);
            let rows = rows.iter().filter(|r| keep.contains(r)).cloned().collect();
            (table.clone(), rows)
        })
        .collect()
}

fn restrict(rows: &Rows, keep: &BTreeMap<String, Vec<String>>) -> Rows {
    let mut out = Rows::new();
    for (table, columns) in keep {
        let Some(rows) = rows.get(table) else {
            continue;
        };
        let mut rows: Vec<Value> = rows.clone();
        for v in rows.iter_mut().filter_map(Value::as_object_mut) {
            v.retain(|k, _| columns.contains(k));
        }
        rows.sort_by_key(Value::to_string);
        out.insert(table.clone(), rows);
    }
    out
}

/// Table -> its columns, as they are now.
async fn columns(pg: &Client) -> BTreeMap<String, Vec<String>> {
    let q = "SELECT table_name::text AS t, column_name::text AS c
               FROM information_schema.columns WHERE table_schema = 'public'";
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in pg.query(q, &[]).await.expect("columns") {
        let (t, c): (String, String) = (row.try_get("t").expect("t"), row.try_get("c").expect("c"));
        map.entry(t).or_default().push(c);
    }
    map
}

/// The schema of a fresh database migrated to `version`.
async fn fresh_schema(version: usize) -> String {
    let db = TestDb::create().await;
    let mut pg = db.connect().await;
    migrate::run_migrations(&mut pg, &MIGRATIONS[..version])
        .await
        .expect("migrate a fresh database");
    schema(&pg).await
}

/// `herald-ingest migrate <args>` against `db_url`: (success, output).
async fn ingest_migrate(db_url: &str, args: &[&str]) -> (bool, String) {
    let path = Binary::Ingest.path().await.expect("herald-ingest built");
    let out = Command::new(path)
        .arg("migrate")
        .args(args)
        .env("HERALD_DATABASE_URL", db_url)
        .env("HERALD_LOG", "warn")
        .output()
        .expect("run herald-ingest migrate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A tenant with a key, an endpoint, and delivered events with attempts.
async fn app_with_data() -> TestApp {
    let receiver = TestReceiver::start().await;
    let app = TestApp::spawn(TestAppOptions::new().event_types(&["order.created"])).await;
    herald_tests::tenant_with_key(app.api(), "acme").await;
    let url = receiver.url("/hook");
    create_endpoint(app.api(), &url, &["order.created"], json!({})).await;
    for n in 0..5 {
        herald_tests::post_raw_event(app.api(), "order.created", &format!(r#"{{"n":{n}}}"#)).await;
    }
    herald_tests::eventually("5 attempts are recorded", WAIT, || async {
        app.count("delivery_attempts").await == 5
    })
    .await;
    app
}

#[tokio::test]
async fn migrate_down_then_up_on_a_database_with_data_restores_schema_and_rows() {
    let mut app = app_with_data().await;
    app.stop_ingest().await.expect("ingest stops");
    app.stop_dispatcher(0).await.expect("dispatcher stops");
    let pg = app.test_db().connect().await;
    let url = app.test_db().url().to_string();
    let latest = MIGRATIONS.len();
    let schema_before = schema(&pg).await;
    let rows_before = rows(&pg).await;

    let (ok, out) = ingest_migrate(&url, &["down"]).await;
    assert!(ok, "migrate down failed:\n{out}");
    let newest = MIGRATIONS[latest - 1].version;
    assert!(out.contains(&format!("[{newest}]")), "{out}");
    assert_eq!(
        schema(&pg).await,
        fresh_schema(latest - 1).await,
        "after down 1"
    );

    let (ok, out) = ingest_migrate(&url, &["down", &(latest - 2).to_string()]).await;
    assert!(ok, "migrate down N failed:\n{out}");
    assert_eq!(
        schema(&pg).await,
        fresh_schema(1).await,
        "after down to version 1"
    );
    let surviving = columns(&pg).await;
    // Rows a down script deletes (seeded by its migration) come back from
    // the up script with new timestamps; the rows that survive the rollback
    // must come back unchanged.
    let at_one = restrict(&rows(&pg).await, &surviving);

    let (ok, out) = ingest_migrate(&url, &["down", "9"]).await;
    assert!(!ok, "rolling back more than is applied must fail:\n{out}");
    assert_eq!(
        schema(&pg).await,
        fresh_schema(1).await,
        "a refused rollback changes nothing"
    );

    let (ok, out) = ingest_migrate(&url, &[]).await;
    assert!(ok, "migrate up failed:\n{out}");
    assert_eq!(schema(&pg).await, schema_before, "schema after up again");
    assert_eq!(
        kept(&restrict(&rows_before, &surviving), &at_one),
        at_one,
        "every row that survived the rollback was there before"
    );
    assert_eq!(
        kept(&restrict(&rows(&pg).await, &surviving), &at_one),
        at_one,
        "rows after down and up again"
    );
    assert!(
        rows_before["delivery_attempts"].len() == 5,
        "the data was there"
    );
}

#[tokio::test]
async fn rolling_back_every_migration_leaves_only_the_log_and_up_rebuilds_it() {
    let db = TestDb::migrated().await;
    let mut pg = db.connect().await;
    let schema_before = schema(&pg).await;
    let report = migrate::rollback(&mut pg, MIGRATIONS.len())
        .await
        .expect("rollback all");
    let newest_first: Vec<i32> = MIGRATIONS.iter().rev().map(|m| m.version).collect();
    assert_eq!(report.reverted, newest_first);
    let left: Vec<String> = columns(&pg).await.into_keys().collect();
    assert_eq!(left, ["herald_migrations"]);
    migrate::run(&mut pg).await.expect("up again");
    assert_eq!(schema(&pg).await, schema_before);
}

/// The header of `docs/schema.sql`; the schema follows it.
const SCHEMA_DOC_HEADER: &str = "\
-- The current schema of a Herald database: every migration of migrations/
-- applied in order (later migrations replace earlier constraints and indexes,
-- so no single file shows it). Read back from the catalogs by the test
-- deploy::migrations::docs_schema_sql_is_the_migrated_schema; do not edit by
-- hand: after a new migration, run that test with HERALD_WRITE_SCHEMA=1.

";

#[tokio::test]
async fn docs_schema_sql_is_the_migrated_schema() {
    let db = TestDb::migrated().await;
    let current = format!("{SCHEMA_DOC_HEADER}{}", schema(&db.connect().await).await);
    let path = herald_tests::workspace_root().join("docs/schema.sql");
    if std::env::var_os("HERALD_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, &current).expect("write docs/schema.sql");
    }
    let documented = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        documented == current,
        "docs/schema.sql differs from the migrated schema; run this test with \
         HERALD_WRITE_SCHEMA=1 and commit the file"
    );
}
