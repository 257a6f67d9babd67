//! `event_types`: the catalogue of event types (global: the product defines
//! them). Entries are never deleted: archiving one stops new events of the
//! type while its subscriptions and history stay.

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::StoreError;
use super::pg::{client, map_rows, Columns};

/// An event type of the catalogue.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EventTypeOut)]
pub struct Entry {
    pub id: Uuid,
    #[schema(example = "order.created")]
    pub name: String,
    pub description: String,
    /// The JSON Schema (draft 2020-12) every new event's payload must match.
    #[schema(value_type = Option<Object>)]
    pub schema: Option<serde_json::Value>,
    /// Still accepted, but subscribers should move away from it.
    pub deprecated: bool,
    /// Archived: new events of this type are refused.
    pub archived: bool,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What [`register`] did.
#[derive(Debug, Clone)]
pub struct Registered {
    pub entry: Entry,
    /// `false` when the name was registered before (nothing changed).
    pub created: bool,
}

/// A validated entry to register.
pub struct NewEntry<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub description: &'a str,
    pub schema: Option<&'a serde_json::Value>,
    pub deprecated: bool,
}

/// The validated fields of a change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Change {
    pub description: Option<String>,
    /// `Some(None)` removes the schema.
    pub schema: Option<Option<serde_json::Value>>,
    pub deprecated: Option<bool>,
    pub archived: Option<bool>,
}

/// One page of the catalogue, by name.
pub struct ListFilter {
    /// Only names starting with this.
    pub prefix: Option<String>,
    pub include_archived: bool,
    /// Only names after this one (the cursor).
    pub after: Option<String>,
    pub limit: i64,
}

/// What ingest needs to accept an event of a type.
#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub schema: Option<serde_json::Value>,
    pub archived: bool,
    pub updated_at: DateTime<Utc>,
}

macro_rules! columns {
    () => {
        "id, name, description, schema, deprecated, archived_at, created_at, updated_at"
    };
}

const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM event_types \
     WHERE ($1::text IS NULL OR starts_with(name, $1)) AND ($2 OR archived_at IS NULL) \
       AND ($3::text IS NULL OR name > $3) \
     ORDER BY name LIMIT $4"
);
const INSERT: &str = concat!(
    "INSERT INTO event_types (id, name, description, schema, deprecated) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING ",
    columns!()
);
const GET: &str = concat!("SELECT ", columns!(), " FROM event_types WHERE name = $1");
const UPDATE: &str = concat!(
    "UPDATE event_types SET description = coalesce($2, description), \
         schema = CASE WHEN $3 THEN $4::jsonb ELSE schema END, \
         deprecated = coalesce($5, deprecated), \
         archived_at = CASE WHEN $6::bool IS NULL THEN archived_at \
                            WHEN $6 THEN coalesce(archived_at, now()) ELSE NULL END, \
         updated_at = now() \
     WHERE name = $1 RETURNING ",
    columns!()
);
const STATES: &str =
    "SELECT name, schema, archived_at, updated_at FROM event_types WHERE name = ANY($1)";
const OFFERED: &str =
    "SELECT name FROM event_types WHERE archived_at IS NULL ORDER BY name LIMIT $1";

pub(crate) const STATEMENTS: &[&str] = &[LIST, INSERT, GET, UPDATE, STATES, OFFERED];

fn entry(r: &Row) -> Result<Entry, StoreError> {
    let archived_at: Option<DateTime<Utc>> = r.col("archived_at")?;
    Ok(Entry {
        id: r.col("id")?,
        name: r.col("name")?,
        description: r.col("description")?,
        schema: r.col("schema")?,
        deprecated: r.col("deprecated")?,
        archived: archived_at.is_some(),
        archived_at,
        created_at: r.col("created_at")?,
        updated_at: r.col("updated_at")?,
    })
}

/// One page of entries, by name.
pub async fn list(db: &Pool, f: &ListFilter) -> Result<Vec<Entry>, StoreError> {
    let params: [&(dyn ToSql + Sync); 4] = [&f.prefix, &f.include_archived, &f.after, &f.limit];
    let rows = client(db).await?.query(LIST, &params).await?;
    map_rows(&rows, entry)
}

/// One entry, archived or not.
pub async fn get(db: &Pool, name: &str) -> Result<Option<Entry>, StoreError> {
    let row = client(db).await?.query_opt(GET, &[&name]).await?;
    row.as_ref().map(entry).transpose()
}

/// Register an entry; registering a name again changes nothing and returns
/// the existing entry.
pub async fn register(db: &Pool, new: NewEntry<'_>) -> Result<Registered, StoreError> {
    let client = client(db).await?;
    let params: [&(dyn ToSql + Sync); 5] = [
        &new.id,
        &new.name,
        &new.description,
        &new.schema,
        &new.deprecated,
    ];
    if let Some(row) = client.query_opt(INSERT, &params).await? {
        return Ok(Registered {
            entry: entry(&row)?,
            created: true,
        });
    }
    let row = client.query_one(GET, &[&new.name]).await?;
    Ok(Registered {
        entry: entry(&row)?,
        created: false,
    })
}

/// Apply a change (archiving is `archived: Some(true)`); `None` if there
/// is no such entry.
pub async fn update(db: &Pool, name: &str, c: Change) -> Result<Option<Entry>, StoreError> {
    let schema_set = c.schema.is_some();
    let schema = c.schema.flatten();
    let params: [&(dyn ToSql + Sync); 6] = [
        &name,
        &c.description,
        &schema_set,
        &schema,
        &c.deprecated,
        &c.archived,
    ];
    let row = client(db).await?.query_opt(UPDATE, &params).await?;
    row.as_ref().map(entry).transpose()
}

/// The state of those of `names` that are registered.
pub async fn states(db: &Pool, names: &[String]) -> Result<Vec<State>, StoreError> {
    let rows = client(db).await?.query(STATES, &[&names]).await?;
    map_rows(&rows, |r| {
        let archived_at: Option<DateTime<Utc>> = r.col("archived_at")?;
        Ok(State {
            name: r.col("name")?,
            schema: r.col("schema")?,
            archived: archived_at.is_some(),
            updated_at: r.col("updated_at")?,
        })
    })
}

/// The first `limit` names that accept events, by name (for error messages).
pub async fn offered(db: &Pool, limit: i64) -> Result<Vec<String>, StoreError> {
    let rows = client(db).await?.query(OFFERED, &[&limit]).await?;
    map_rows(&rows, |r| r.col("name"))
}
