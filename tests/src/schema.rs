//! The current schema of a database, as SQL text read back from the
//! catalogs: every table of `public` with its columns (in their order),
//! constraints and storage options, then every index that backs no
//! constraint, each in a stable order. `docs/schema.sql` is this text for a
//! freshly migrated database (a test keeps the two equal), and the
//! migration tests compare it before and after a rollback.

use std::fmt::Write as _;

use tokio_postgres::{Client, Row};

/// Tables, with their storage options (`fillfactor=70`).
const TABLES: &str = "SELECT c.oid::int8 AS oid, c.relname::text AS name, \
         array_to_string(c.reloptions, ', ') AS options \
     FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' \
     ORDER BY c.relname";
/// A table's columns, in order.
const COLUMNS: &str = "SELECT a.attname::text AS name, \
         format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, \
         pg_get_expr(d.adbin, d.adrelid) AS default_value \
     FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
     WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped \
     ORDER BY a.attnum";
/// A table's constraints: primary key, unique, foreign keys, checks.
const CONSTRAINTS: &str = "SELECT conname::text AS name, pg_get_constraintdef(oid) AS def \
     FROM pg_constraint WHERE conrelid = $1::int8::oid \
     ORDER BY CASE contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'f' THEN 2 ELSE 3 END, conname";
/// Indexes that back no constraint.
const INDEXES: &str = "SELECT pg_get_indexdef(i.indexrelid) AS def \
     FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid \
     WHERE t.relnamespace = 'public'::regnamespace \
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) \
     ORDER BY t.relname, x.relname";

/// Every statement of this module, for the test that prepares them all.
pub fn statements() -> Vec<&'static str> {
    vec![TABLES, COLUMNS, CONSTRAINTS, INDEXES]
}

fn text(row: &Row, column: &str) -> String {
    row.try_get::<_, Option<String>>(column)
        .unwrap_or_else(|e| panic!("column {column}: {e}"))
        .unwrap_or_default()
}

/// The schema of the database `pg` is connected to, as SQL.
pub async fn current_schema(pg: &Client) -> String {
    let mut out = String::new();
    for table in pg.query(TABLES, &[]).await.expect("tables") {
        let oid: i64 = table.try_get("oid").expect("oid");
        let mut lines = Vec::new();
        for c in pg.query(COLUMNS, &[&oid]).await.expect("columns") {
            let mut line = format!("    {} {}", text(&c, "name"), text(&c, "type"));
            let default = text(&c, "default_value");
            if !default.is_empty() {
                let _ = write!(line, " DEFAULT {default}");
            }
            if c.try_get("not_null").expect("not_null") {
                line.push_str(" NOT NULL");
            }
            lines.push(line);
        }
        for c in pg.query(CONSTRAINTS, &[&oid]).await.expect("constraints") {
            let (name, def) = (text(&c, "name"), text(&c, "def"));
            lines.push(format!("    CONSTRAINT {name} {def}"));
        }
        let options = match text(&table, "options") {
            o if o.is_empty() => String::new(),
            o => format!(" WITH ({o})"),
        };
        let name = text(&table, "name");
        let _ = writeln!(
            out,
            "CREATE TABLE {name} (\n{}\n){options};\n",
            lines.join(",\n")
        );
    }
    for index in pg.query(INDEXES, &[]).await.expect("indexes") {
        let def = text(&index, "def").replace(" ON public.", " ON ");
        let _ = writeln!(out, "{def};");
    }
    out
}
