//! The bodies of `POST /webhooks` and `PATCH /webhooks/{id}` and their pure
//! validation. Whether the URL's address is allowed (DNS) and whether the
//! event types are registered (database) are checked by the handlers.

use std::collections::BTreeMap;

use axum::http::{HeaderName, HeaderValue};
use herald_common::config::parse_duration;
use herald_common::domain::{Ordering, PayloadFormat, SignatureScheme, WebhookUrl};
use herald_common::signing::{ed25519, Ed25519Key, SigningKey, RESERVED_HEADERS};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::http::error::ApiError;

pub const MAX_HEADERS: usize = 32;
pub const MAX_DESCRIPTION: usize = 1_024;
pub const MAX_SECRET: usize = 256;
pub const MAX_HEADER_NAME: usize = 256;
pub const MAX_HEADER_VALUE: usize = 4_096;
/// All custom headers together, names and values.
pub const MAX_HEADERS_BYTES: usize = 8_192;
pub const MAX_RATE_LIMIT: i32 = 100_000;
pub const MAX_RETRY_DELAYS: usize = 50;
/// The longest delay of an endpoint's retry schedule.
pub const MAX_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// `POST /webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// http or https URL; its host must resolve to a public address unless
    /// the operator allows private ones.
    #[schema(example = "https://example.com/webhook")]
    pub url: String,
    /// Event types this endpoint receives: registered names, or patterns
    /// with NATS wildcards: `order.*` (one more word), `order.>` (one or
    /// more words), `>` or `*` alone (every type).
    #[schema(example = json!(["order.created", "invoice.*"]))]
    pub event_types: Vec<String>,
    /// Signing secret; generated if absent: `whsec_` + base64 of 24 bytes
    /// for `hmac`, an ed25519 key `whsk_` + base64 of 32 bytes for `ed25519`.
    pub secret: Option<String>,
    pub description: Option<String>,
    /// Extra request headers (cannot replace the signing headers): at most
    /// 32, names of at most 256 characters, values of at most 4,096 visible
    /// ASCII characters and spaces, 8 KiB in all.
    pub headers: Option<BTreeMap<String, String>>,
    /// Another name of `headers` (give one or the other).
    pub custom_headers: Option<BTreeMap<String, String>>,
    /// Sent under `"custom"` in the standard envelope.
    pub custom_payload: Option<serde_json::Value>,
    /// Payload filter: only events whose payload matches are delivered, e.g.
    /// `{"amount": {"$gte": 100}}`. Operators `$eq $neq $in $nin $gt $gte
    /// $lt $lte $exists $startsWith` on fields by dotted path, and `$and
    /// $or $not`; a plain value means `$eq`.
    #[schema(value_type = Option<Object>, example = json!({"amount": {"$gte": 100}}))]
    pub filter: Option<serde_json::Value>,
    /// `standard` (default) or `raw`.
    pub payload_format: Option<String>,
    pub rate_limit_per_second: Option<i32>,
    pub max_in_flight: Option<i32>,
    pub active: Option<bool>,
    /// `unordered` (default) or `fifo`: one delivery at a time, in the order
    /// the events were accepted. Chosen at creation.
    pub ordering: Option<String>,
    /// `hmac` (default, `v1` signatures) or `ed25519` (`v1a`; the response
    /// carries the `public_key` receivers verify with). Chosen at creation.
    pub signature_scheme: Option<String>,
    /// Delays between attempts (`["10s", "1m", "1h"]`), replacing
    /// `HERALD_RETRY_SCHEDULE` for this endpoint; 1 to 50 delays of at most 7 days.
    #[schema(example = json!(["10s", "1m", "1h"]))]
    pub retry_schedule: Option<Vec<String>>,
    /// `false`: a 4xx answer other than 408, 409, 425 and 429 fails the
    /// delivery at once instead of retrying (default `true`).
    pub retry_on_4xx: Option<bool>,
}

/// `PATCH /webhooks/{id}`: only the fields present change; `null` clears
/// the nullable ones. `{"active": true}` re-enables a disabled endpoint.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchWebhook {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    /// Another name of `headers` (give one or the other).
    pub custom_headers: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub custom_payload: Option<Option<serde_json::Value>>,
    /// A new payload filter; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Option<serde_json::Value>>,
    pub payload_format: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub rate_limit_per_second: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub max_in_flight: Option<Option<i32>>,
    pub active: Option<bool>,
    /// `null` returns to `HERALD_RETRY_SCHEDULE`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    pub retry_schedule: Option<Option<Vec<String>>>,
    pub retry_on_4xx: Option<bool>,
}

/// Distinguish an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

pub(crate) fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, message)
}

pub fn url(raw: &str) -> Result<WebhookUrl, ApiError> {
    WebhookUrl::parse(raw.trim()).map_err(|e| invalid("invalid_url", e.to_string()))
}

/// The endpoint's secret for its scheme: the given one, checked, or a new one.
pub fn secret_for(scheme: SignatureScheme, raw: Option<&str>) -> Result<String, ApiError> {
    match (scheme, raw) {
        (SignatureScheme::Hmac, None) => Ok(herald_common::crypto::generate_webhook_secret()),
        (SignatureScheme::Ed25519, None) => Ok(ed25519::generate_secret()),
        (SignatureScheme::Hmac, Some(s)) if s.starts_with(ed25519::SECRET_PREFIX) => Err(invalid(
            "invalid_secret",
            "a whsk_ key signs with ed25519: set \"signature_scheme\": \"ed25519\"",
        )),
        (SignatureScheme::Hmac, Some(s)) => secret(s),
        (SignatureScheme::Ed25519, Some(s)) => Ed25519Key::from_secret(s)
            .map(|_| s.to_string())
            .map_err(|e| invalid("invalid_secret", e.to_string())),
    }
}

