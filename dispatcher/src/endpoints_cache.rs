//! Every endpoint, in memory, so fan-out never queries Postgres per event.
//!
//! Loaded in full at start, then kept current three ways: a change notice on
//! `herald.control.webhooks` (published by ingest after every endpoint change,
//! and by dispatchers when they disable one) re-reads that one row; a full
//! reload every `HERALD_ENDPOINT_REFRESH_INTERVAL` repairs anything a lost
//! notice missed; and a delivery for an endpoint the cache does not know reads
//! that row on the spot. Secrets are decrypted once, at load.

use crate::request::custom_headers;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use herald_common::crypto::EncryptionKey;
use herald_common::domain::PayloadFormat;
use herald_common::signing::SigningKey;
use http::{HeaderName, HeaderValue};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

const COLUMNS: &str = "id, tenant_id, url, event_types, secret_ciphertext, \
    previous_secret_ciphertext, previous_secret_expires_at, headers, custom_payload, \
    payload_format, rate_limit_per_second, max_in_flight, active, updated_at";

/// One endpoint, parsed and with its secrets decrypted.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: Uuid,
    pub tenant_id: String,
    /// `Err` holds why the stored URL is unusable (each attempt fails with it).
    pub url: Result<url::Url, String>,
    pub event_types: Vec<String>,
    pub secret: Result<SigningKey, String>,
    pub previous_secret: Option<(SigningKey, DateTime<Utc>)>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `custom_payload` as JSON text.
    pub custom_payload: Option<String>,
    pub payload_format: PayloadFormat,
    pub rate_limit_per_second: Option<u32>,
    pub max_in_flight: Option<usize>,
    pub active: bool,
    /// The row's `updated_at`: its version (bumped by every change).
    pub updated_at: DateTime<Utc>,
}

