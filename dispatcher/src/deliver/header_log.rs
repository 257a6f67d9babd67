//! The headers an attempt keeps in the log, as pure functions: the request's
//! headers as sent and an excerpt of the response's, with signatures and
//! secret-looking values redacted, as one small JSON object per attempt
//! (`delivery_attempts.headers`):
//!
//! ```json
//! {"request": {"webhook-id": "...", "webhook-signature": "[redacted]", ...},
//!  "response": {"content-type": "text/plain", ...}}
//! ```
//!
//! A value is redacted when its header name is a signature or looks like it
//! carries a credential: `authorization`, `cookie`, or a name containing
//! `auth`, `token`, `secret`, `key`, `password`, `signature` or `session`.

use http::header::HeaderMap;
use serde_json::{Map, Value};

/// What a redacted value reads as.
pub const REDACTED: &str = "[redacted]";
/// The response headers kept: at most this many ...
pub const MAX_RESPONSE_HEADERS: usize = 16;
/// ... each value cut to this many bytes ...
pub const MAX_VALUE: usize = 256;
/// ... and no more than this many bytes of names and values in all.
pub const MAX_RESPONSE_BYTES: usize = 1024;

/// Parts of header names that mark a credential.
const SECRET_PARTS: &[&str] = &[
    "auth",
    "cookie",
    "token",
    "secret",
    "key",
    "password",
    "signature",
    "session",
];

/// Whether the value of header `name` must not be stored.
pub fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARTS.iter().any(|part| name.contains(part))
}

/// `value` cut to at most `max` bytes on a character boundary.
fn cut(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// One header's value as the log keeps it.
fn kept(name: &str, value: &[u8]) -> String {
    if is_secret(name) {
        REDACTED.to_string()
    } else {
        cut(&String::from_utf8_lossy(value), MAX_VALUE).to_string()
    }
}

/// Add `value` under `name`, joining repeated headers with `, `.
fn add(map: &mut Map<String, Value>, name: &str, value: String) {
    match map.get_mut(name) {
        Some(Value::String(existing)) => {
            existing.push_str(", ");
            existing.push_str(&value);
        }
        _ => {
            map.insert(name.to_string(), Value::String(value));
        }
    }
}

/// Every request header as sent, secrets redacted.
pub fn request(headers: &HeaderMap) -> Map<String, Value> {
    let mut map = Map::with_capacity(headers.len());
    for (name, value) in headers {
        add(
            &mut map,
            name.as_str(),
            kept(name.as_str(), value.as_bytes()),
        );
    }
    map
}

/// The first response headers, within [`MAX_RESPONSE_HEADERS`] and
/// [`MAX_RESPONSE_BYTES`], secrets redacted.
pub fn response(headers: &HeaderMap) -> Map<String, Value> {
    let mut map = Map::new();
    let mut bytes = 0;
    for (name, value) in headers {
        let value = kept(name.as_str(), value.as_bytes());
        let size = name.as_str().len() + value.len();
        let new_name = !map.contains_key(name.as_str());
        if bytes + size > MAX_RESPONSE_BYTES || (new_name && map.len() >= MAX_RESPONSE_HEADERS) {
            break;
        }
        bytes += size;
        add(&mut map, name.as_str(), value);
    }
    map
}

/// The attempt's `headers` column: `{"request": ..., "response": ...}`,
/// `response` absent when no response arrived.
pub fn record(request: Map<String, Value>, response: Option<Map<String, Value>>) -> Value {
    let mut out = Map::with_capacity(2);
    out.insert("request".into(), Value::Object(request));
    if let Some(response) = response {
        out.insert("response".into(), Value::Object(response));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{HeaderName, HeaderValue};

    fn map(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        h
    }

    #[test]
    fn signatures_and_secret_looking_headers_are_redacted() {
        let sent = request(&map(&[
            ("webhook-id", "evt_1"),
            ("webhook-signature", "v1,abc"),
            ("x-webhook-signature", "sha256=ff"),
            ("authorization", "Bearer s3cret"),
            ("x-api-key", "k"),
            ("x-access-token", "t"),
            ("x-client-secret", "s"),
            ("cookie", "a=b"),
            ("x-team", "payments"),
            ("content-type", "application/json"),
        ]));
        for name in [
            "webhook-signature",
            "x-webhook-signature",
            "authorization",
            "x-api-key",
            "x-access-token",
            "x-client-secret",
            "cookie",
        ] {
            assert_eq!(sent[name], REDACTED, "{name}");
        }
        assert_eq!(sent["webhook-id"], "evt_1");
        assert_eq!(sent["x-team"], "payments");
        assert_eq!(sent["content-type"], "application/json");
        let text = Value::Object(sent).to_string();
        for secret in ["s3cret", "abc", "sha256=ff"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[test]
    fn the_response_excerpt_is_bounded_and_joins_repeats() {
        let long = "x".repeat(1000);
        let got = response(&map(&[
            ("content-type", "text/plain"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("x-long", &long),
        ]));
        assert_eq!(got["content-type"], "text/plain");
        assert_eq!(got["set-cookie"], "[redacted], [redacted]");
        assert_eq!(got["x-long"].as_str().map(str::len), Some(MAX_VALUE));

        let names: Vec<String> = (0..40).map(|i| format!("x-h{i}")).collect();
        let mut many = HeaderMap::new();
        for n in &names {
            many.insert(
                HeaderName::from_bytes(n.as_bytes()).expect("name"),
                HeaderValue::from_static("v"),
            );
        }
        assert_eq!(response(&many).len(), MAX_RESPONSE_HEADERS);
        let mut big = HeaderMap::new();
        for n in &names[..8] {
            big.insert(
                HeaderName::from_bytes(n.as_bytes()).expect("name"),
                HeaderValue::from_str(&long).expect("value"),
            );
        }
        let kept: usize = response(&big)
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum();
        assert!(kept <= MAX_RESPONSE_BYTES, "{kept}");
    }

    #[test]
    fn values_are_cut_on_character_boundaries() {
        assert_eq!(cut("ééé", 3), "é");
        assert_eq!(cut("abc", 10), "abc");
        let v = record(Map::new(), None);
        assert!(v.get("response").is_none());
        assert!(v["request"].is_object());
    }
}
