//! Herald behind a real PgBouncer in transaction pooling, configured by
//! `deploy/pgbouncer/pgbouncer.ini`: migrations run through it, ingest and
//! two dispatchers deliver every event while far more client connections
//! than server connections share the pool (so a transaction's prepared
//! statements meet server connections that never saw them), and the
//! documented `plan_cache_mode` recipe takes effect.

use herald_common::config::Secret;
use herald_common::migrate;
use herald_tests::pgbouncer::PgBouncer;
use herald_tests::{create_endpoint, post_events, TestApp, TestAppOptions, TestDb, TestReceiver};
use serde_json::json;

use super::tools::tool;

/// Server connections per database: far fewer than Herald's clients.
const POOL: u32 = 5;
const EVENTS: usize = 100;
const TYPE: &str = "order.created";

/// `url` with its port replaced by PgBouncer's.
fn through(url: &str, port: u16) -> String {
    let mut u = url::Url::parse(url).expect("a Postgres URL");
    u.set_port(Some(port)).expect("a URL with a host");
    u.to_string()
}

/// The rows of `SHOW what` for `database`.
async fn rows_of(bouncer: &PgBouncer, what: &str, database: &str) -> usize {
    let rows = bouncer.show(what).await.expect("admin console");
    let of_db =
        |r: &&Vec<(String, String)>| r.iter().any(|(k, v)| k == "database" && v == database);
    rows.iter().filter(of_db).count()
}

/// Herald's way with statements, made to collide: 8 pooled clients on
/// `POOL` server connections, each preparing (cached, named) and running
/// the same few statements over and over. Without PgBouncer's
/// `max_prepared_statements` this fails within a few rounds ("prepared
/// statement s3 does not exist" / "already exists"). The pool, still open.
async fn prepared_statements_survive_pooling(url: &str) -> deadpool_postgres::Pool {
    let pool = herald_common::db::pool(url, 8).expect("a pool like Herald's");
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let pool = pool.clone();
            tokio::spawn(async move {
                for round in 0..40_i32 {
                    let conn = pool.get().await.map_err(|e| e.to_string())?;
                    let sql = format!("SELECT $1::int + {} AS n", round % 5);
                    let st = conn.prepare_cached(&sql).await.map_err(|e| e.to_string())?;
                    let row = conn
                        .query_one(&st, &[&task])
                        .await
                        .map_err(|e| e.to_string())?;
                    let n: i32 = row.try_get("n").map_err(|e| e.to_string())?;
                    assert_eq!(n, task + round % 5);
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for t in tasks {
        if let Err(e) = t.await.expect("task") {
            panic!("a prepared statement did not survive transaction pooling: {e:?}");
        }
    }
    pool
}

#[tokio::test]
async fn herald_migrates_and_delivers_through_pgbouncer_in_transaction_pooling() {
    let Some(binary) = tool("deploy::pgbouncer", "HERALD_PGBOUNCER", "pgbouncer") else {
        return;
    };
    let bouncer = PgBouncer::start(&binary, POOL).await.expect("pgbouncer");

    // Migrations: each in one transaction under a transaction-scoped lock.
    // The database first gets the recipe of docs/operations.md: the startup
    // option PgBouncer drops, set on the database instead (before PgBouncer
    // opens a server connection to it: a RECONNECT in the middle of logins
    // makes PgBouncer refuse clients for `server_login_retry`).
    let fresh = TestDb::create().await;
    let direct = fresh.connect().await;
    direct
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET plan_cache_mode = force_custom_plan",
            fresh.name()
        ))
        .await
        .expect("ALTER DATABASE");
    let fresh_url = bouncer.url(fresh.name());
    let mut client = herald_common::db::connect(&fresh_url)
        .await
        .expect("connect through pgbouncer");
    let first = migrate::run(&mut client)
        .await
        .expect("migrate through pgbouncer");
    let again = migrate::run(&mut client).await.expect("migrate again");
    assert!(
        !first.applied.is_empty() && again.applied.is_empty(),
        "{first:?} then {again:?}"
    );
    let pool = herald_common::db::pool(&fresh_url, 1).expect("a pool like Herald's");
    let conn = pool.get().await.expect("a connection through pgbouncer");
    let row = conn
        .query_one("SHOW plan_cache_mode", &[])
        .await
        .expect("SHOW");
    let mode: String = row.try_get("plan_cache_mode").expect("plan_cache_mode");
    assert_eq!(
        mode, "force_custom_plan",
        "the documented recipe did not take effect"
    );
    drop(conn);

    let port = bouncer.port();
    let options = TestAppOptions::new()
        .event_types(&[TYPE])
        .dispatchers(2)
        .configure(move |c| c.database.url = Secret::new(through(c.database.url.expose(), port)));
    let app = TestApp::spawn(options).await;
    let db = app.test_db().name().to_string();

    let receiver = TestReceiver::start().await;
    let a = create_endpoint(app.api(), &receiver.url("/a"), &[TYPE], json!({})).await;
    let b = create_endpoint(app.api(), &receiver.url("/b"), &[TYPE], json!({})).await;
    let sent = post_events(app.api(), TYPE, EVENTS, "pgbouncer").await;
    assert_eq!(sent.len(), EVENTS);
    app.wait_for_deliveries(a.id, "delivered", EVENTS as i64)
        .await;
    app.wait_for_deliveries(b.id, "delivered", EVENTS as i64)
        .await;
    assert_eq!(
        receiver.request_count(),
        2 * EVENTS,
        "each delivery sent once"
    );

    let url = app.config().database.url.expose().to_string();
    let _probe = prepared_statements_survive_pooling(&url).await;
    let (clients, servers) = (
        rows_of(&bouncer, "CLIENTS", &db).await,
        rows_of(&bouncer, "SERVERS", &db).await,
    );
    println!("through pgbouncer: {clients} client connections on {servers} server connections");
    assert!(
        servers <= POOL as usize,
        "{servers} server connections, pool {POOL}"
    );
    assert!(
        clients > servers,
        "{clients} clients did not share {servers} servers"
    );

    app.shutdown().await.expect("clean shutdown");
    drop(bouncer);
}