/// The `whpk_` public key of an ed25519 endpoint's secret (`None` for HMAC).
pub fn public_key(secret: &str) -> Option<String> {
    Ed25519Key::from_secret(secret).ok().map(|k| k.public_key())
}

pub fn ordering(raw: &str) -> Result<Ordering, ApiError> {
    Ordering::parse(raw).map_err(|e| invalid("invalid_ordering", e.to_string()))
}

pub fn signature_scheme(raw: &str) -> Result<SignatureScheme, ApiError> {
    SignatureScheme::parse(raw).map_err(|e| invalid("invalid_signature_scheme", e.to_string()))
}

/// 1 to [`MAX_RETRY_DELAYS`] durations of at most [`MAX_RETRY_DELAY`],
/// kept as given (trimmed).
pub fn retry_schedule(raw: &[String]) -> Result<Vec<String>, ApiError> {
    let bad = |m: String| invalid("invalid_retry_schedule", m);
    if raw.is_empty() || raw.len() > MAX_RETRY_DELAYS {
        return Err(bad(format!(
            "retry_schedule lists 1 to {MAX_RETRY_DELAYS} delays"
        )));
    }
    raw.iter()
        .map(|d| {
            let d = d.trim();
            match parse_duration(d) {
                Ok(v) if v <= MAX_RETRY_DELAY => Ok(d.to_string()),
                Ok(_) => Err(bad(format!("{d:?} is longer than 7 days"))),
                Err(e) => Err(bad(format!("{d:?}: {e}"))),
            }
        })
        .collect()
}

pub fn secret(raw: &str) -> Result<String, ApiError> {
    if raw.len() > MAX_SECRET || raw.trim() != raw {
        return Err(invalid(
            "invalid_secret",
            format!(
                "the secret must be at most {MAX_SECRET} characters, without surrounding spaces"
            ),
        ));
    }
    SigningKey::from_secret(raw).map_err(|e| invalid("invalid_secret", e.to_string()))?;
    Ok(raw.to_string())
}

pub fn description(raw: &str) -> Result<String, ApiError> {
    if raw.chars().count() > MAX_DESCRIPTION {
        return Err(invalid(
            "invalid_description",
            format!("the description may be at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(raw.to_string())
}

/// Visible ASCII and inner spaces only: no CR, LF, tab or other control
/// character (header injection), no bytes outside ASCII.
fn visible_value(value: &str) -> bool {
    value.bytes().all(|b| (0x20..0x7f).contains(&b)) && value.trim() == value
}

/// Valid HTTP header names and values, not one of the signing or transport
/// headers, within the limits above; names are kept as given.
pub fn headers(raw: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ApiError> {
    let total: usize = raw.iter().map(|(n, v)| n.len() + v.len()).sum();
    if raw.len() > MAX_HEADERS || total > MAX_HEADERS_BYTES {
        return Err(invalid(
            "invalid_header",
            format!("at most {MAX_HEADERS} custom headers, {MAX_HEADERS_BYTES} bytes in all"),
        ));
    }
    for (name, value) in raw {
        if name.len() > MAX_HEADER_NAME {
            return Err(invalid(
                "invalid_header",
                format!("header names are at most {MAX_HEADER_NAME} characters"),
            ));
        }
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            invalid(
                "invalid_header",
                format!("{name:?} is not a valid header name"),
            )
        })?;
        if RESERVED_HEADERS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(name))
        {
            return Err(invalid(
                "reserved_header",
                format!("the header {name:?} is set by Herald and cannot be overridden"),
            ));
        }
        if value.len() > MAX_HEADER_VALUE
            || !visible_value(value)
            || HeaderValue::from_str(value).is_err()
        {
            return Err(invalid(
                "invalid_header",
                format!(
                    "the value of header {name:?} must be at most {MAX_HEADER_VALUE} visible \
                     ASCII characters (no CR, LF or other control characters)"
                ),
            ));
        }
    }
    Ok(raw.clone())
}

pub fn payload_format(raw: &str) -> Result<PayloadFormat, ApiError> {
    PayloadFormat::parse(raw).map_err(|e| invalid("invalid_payload_format", e.to_string()))
}

pub fn positive(field: &'static str, v: Option<i32>) -> Result<Option<i32>, ApiError> {
    match v {
        Some(n) if !(1..=MAX_RATE_LIMIT).contains(&n) => Err(invalid(
            "out_of_range",
            format!("{field} must be between 1 and {MAX_RATE_LIMIT}"),
        )),
        other => Ok(other),
    }
}

pub fn custom_payload(v: Option<serde_json::Value>) -> Option<serde_json::Value> {
    v.filter(|v| !v.is_null())
}

/// `headers` or its other name `custom_headers`, checked; both at once is
/// a `400 conflicting_fields`.
pub fn headers_or_alias(
    headers: Option<&BTreeMap<String, String>>,
    custom_headers: Option<&BTreeMap<String, String>>,
) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    match (headers, custom_headers) {
        (Some(_), Some(_)) => Err(invalid(
            "conflicting_fields",
            "headers and custom_headers are two names of one field; give only one",
        )),
        (Some(h), None) | (None, Some(h)) => self::headers(h).map(Some),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests;
