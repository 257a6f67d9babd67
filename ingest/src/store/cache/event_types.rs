//! The catalogue as the hot path reads it: per event type, whether it is
//! archived and its compiled schema.
//!
//! An entry is trusted for [`TYPE_TTL`]; the first request after that reads
//! the type's row again (one statement for every stale type of a request)
//! and recompiles the schema only if the row's `updated_at` moved. A change
//! made through this node is seen at once (the handler calls
//! [`EventTypes::forget`]); a change made through another ingest node is
//! seen here within [`TYPE_TTL`]. Unregistered names are not remembered,
//! so a type registered anywhere is usable at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;

use crate::schema::PayloadSchema;
use crate::store::error::StoreError;
use crate::store::event_types::{self, State};

/// How long an event type's state is used without reading it again.
pub const TYPE_TTL: Duration = Duration::from_secs(5);

/// What accepting an event of a type needs.
#[derive(Debug)]
pub struct TypeState {
    pub archived: bool,
    pub schema: Option<PayloadSchema>,
    /// The row's `updated_at`.
    version: DateTime<Utc>,
}

/// The catalogue's cache.
#[derive(Default)]
pub struct EventTypes(RwLock<HashMap<String, (Arc<TypeState>, Instant)>>);

impl EventTypes {
    /// The state of each of `names`, in order: `None` for a name that is
    /// not registered. A stored schema that no longer compiles is a
    /// [`StoreError::Invalid`].
    pub async fn states(
        &self,
        db: &Pool,
        names: &[&str],
    ) -> Result<Vec<Option<Arc<TypeState>>>, StoreError> {
        let mut out: Vec<Option<Arc<TypeState>>> = Vec::with_capacity(names.len());
        let mut stale = Vec::new();
        if let Ok(map) = self.0.read() {
            for name in names {
                let fresh = map.get(*name).filter(|(_, at)| at.elapsed() < TYPE_TTL);
                if fresh.is_none() {
                    stale.push(name.to_string());
                }
                out.push(fresh.map(|(s, _)| s.clone()));
            }
        } else {
            out.resize(names.len(), None);
            stale = names.iter().map(|n| n.to_string()).collect();
        }
        if stale.is_empty() {
            return Ok(out);
        }
        let rows = event_types::states(db, &stale).await?;
        let mut learned = HashMap::with_capacity(rows.len());
        for row in rows {
            let state = self.compiled(row.name.as_str(), &row)?;
            learned.insert(row.name, state);
        }
        if let Ok(mut map) = self.0.write() {
            for (name, state) in &learned {
                map.insert(name.clone(), (state.clone(), Instant::now()));
            }
        }
        for (slot, name) in out.iter_mut().zip(names) {
            if slot.is_none() {
                *slot = learned.get(*name).cloned();
            }
        }
        Ok(out)
    }

    /// Drop `name`, so the next request reads it again (after a change
    /// through this node).
    pub fn forget(&self, name: &str) {
        if let Ok(mut map) = self.0.write() {
            map.remove(name);
        }
    }

    /// The cached state if the row has not changed since, else compiled now.
    fn compiled(&self, name: &str, row: &State) -> Result<Arc<TypeState>, StoreError> {
        let cached = self.0.read().ok().and_then(|map| map.get(name).cloned());
        if let Some((state, _)) = cached.filter(|(s, _)| s.version == row.updated_at) {
            return Ok(state);
        }
        let schema = row
            .schema
            .as_ref()
            .map(PayloadSchema::compile)
            .transpose()
            .map_err(|e| StoreError::Invalid {
                column: "event_types.schema",
                reason: format!("{name}: {e}"),
            })?;
        Ok(Arc::new(TypeState {
            archived: row.archived,
            schema,
            version: row.updated_at,
        }))
    }
}