impl Endpoint {
    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.event_types.iter().any(|t| t == event_type)
    }

    /// The keys that sign a request at `now`: the current secret, then the
    /// previous one while its grace period lasts.
    pub fn signing_keys(&self, now: DateTime<Utc>) -> Result<Vec<SigningKey>, String> {
        let mut keys = vec![self.secret.clone()?];
        if let Some((key, expires)) = &self.previous_secret {
            if *expires > now {
                keys.push(key.clone());
            }
        }
        Ok(keys)
    }

    fn from_row(
        row: &tokio_postgres::Row,
        key: &EncryptionKey,
    ) -> Result<Self, tokio_postgres::Error> {
        let id: Uuid = row.try_get("id")?;
        let decrypt = |ct: &[u8]| -> Result<SigningKey, String> {
            let secret = key.decrypt_string(ct).map_err(|e| e.to_string())?;
            SigningKey::from_secret(&secret).map_err(|e| e.to_string())
        };
        let secret = decrypt(&row.try_get::<_, Vec<u8>>("secret_ciphertext")?);
        if let Err(error) = &secret {
            tracing::error!(webhook_id = %id, %error, "Cannot read the endpoint's signing secret.");
        }
        let previous_ct: Option<Vec<u8>> = row.try_get("previous_secret_ciphertext")?;
        let previous_expires: Option<DateTime<Utc>> = row.try_get("previous_secret_expires_at")?;
        let previous_secret = match (previous_ct, previous_expires) {
            (Some(ct), Some(expires)) => decrypt(&ct).ok().map(|k| (k, expires)),
            _ => None,
        };
        let headers_json: serde_json::Value = row.try_get("headers")?;
        let (headers, skipped) = custom_headers(&headers_json);
        if !skipped.is_empty() {
            tracing::warn!(webhook_id = %id, ?skipped, "Ignoring reserved or invalid custom headers.");
        }
        let custom: Option<serde_json::Value> = row.try_get("custom_payload")?;
        let url: String = row.try_get("url")?;
        let format: String = row.try_get("payload_format")?;
        Ok(Self {
            id,
            tenant_id: row.try_get("tenant_id")?,
            url: url::Url::parse(&url).map_err(|e| format!("invalid endpoint url: {e}")),
            event_types: row.try_get("event_types")?,
            secret,
            previous_secret,
            headers,
            custom_payload: custom.map(|c| c.to_string()),
            payload_format: PayloadFormat::parse(&format).unwrap_or_default(),
            rate_limit_per_second: row
                .try_get::<_, Option<i32>>("rate_limit_per_second")?
                .and_then(|r| u32::try_from(r).ok())
                .filter(|r| *r > 0),
            max_in_flight: row
                .try_get::<_, Option<i32>>("max_in_flight")?
                .and_then(|m| usize::try_from(m).ok())
                .filter(|m| *m > 0),
            active: row.try_get("active")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

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
    key: EncryptionKey,
}

impl EndpointsCache {
    pub fn new(pool: Pool, key: EncryptionKey) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            pool,
            key,
        }
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

    /// The tenant's active endpoints subscribed to `event_type`.
    pub fn subscribers(&self, tenant_id: &str, event_type: &str) -> Vec<Arc<Endpoint>> {
        self.read()
            .by_tenant
            .get(tenant_id)
            .map(|list| {
                list.iter()
                    .filter(|e| e.active && e.subscribes_to(event_type))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
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
    pub async fn load_all(&self) -> Result<usize, crate::DbError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(&format!("SELECT {COLUMNS} FROM webhooks"), &[])
            .await?;
        let mut fresh = Inner::default();
        for row in &rows {
            fresh.insert(Arc::new(Endpoint::from_row(row, &self.key)?));
        }
        let n = fresh.by_id.len();
        *self.write() = fresh;
        Ok(n)
    }

    /// Re-read one endpoint (or forget it if its row is gone).
    #[tracing::instrument(skip(self), fields(webhook_id = %id))]
    pub async fn refresh(&self, id: Uuid) -> Result<Option<Arc<Endpoint>>, crate::DbError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1"),
                &[&id],
            )
            .await?;
        let mut inner = self.write();
        match row {
            Some(row) => {
                let e = Arc::new(Endpoint::from_row(&row, &self.key)?);
                inner.insert(e.clone());
                Ok(Some(e))
            }
            None => {
                inner.remove(id);
                Ok(None)
            }
        }
    }

    /// The cached endpoint, or its row read now if the cache has not heard of it.
    pub async fn get_or_load(&self, id: Uuid) -> Result<Option<Arc<Endpoint>>, crate::DbError> {
        match self.get(id) {
            Some(e) => Ok(Some(e)),
            None => self.refresh(id).await,
        }
    }

    /// The cached endpoint if it is at least `version` (its row's
    /// `updated_at`), else its row read now: a change notice that has not
    /// reached this dispatcher yet never makes it use an older view.
    pub async fn get_at_least(
        &self,
        id: Uuid,
        version: Option<DateTime<Utc>>,
    ) -> Result<Option<Arc<Endpoint>>, crate::DbError> {
        match (self.get(id), version) {
            (Some(e), Some(v)) if e.updated_at < v => self.refresh(id).await,
            (Some(e), _) => Ok(Some(e)),
            (None, _) => self.refresh(id).await,
        }
    }

    /// Bring the cache up to the versions Postgres reported (`(id, updated_at)`
    /// of rows read just now): re-read each row the cache lacks or holds in
    /// an older version. Usually none.
    pub async fn catch_up(&self, current: &[(Uuid, DateTime<Utc>)]) -> Result<(), crate::DbError> {
        let stale: Vec<Uuid> = {
            let inner = self.read();
            current
                .iter()
                .filter(|(id, v)| inner.by_id.get(id).is_none_or(|e| e.updated_at < *v))
                .map(|(id, _)| *id)
                .collect()
        };
        for id in stale {
            self.refresh(id).await?;
        }
        Ok(())
    }

    /// Mark an endpoint inactive at once (this dispatcher just disabled it;
    /// the change notice that follows re-reads the row).
    pub fn deactivate(&self, id: Uuid) {
        let mut inner = self.write();
        if let Some(e) = inner.by_id.get(&id) {
            let mut off = Endpoint::clone(e);
            off.active = false;
            inner.insert(Arc::new(off));
        }
    }

    pub fn forget(&self, id: Uuid) {
        self.write().remove(id);
    }
}
