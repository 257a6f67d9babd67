//! `herald-ingest rotate-keys`: re-encrypt every endpoint secret that is not
//! sealed under the primary key (the first of `HERALD_ENCRYPTION_KEYS`), in
//! batches, printing a progress line per batch. Safe beside running nodes:
//! a row is rewritten only if its secrets did not change since it was read,
//! and every node decrypts both the old and the new form while both keys
//! are configured. Run it again until it reports nothing left, then remove
//! the old key.

use deadpool_postgres::Pool;
use herald_common::config::Config;
use herald_common::crypto::{CryptoError, Keyring};
use herald_common::db;
use herald_common::shutdown::CancellationToken;
use uuid::Uuid;

use crate::store::webhooks::secrets::{self, SealedSecrets};
use crate::IngestError;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// The id of the key secrets are sealed under now.
    pub primary: String,
    /// Endpoints looked at.
    pub read: u64,
    /// Endpoints whose secrets were sealed again under the primary key.
    pub resealed: u64,
    /// Endpoints whose secrets changed while this ran (left for a rerun).
    pub changed_meanwhile: u64,
    /// Endpoints no configured key can read (their ids are logged).
    pub unreadable: u64,
}

impl RotationReport {
    /// The progress line printed after each batch, and at the end.
    pub fn line(&self) -> String {
        format!(
            "rotate-keys: {} endpoints read, {} re-encrypted under key {:?}, \
             {} changed meanwhile (run again), {} unreadable",
            self.read, self.resealed, self.primary, self.changed_meanwhile, self.unreadable
        )
    }
}

/// The secrets of one endpoint sealed under the primary key, or `None` when
/// they already are.
pub fn reseal(ring: &Keyring, row: &SealedSecrets) -> Result<Option<SealedSecrets>, CryptoError> {
    let current = |ct: &[u8]| ring.is_current(ct);
    if current(&row.secret) && row.previous.as_deref().is_none_or(current) {
        return Ok(None);
    }
    let again = |ct: &[u8]| ring.open(row.id, ct).map(|plain| ring.seal(row.id, &plain));
    let secret = again(&row.secret)?;
    let previous = row.previous.as_deref().map(again).transpose()?;
    Ok(Some(SealedSecrets {
        id: row.id,
        secret,
        previous,
    }))
}

/// Re-encrypt in batches of `batch`, calling `progress` after each one.
pub async fn rotate_keys(
    config: &Config,
    batch: i64,
    stop: &CancellationToken,
    mut progress: impl FnMut(&RotationReport),
) -> Result<RotationReport, IngestError> {
    let ring = config.security.keys.keyring()?;
    let pool = db::pool(config.database.url.expose(), 2)?;
    let mut report = RotationReport {
        primary: ring.primary().as_str().to_string(),
        ..RotationReport::default()
    };
    let mut after = Uuid::nil();
    while !stop.is_cancelled() {
        let rows = secrets::page(&pool, after, batch).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            rotate_row(&pool, &ring, row, &mut report).await?;
        }
        progress(&report);
    }
    Ok(report)
}

async fn rotate_row(
    pool: &Pool,
    ring: &Keyring,
    row: &SealedSecrets,
    report: &mut RotationReport,
) -> Result<(), IngestError> {
    report.read += 1;
    match reseal(ring, row) {
        Ok(None) => {}
        Ok(Some(new)) => {
            if secrets::reseal(pool, row, &new).await? {
                report.resealed += 1;
            } else {
                report.changed_meanwhile += 1;
            }
        }
        Err(error) => {
            report.unreadable += 1;
            tracing::error!(webhook_id = %row.id, %error, "No configured key reads this endpoint's secret.");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_common::crypto::keyring::insecure_ring as ring;

    #[test]
    fn rows_under_an_old_key_are_sealed_again_and_current_rows_are_left() {
        let (old, both) = (ring(&["old"]), ring(&["new", "old"]));
        let id = Uuid::now_v7();
        let row = SealedSecrets {
            id,
            secret: old.seal(id, b"s1"),
            previous: Some(old.seal(id, b"s0")),
        };
        let done = reseal(&both, &row).expect("readable").expect("changed");
        assert!(both.is_current(&done.secret));
        assert_eq!(both.open(id, &done.secret).expect("open"), b"s1");
        let previous = done.previous.as_deref().expect("previous kept");
        assert_eq!(both.open(id, previous).expect("open"), b"s0");
        assert!(reseal(&both, &done).expect("readable").is_none());
        let stranger = SealedSecrets {
            id,
            secret: ring(&["lost"]).seal(id, b"s"),
            previous: None,
        };
        assert!(reseal(&both, &stranger).is_err());
    }
}
