//! Reading endpoints: one, whether one exists, a filtered list.

use deadpool_postgres::{GenericClient, Pool};
use uuid::Uuid;

use super::record::{webhook, Webhook};
use crate::store::error::StoreError;
use crate::store::pg::{client, map_rows};

/// The filters of a list, newest first.
pub struct ListFilter {
    /// Only this tenant's; `None` for every tenant.
    pub scope: Option<String>,
    /// Only endpoints older than this id (the cursor).
    pub before: Option<Uuid>,
    pub active: Option<bool>,
    /// Only endpoints subscribed to this event type.
    pub event_type: Option<String>,
    pub limit: i64,
}

pub(super) const GET: &str = select_one!();
pub(super) const EXISTS: &str =
    "SELECT 1 FROM webhooks WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)";
pub(super) const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM webhooks \
     WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR id < $2) \
       AND ($3::bool IS NULL OR active = $3) AND ($4::text IS NULL OR $4 = ANY(event_types)) \
     ORDER BY id DESC LIMIT $5"
);

/// One endpoint, if it is in `scope`.
pub async fn get(db: &Pool, id: Uuid, scope: Option<&str>) -> Result<Option<Webhook>, StoreError> {
    let row = client(db).await?.query_opt(GET, &[&id, &scope]).await?;
    row.as_ref().map(webhook).transpose()
}

/// Whether the endpoint exists in `scope`.
pub async fn exists<C: GenericClient>(
    client: &C,
    id: Uuid,
    scope: Option<&str>,
) -> Result<bool, StoreError> {
    Ok(client.query_opt(EXISTS, &[&id, &scope]).await?.is_some())
}

pub async fn list(db: &Pool, f: &ListFilter) -> Result<Vec<Webhook>, StoreError> {
    let rows = client(db)
        .await?
        .query(
            LIST,
            &[&f.scope, &f.before, &f.active, &f.event_type, &f.limit],
        )
        .await?;
    map_rows(&rows, webhook)
}
