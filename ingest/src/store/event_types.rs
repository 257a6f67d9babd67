//! `event_types`: the registry of valid event types (global: the product
//! defines them; entries are never deleted).

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::ToSchema;

use super::error::StoreError;
use super::pg::{client, map_rows, Columns};

/// A registered event type.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EventTypeOut)]
pub struct Entry {
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

/// What [`register`] did.
#[derive(Debug, Clone)]
pub struct Registered {
    pub entry: Entry,
    /// `false` when the name was registered before (nothing changed).
    pub created: bool,
}

const LIST: &str =
    "SELECT name, description, created_at FROM event_types ORDER BY name LIMIT 10000";
const INSERT: &str = "INSERT INTO event_types (name, description) VALUES ($1, $2) \
     ON CONFLICT (name) DO NOTHING RETURNING name, description, created_at";
const GET: &str = "SELECT name, description, created_at FROM event_types WHERE name = $1";
const REGISTERED: &str = "SELECT name FROM event_types WHERE name = ANY($1)";

pub(crate) const STATEMENTS: &[&str] = &[LIST, INSERT, GET, REGISTERED];

fn entry(r: &Row) -> Result<Entry, StoreError> {
    Ok(Entry {
        name: r.col("name")?,
        description: r.col("description")?,
        created_at: r.col("created_at")?,
    })
}

/// Every registered event type, by name.
pub async fn list(db: &Pool) -> Result<Vec<Entry>, StoreError> {
    let rows = client(db).await?.query(LIST, &[]).await?;
    map_rows(&rows, entry)
}

/// Register `name`; registering it again changes nothing and returns the
/// existing entry.
pub async fn register(db: &Pool, name: &str, description: &str) -> Result<Registered, StoreError> {
    let client = client(db).await?;
    if let Some(row) = client.query_opt(INSERT, &[&name, &description]).await? {
        return Ok(Registered {
            entry: entry(&row)?,
            created: true,
        });
    }
    let row = client.query_one(GET, &[&name]).await?;
    Ok(Registered {
        entry: entry(&row)?,
        created: false,
    })
}

/// The names among `names` that are registered.
pub async fn registered(db: &Pool, names: &[String]) -> Result<Vec<String>, StoreError> {
    let rows = client(db).await?.query(REGISTERED, &[&names]).await?;
    map_rows(&rows, |r| r.col("name"))
}
