//! The bytes and headers of a webhook request, as pure functions.
//!
//! The body is built once from the event's raw payload text: the Standard
//! Webhooks envelope is string concatenation around it (the payload is never
//! parsed and re-serialized, so what was ingested is exactly what is signed),
//! or the payload itself for `payload_format = raw`.
//!
//! `webhook-id` is the **event id**: the same on every retry and for every
//! endpoint, and equal to the envelope's `"id"`, so a receiver can drop
//! duplicates with it. The per-endpoint delivery id travels in the legacy
//! `X-Webhook-Delivery` header.

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use herald_common::domain::PayloadFormat;
use herald_common::signing::{self, Signer};
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, USER_AGENT};
use uuid::Uuid;

/// `User-Agent` of every request.
pub const USER_AGENT_VALUE: &str = concat!("Herald/", env!("CARGO_PKG_VERSION"));

/// What the body is made of.
pub struct BodyParts<'a> {
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub created_at: DateTime<Utc>,
    /// The event payload, exact JSON text.
    pub payload: &'a str,
    /// The endpoint's `custom_payload` as JSON text, if any.
    pub custom: Option<&'a str>,
}

/// The request body for an endpoint's payload format.
pub fn body(format: PayloadFormat, parts: &BodyParts<'_>) -> Bytes {
    match format {
        PayloadFormat::Raw => Bytes::copy_from_slice(parts.payload.as_bytes()),
        PayloadFormat::Standard => envelope(parts),
    }
}

/// `{"id":..,"type":..,"timestamp":..,"data":<payload>[,"custom":<custom>]}`.
pub fn envelope(parts: &BodyParts<'_>) -> Bytes {
    let id = parts.event_id.to_string();
    let timestamp = parts
        .created_at
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let custom_len = parts.custom.map_or(0, |c| c.len() + 10);
    let mut out = String::with_capacity(parts.payload.len() + custom_len + 128);
    out.push_str("{\"id\":");
    push_json_string(&mut out, &id);
    out.push_str(",\"type\":");
    push_json_string(&mut out, parts.event_type);
    out.push_str(",\"timestamp\":");
    push_json_string(&mut out, &timestamp);
    out.push_str(",\"data\":");
    out.push_str(parts.payload);
    if let Some(custom) = parts.custom {
        out.push_str(",\"custom\":");
        out.push_str(custom);
    }
    out.push('}');
    Bytes::from(out)
}

fn push_json_string(out: &mut String, s: &str) {
    // Serializing a &str cannot fail.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// What the headers are made of.
pub struct HeaderParts<'a> {
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub delivery_id: Uuid,
    /// Unix seconds of this attempt.
    pub timestamp: i64,
    pub body: &'a [u8],
    /// Active signing keys, the current one first.
    pub keys: &'a [Signer],
    /// The endpoint's custom headers (already free of reserved names).
    pub custom: &'a [(HeaderName, HeaderValue)],
}

