//! `0005_routing.down.sql` undoes `0005_routing.sql` exactly, and the
//! migration applies again after it.

use herald_common::migrate::{self, MIGRATIONS};
use herald_tests::TestDb;

const UP: &str = include_str!("../../../../migrations/0005_routing.sql");
const DOWN: &str = include_str!("../../../../migrations/0005_routing.down.sql");

/// Columns and constraints of the tables 0005 changes, as text.
async fn shape(client: &tokio_postgres::Client) -> Vec<String> {
    let columns = client
        .query(
            "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS d, \
                 is_nullable::text AS n, coalesce(column_default, '')::text AS dflt \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name IN ('event_types', 'webhooks') \
             ORDER BY 1, 2",
            &[],
        )
        .await
        .expect("columns");
    let constraints = client
        .query(
            "SELECT conrelid::regclass::text AS t, conname::text AS c, \
                 pg_get_constraintdef(oid) AS d, '' AS n, '' AS dflt \
             FROM pg_constraint \
             WHERE conrelid IN ('event_types'::regclass, 'webhooks'::regclass) ORDER BY 1, 2",
            &[],
        )
        .await
        .expect("constraints");
    columns
        .iter()
        .chain(&constraints)
        .map(|r| {
            let col = |name: &str| r.try_get::<_, String>(name).expect(name);
            format!(
                "{} {} {} {} {}",
                col("t"),
                col("c"),
                col("d"),
                col("n"),
                col("dflt")
            )
        })
        .collect()
}

#[tokio::test]
async fn the_routing_migration_is_undone_by_its_down_script() {
    let before_db = TestDb::create().await;
    let mut before = before_db.connect().await;
    let upto = MIGRATIONS
        .iter()
        .position(|m| m.version == 5)
        .expect("0005 listed");
    migrate::run_migrations(&mut before, &MIGRATIONS[..upto])
        .await
        .expect("migrations before 0005");

    let db = TestDb::migrated().await;
    let client = db.connect().await;
    let migrated = shape(&client).await;
    assert!(
        migrated
            .iter()
            .any(|c| c.starts_with("webhooks filter jsonb")),
        "{migrated:?}"
    );
    client.batch_execute(DOWN).await.expect("down");
    assert_eq!(shape(&client).await, shape(&before).await);
    client.batch_execute(UP).await.expect("up again");
    assert_eq!(shape(&client).await, migrated);
}
