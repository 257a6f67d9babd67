//! The sealed secrets of every endpoint, page by page, for re-encryption
//! under a new master key (`herald-ingest rotate-keys`).

use deadpool_postgres::Pool;
use uuid::Uuid;

use crate::store::error::StoreError;
use crate::store::pg::{client, map_rows, Columns};

pub(crate) const PAGE: &str = "SELECT id, secret_ciphertext, previous_secret_ciphertext \
     FROM webhooks WHERE id > $1 ORDER BY id LIMIT $2";
/// Only if nobody changed the secrets since they were read (a secret
/// rotated meanwhile is already sealed by the ingest node that wrote it).
pub(crate) const RESEAL: &str = "UPDATE webhooks \
     SET secret_ciphertext = $2, previous_secret_ciphertext = $3 \
     WHERE id = $1 AND secret_ciphertext = $4 \
       AND previous_secret_ciphertext IS NOT DISTINCT FROM $5";

/// One endpoint's secrets as stored.
#[derive(Debug, Clone)]
pub struct SealedSecrets {
    pub id: Uuid,
    pub secret: Vec<u8>,
    pub previous: Option<Vec<u8>>,
}

/// Up to `limit` endpoints after `after`, in id order (`Uuid::nil()` first).
pub async fn page(db: &Pool, after: Uuid, limit: i64) -> Result<Vec<SealedSecrets>, StoreError> {
    let rows = client(db).await?.query(PAGE, &[&after, &limit]).await?;
    map_rows(&rows, |r| {
        Ok(SealedSecrets {
            id: r.col("id")?,
            secret: r.col("secret_ciphertext")?,
            previous: r.col("previous_secret_ciphertext")?,
        })
    })
}

/// Replace `old`'s secrets with `new`'s; `false` when they changed since
/// `old` was read.
pub async fn reseal(
    db: &Pool,
    old: &SealedSecrets,
    new: &SealedSecrets,
) -> Result<bool, StoreError> {
    let n = client(db)
        .await?
        .execute(
            RESEAL,
            &[
                &old.id,
                &new.secret,
                &new.previous,
                &old.secret,
                &old.previous,
            ],
        )
        .await?;
    Ok(n == 1)
}