/// Standard Webhooks headers, the legacy `X-Webhook-*` headers, content type,
/// user agent, then the endpoint's custom headers, which never replace any of
/// the former.
pub fn headers(parts: &HeaderParts<'_>) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(10 + parts.custom.len());
    let event_id = parts.event_id.to_string();
    let ts = parts.timestamp.to_string();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            map.insert(HeaderName::from_static(name), v);
        }
    };
    put(signing::HEADER_ID, &event_id);
    put(signing::HEADER_TIMESTAMP, &ts);
    put(
        signing::HEADER_SIGNATURE,
        &signing::sign_with(&event_id, parts.timestamp, parts.body, parts.keys),
    );
    put(signing::LEGACY_HEADER_EVENT, parts.event_type);
    put(signing::LEGACY_HEADER_TIMESTAMP, &ts);
    put(
        signing::LEGACY_HEADER_DELIVERY,
        &parts.delivery_id.to_string(),
    );
    // The legacy scheme is HMAC only: ed25519 endpoints get v1a alone.
    if let Some(current) = parts.keys.first().and_then(Signer::hmac) {
        put(
            signing::LEGACY_HEADER_SIGNATURE,
            &signing::sign_legacy(parts.timestamp, parts.body, current),
        );
    }
    map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    map.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    for (name, value) in parts.custom {
        if !map.contains_key(name) {
            map.append(name.clone(), value.clone());
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(payload: &'a str, custom: Option<&'a str>) -> BodyParts<'a> {
        BodyParts {
            event_id: Uuid::nil(),
            event_type: "order.created",
            created_at: DateTime::from_timestamp(1_700_000_000, 5_000_000).expect("time"),
            payload,
            custom,
        }
    }

    #[test]
    fn the_envelope_wraps_the_payload_bytes_untouched() {
        let payload = r#"{"b": 1,  "a":[1.50, "é\u00e9"]}"#;
        let body = body(PayloadFormat::Standard, &parts(payload, None));
        let text = std::str::from_utf8(&body).expect("utf8");
        assert_eq!(
            text,
            format!(
                r#"{{"id":"00000000-0000-0000-0000-000000000000","type":"order.created","timestamp":"2023-11-14T22:13:20.005Z","data":{payload}}}"#
            )
        );
        let parsed: serde_json::Value = serde_json::from_slice(&body).expect("valid json");
        assert_eq!(parsed["data"]["a"][1], "éé");
    }

    #[test]
    fn custom_payload_goes_under_custom_and_raw_is_the_payload_itself() {
        let body = body(
            PayloadFormat::Standard,
            &parts("{}", Some(r#"{"team":"x"}"#)),
        );
        let parsed: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(parsed["custom"]["team"], "x");
        let raw = super::body(PayloadFormat::Raw, &parts(r#"{"k": 1 }"#, Some("{}")));
        assert_eq!(&raw[..], br#"{"k": 1 }"#);
    }

    #[test]
    fn event_types_are_escaped_in_the_envelope() {
        let mut p = parts("{}", None);
        p.event_type = "a\"b";
        let parsed: serde_json::Value =
            serde_json::from_slice(&body(PayloadFormat::Standard, &p)).expect("json");
        assert_eq!(parsed["type"], "a\"b");
    }

    #[test]
    fn ed25519_endpoints_get_v1a_signatures_and_no_legacy_header() {
        let secret = signing::ed25519::generate_secret();
        let keys = [Signer::from_secret(&secret).expect("key")];
        let h = headers(&HeaderParts {
            event_id: Uuid::nil(),
            event_type: "order.created",
            delivery_id: Uuid::max(),
            timestamp: 1_700_000_000,
            body: b"{}",
            keys: &keys,
            custom: &[],
        });
        let sig = h["webhook-signature"].to_str().expect("ascii");
        assert!(sig.starts_with("v1a,"), "{sig}");
        assert!(h.get("x-webhook-signature").is_none());
        let public = signing::Ed25519Key::from_secret(&secret)
            .expect("key")
            .public_key();
        let id = Uuid::nil().to_string();
        herald_common::verify(&public, &id, "1700000000", sig, b"{}", 1_700_000_000)
            .expect("verifies with the public key");
    }

    #[test]
    fn headers_sign_with_every_key_and_custom_headers_cannot_replace_them() {
        let keys = [
            Signer::from_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("key"),
            Signer::from_secret("old-secret").expect("key"),
        ];
        let custom = [
            (
                HeaderName::from_static("x-team"),
                HeaderValue::from_static("a"),
            ),
            (
                HeaderName::from_static("webhook-id"),
                HeaderValue::from_static("evil"),
            ),
        ];
        let body = br#"{"x":1}"#;
        let h = headers(&HeaderParts {
            event_id: Uuid::nil(),
            event_type: "order.created",
            delivery_id: Uuid::max(),
            timestamp: 1_700_000_000,
            body,
            keys: &keys,
            custom: &custom,
        });
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let id = Uuid::nil().to_string();
        assert_eq!(get("webhook-id"), id);
        assert_eq!(h.get_all("webhook-id").iter().count(), 1);
        assert_eq!(get("webhook-timestamp"), "1700000000");
        assert_eq!(get("x-webhook-timestamp"), "1700000000");
        assert_eq!(get("x-webhook-event"), "order.created");
        assert_eq!(get("x-webhook-delivery"), Uuid::max().to_string());
        assert_eq!(get("content-type"), "application/json");
        assert!(get("user-agent").starts_with("Herald/"));
        assert_eq!(get("x-team"), "a");
        for secret in ["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "old-secret"] {
            let now = 1_700_000_000;
            herald_common::verify(
                secret,
                &id,
                "1700000000",
                get("webhook-signature"),
                body,
                now,
            )
            .expect("verifies");
        }
        assert_eq!(
            get("x-webhook-signature"),
            signing::sign_legacy(1_700_000_000, body, keys[0].hmac().expect("hmac"))
        );
    }
}
