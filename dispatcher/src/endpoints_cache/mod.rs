//! Every endpoint, in memory, so a delivery never queries Postgres for its
//! endpoint (fan-out reads the subscribed endpoints of each group of events
//! from Postgres and brings this cache up to those versions; see
//! [`EndpointsCache::current`]).
//!
//! Loaded in full at start, then kept current three ways: a change notice on
//! `herald.control.webhooks` (published by ingest after every endpoint change,
//! and by dispatchers when they disable one) re-reads that one row; a full
//! reload every `HERALD_ENDPOINT_REFRESH_INTERVAL` repairs anything a lost
//! notice missed; and a delivery for an endpoint the cache does not know, or
//! knows in an older version than its job names, reads that row on the spot.
//! Secrets are decrypted, and subscriptions and filters compiled, once,
//! when a row is read.

mod endpoint;

pub use endpoint::{custom_headers, Endpoint, PreviousSecret};

use crate::store::endpoints::Subscribed;
use crate::store::{self, StoreError};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use herald_common::crypto::Keyring;
use herald_common::domain::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;
use uuid::Uuid;

#[derive(Default)]
struct Inner {
    by_id: HashMap<Uuid, Arc<Endpoint>>,
    by_tenant: HashMap<String, Vec<Arc<Endpoint>>>,
}

impl Inner {
    fn remove(&mut self, id: Uuid) {
        if let Some(old) = self.by_id.remove(&id) {
            if let Some(list) = self.by_tenant.get_mut(&old.tenant_id) {
                list.retain(|e| e.id != id);
            }
        }
    }

    fn insert(&mut self, e: Arc<Endpoint>) {
        self.remove(e.id);
        self.by_tenant
            .entry(e.tenant_id.clone())
            .or_default()
            .push(e.clone());
        self.by_id.insert(e.id, e);
    }
}

pub struct EndpointsCache {
    inner: RwLock<Inner>,
    pool: Pool,
    keys: Keyring,
    /// Bumped by every change, for those who follow the endpoints (the FIFO
    /// lines).
    changes: watch::Sender<u64>,
}

impl EndpointsCache {
    pub fn new(pool: Pool, keys: Keyring) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            pool,
            keys,
            changes: watch::Sender::new(0),
        }
    }

    /// Told after every change of the cache.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Every FIFO endpoint (active or not: a disabled one keeps its line).
    pub fn fifo(&self) -> Vec<Arc<Endpoint>> {
        self.read()
            .by_id
            .values()
            .filter(|e| e.ordering == Ordering::Fifo)
            .cloned()
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, id: Uuid) -> Option<Arc<Endpoint>> {
        self.read().by_id.get(&id).cloned()
    }

    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    /// How many cached endpoints are active.
    pub fn active_count(&self) -> usize {
        self.read().by_id.values().filter(|e| e.active).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replace everything with what Postgres holds now.
    pub async fn load_all(&self) -> Result<usize, StoreError> {
        let rows = store::endpoints::all(&self.pool).await?;
        let mut fresh = Inner::default();
        for row in rows {
            fresh.insert(Arc::new(Endpoint::parse(row, &self.keys)));
        }
        let n = fresh.by_id.len();
        *self.write() = fresh;
        self.changed();
        Ok(n)
    }

    /// Re-read one endpoint (or forget it if its row is gone).
    #[tracing::instrument(skip(self), fields(webhook_id = %id))]
    pub async fn refresh(&self, id: Uuid) -> Result<Option<Arc<Endpoint>>, StoreError> {
        let row = store::endpoints::one(&self.pool, id).await?;
        let found = {
            let mut inner = self.write();
            match row {
                Some(row) => {
                    let e = Arc::new(Endpoint::parse(row, &self.keys));
                    inner.insert(e.clone());
                    Some(e)
                }
                None => {
                    inner.remove(id);
                    None
                }
            }
        };
        self.changed();
        Ok(found)
    }

    /// The cached endpoint if it is at least `version` (its row's
    /// `updated_at`), else its row read now: a change notice that has not
    /// reached this dispatcher yet never makes it use an older view.
    pub async fn get_at_least(
        &self,
        id: Uuid,
        version: Option<DateTime<Utc>>,
    ) -> Result<Option<Arc<Endpoint>>, StoreError> {
        match (self.get(id), version) {
            (Some(e), Some(v)) if e.updated_at < v => self.refresh(id).await,
            (Some(e), _) => Ok(Some(e)),
            (None, _) => self.refresh(id).await,
        }
    }

    /// The endpoints fan-out just read from Postgres, as this cache holds
    /// them (with their compiled routing), each at least at the version
    /// read: rows the cache lacks or holds in an older version are read
    /// again (usually none). An endpoint deleted meanwhile is left out.
    pub async fn current(
        &self,
        subscribed: &[Subscribed],
    ) -> Result<Vec<Arc<Endpoint>>, StoreError> {
        let mut current = Vec::with_capacity(subscribed.len());
        let mut stale = Vec::new();
        {
            let inner = self.read();
            for s in subscribed {
                match inner.by_id.get(&s.id) {
                    Some(e) if e.updated_at >= s.version => current.push(e.clone()),
                    _ => stale.push(s.id),
                }
            }
        }
        for id in stale {
            if let Some(e) = self.refresh(id).await? {
                current.push(e);
            }
        }
        Ok(current)
    }

    /// Mark an endpoint inactive at once (this dispatcher just disabled it;
    /// the change notice that follows re-reads the row).
    pub fn deactivate(&self, id: Uuid) {
        {
            let mut inner = self.write();
            if let Some(e) = inner.by_id.get(&id) {
                let mut off = Endpoint::clone(e);
                off.active = false;
                inner.insert(Arc::new(off));
            }
        }
        self.changed();
    }

    pub fn forget(&self, id: Uuid) {
        self.write().remove(id);
        self.changed();
    }
}
