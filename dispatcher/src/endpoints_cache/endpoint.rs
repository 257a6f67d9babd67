//! One endpoint as deliveries use it: parsed from its stored row once, with
//! its secrets decrypted and its custom headers checked.

use crate::store::endpoints::EndpointRow;
use chrono::{DateTime, Utc};
use herald_common::config::parse_duration;
use herald_common::crypto::Keyring;
use herald_common::domain::{Ordering, PayloadFormat};
use herald_common::routing::Routing;
use herald_common::signing::{self, Signer};
use http::{HeaderName, HeaderValue};
use std::time::Duration;
use uuid::Uuid;

/// A secret that signs until `expires` (a rotated-out secret in its grace
/// period).
#[derive(Debug, Clone)]
pub struct PreviousSecret {
    pub key: Signer,
    pub expires: DateTime<Utc>,
}

/// One endpoint, parsed and with its secrets decrypted.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: Uuid,
    pub tenant_id: String,
    /// `Err` holds why the stored URL is unusable (each attempt fails with it).
    pub url: Result<url::Url, String>,
    pub event_types: Vec<String>,
    /// `event_types` and the payload filter, compiled for fan-out and
    /// FIFO lines.
    pub routing: Routing,
    /// An HMAC secret, or an ed25519 key for `signature_scheme = ed25519`.
    pub secret: Result<Signer, String>,
    pub previous_secret: Option<PreviousSecret>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `custom_payload` as JSON text.
    pub custom_payload: Option<String>,
    pub payload_format: PayloadFormat,
    pub rate_limit_per_second: Option<u32>,
    pub max_in_flight: Option<usize>,
    pub active: bool,
    /// The row's `updated_at`: its version (bumped by every change).
    pub updated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub ordering: Ordering,
    /// This endpoint's retry delays; `None` follows `HERALD_RETRY_SCHEDULE`.
    pub retry_schedule: Option<Vec<Duration>>,
    pub retry_on_4xx: bool,
}

impl Endpoint {
    /// The keys that sign a request at `now`: the current secret, then the
    /// previous one while its grace period lasts.
    pub fn signing_keys(&self, now: DateTime<Utc>) -> Result<Vec<Signer>, String> {
        let mut keys = vec![self.secret.clone()?];
        if let Some(previous) = &self.previous_secret {
            if previous.expires > now {
                keys.push(previous.key.clone());
            }
        }
        Ok(keys)
    }

    /// Parse a stored row, decrypting its secrets with `keys` (bound to the
    /// row's id). What cannot be used is logged and kept as an error for
    /// each attempt to report.
    pub fn parse(row: EndpointRow, keys: &Keyring) -> Self {
        let id = row.id;
        let decrypt = |ct: &[u8]| -> Result<Signer, String> {
            let secret = keys.open_string(id, ct).map_err(|e| e.to_string())?;
            Signer::from_secret(&secret).map_err(|e| e.to_string())
        };
        let secret = decrypt(&row.secret_ciphertext);
        if let Err(error) = &secret {
            tracing::error!(webhook_id = %id, %error, "Cannot read the endpoint's signing secret.");
        }
        let previous_secret = match (
            row.previous_secret_ciphertext,
            row.previous_secret_expires_at,
        ) {
            (Some(ct), Some(expires)) => {
                decrypt(&ct).ok().map(|key| PreviousSecret { key, expires })
            }
            _ => None,
        };
        let routing = Routing::compile(&row.event_types, row.filter.as_ref()).unwrap_or_else(|error| {
            // Ingest validates both; a row it did not write gets nothing.
            tracing::error!(webhook_id = %id, %error, "Cannot read the endpoint's event types or filter; it receives no events.");
            Routing::default()
        });
        let (headers, skipped) = custom_headers(&row.headers);
        if !skipped.is_empty() {
            tracing::warn!(webhook_id = %id, ?skipped, "Ignoring reserved or invalid custom headers.");
        }
        Self {
            id,
            tenant_id: row.tenant_id,
            url: url::Url::parse(&row.url).map_err(|e| format!("invalid endpoint url: {e}")),
            event_types: row.event_types,
            routing,
            secret,
            previous_secret,
            headers,
            custom_payload: row.custom_payload.map(|c| c.to_string()),
            payload_format: PayloadFormat::parse(&row.payload_format).unwrap_or_default(),
            rate_limit_per_second: row
                .rate_limit_per_second
                .and_then(|r| u32::try_from(r).ok())
                .filter(|r| *r > 0),
            max_in_flight: row
                .max_in_flight
                .and_then(|m| usize::try_from(m).ok())
                .filter(|m| *m > 0),
            active: row.active,
            updated_at: row.updated_at,
            created_at: row.created_at,
            ordering: Ordering::parse(&row.ordering).unwrap_or_default(),
            retry_schedule: retry_schedule(id, row.retry_schedule.as_deref()),
            retry_on_4xx: row.retry_on_4xx,
        }
    }
}

/// The stored retry schedule, parsed; an unreadable one (never written by
/// ingest) falls back to the global schedule with a log line.
fn retry_schedule(id: Uuid, stored: Option<&[String]>) -> Option<Vec<Duration>> {
    let parsed: Result<Vec<Duration>, String> = stored?.iter().map(|d| parse_duration(d)).collect();
    match parsed {
        Ok(delays) if !delays.is_empty() => Some(delays),
        Ok(_) => None,
        Err(error) => {
            tracing::error!(webhook_id = %id, %error, "Unreadable retry schedule; using the global one.");
            None
        }
    }
}

/// An endpoint's custom headers from its JSON object, without reserved names
/// and invalid names or values (those are returned separately for a log line).
pub fn custom_headers(json: &serde_json::Value) -> (Vec<(HeaderName, HeaderValue)>, Vec<String>) {
    let mut ok = Vec::new();
    let mut skipped = Vec::new();
    let Some(obj) = json.as_object() else {
        return (ok, skipped);
    };
    for (name, value) in obj {
        let lower = name.to_ascii_lowercase();
        let parsed = value.as_str().and_then(|v| {
            let n = HeaderName::from_bytes(lower.as_bytes()).ok()?;
            let v = HeaderValue::from_str(v).ok()?;
            Some((n, v))
        });
        match parsed {
            Some(pair) if !signing::RESERVED_HEADERS.contains(&lower.as_str()) => ok.push(pair),
            _ => skipped.push(name.clone()),
        }
    }
    (ok, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_headers_skip_reserved_and_invalid_entries() {
        let json = serde_json::json!({
            "X-Team": "payments",
            "Authorization": "Bearer t",
            "User-Agent": "me",
            "Webhook-Signature": "v1,forged",
            "bad name": "x",
            "x-number": 5,
            "x-newline": "a\nb",
        });
        let (ok, skipped) = custom_headers(&json);
        let names: Vec<&str> = ok.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["authorization", "x-team"]);
        assert_eq!(skipped.len(), 5);
        assert!(custom_headers(&serde_json::json!("nope")).0.is_empty());
    }
}
