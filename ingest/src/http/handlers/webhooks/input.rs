//! The bodies of `POST /webhooks` and `PATCH /webhooks/{id}` and their pure
//! validation. Whether the URL's address is allowed (DNS) and whether the
//! event types are registered (database) are checked by the handlers.

use std::collections::BTreeMap;

use axum::http::{HeaderName, HeaderValue};
use herald_common::domain::{PayloadFormat, WebhookUrl};
use herald_common::signing::{SigningKey, RESERVED_HEADERS};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::http::error::ApiError;

pub const MAX_HEADERS: usize = 32;
pub const MAX_DESCRIPTION: usize = 1_024;
pub const MAX_SECRET: usize = 256;
pub const MAX_HEADER_VALUE: usize = 4_096;
pub const MAX_RATE_LIMIT: i32 = 100_000;

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
    /// Signing secret; generated (`whsec_` + base64 of 24 bytes) if absent.
    pub secret: Option<String>,
    pub description: Option<String>,
    /// Extra request headers (cannot replace the signing headers).
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

/// Valid HTTP header names and values, not one of the signing or transport
/// headers; names are kept as given.
pub fn headers(raw: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ApiError> {
    if raw.len() > MAX_HEADERS {
        return Err(invalid(
            "invalid_header",
            format!("at most {MAX_HEADERS} custom headers"),
        ));
    }
    for (name, value) in raw {
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
        if value.len() > MAX_HEADER_VALUE || HeaderValue::from_str(value).is_err() {
            return Err(invalid(
                "invalid_header",
                format!("the value of header {name:?} is not a valid header value"),
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
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_or_https() {
        assert!(url("https://example.com/webhook").is_ok());
        for bad in [
            "ftp://example.com/x",
            "not a url",
            "https://u:p@example.com/",
            "",
        ] {
            assert_eq!(url(bad).expect_err(bad).code, "invalid_url", "{bad}");
        }
    }

    #[test]
    fn reserved_and_malformed_headers_are_refused() {
        let ok: BTreeMap<String, String> = [("X-Team".to_string(), "payments".to_string())].into();
        assert!(headers(&ok).is_ok());
        for (name, value, code) in [
            ("Webhook-Signature", "x", "reserved_header"),
            ("content-type", "text/plain", "reserved_header"),
            ("X-Webhook-Signature", "x", "reserved_header"),
            ("bad name", "x", "invalid_header"),
            ("X-Ok", "line\nbreak", "invalid_header"),
        ] {
            let h: BTreeMap<String, String> = [(name.to_string(), value.to_string())].into();
            assert_eq!(headers(&h).expect_err(name).code, code, "{name}");
        }
    }

    #[test]
    fn secrets_must_be_usable_for_signing() {
        assert!(secret("my-secret").is_ok());
        assert!(secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_ok());
        for bad in ["", "whsec_!!!", " padded ", &"x".repeat(300)] {
            assert_eq!(secret(bad).expect_err(bad).code, "invalid_secret");
        }
    }

    #[test]
    fn patch_tells_null_from_absent() {
        let p: PatchWebhook =
            serde_json::from_str(r#"{"rate_limit_per_second": null}"#).expect("patch");
        assert_eq!(p.rate_limit_per_second, Some(None));
        assert_eq!(p.max_in_flight, None);
        assert!(serde_json::from_str::<PatchWebhook>(r#"{"secret": "x"}"#).is_err());
        assert!(
            serde_json::from_str::<CreateWebhook>(r#"{"url":"x","event_types":[],"bogus":1}"#)
                .is_err()
        );
    }

    #[test]
    fn custom_headers_is_another_name_of_headers() {
        let h: BTreeMap<String, String> = [("X-Team".to_string(), "a".to_string())].into();
        assert_eq!(
            headers_or_alias(None, Some(&h)).expect("alias"),
            Some(h.clone())
        );
        assert_eq!(
            headers_or_alias(Some(&h), None).expect("name"),
            Some(h.clone())
        );
        assert_eq!(headers_or_alias(None, None).expect("none"), None);
        assert_eq!(
            headers_or_alias(Some(&h), Some(&h)).expect_err("both").code,
            "conflicting_fields"
        );
    }

    #[test]
    fn numeric_limits_are_in_range() {
        assert_eq!(
            positive("rate_limit_per_second", Some(10)).expect("ok"),
            Some(10)
        );
        assert_eq!(positive("rate_limit_per_second", None).expect("ok"), None);
        for bad in [0, -1, MAX_RATE_LIMIT + 1] {
            assert_eq!(
                positive("x", Some(bad)).expect_err("range").code,
                "out_of_range"
            );
        }
    }
}
