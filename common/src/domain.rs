//! Parsed domain values: once parsed, the rest of the code holds only valid ones.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("tenant id must be 1-63 characters of a-z, 0-9, '_' or '-', starting with a letter or digit")]
    TenantId,
    #[error(
        "event type must be 1-128 characters: dot-separated words of A-Z, a-z, 0-9, '_' or '-'"
    )]
    EventType,
    #[error("url is not valid: {0}")]
    Url(String),
    #[error("payload_format must be \"standard\" or \"raw\"")]
    PayloadFormat,
    #[error("ordering must be \"unordered\" or \"fifo\"")]
    Ordering,
    #[error("signature_scheme must be \"hmac\" or \"ed25519\"")]
    SignatureScheme,
}

/// A tenant slug; it appears in NATS subjects, so it is restricted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(String);

pub const DEFAULT_TENANT: &str = "default";

impl TenantId {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && (b == b'_' || b == b'-'))
            });
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(DomainError::TenantId)
        }
    }
    pub fn default_tenant() -> Self {
        Self(DEFAULT_TENANT.to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An event type such as `order.created`; each dot-separated word becomes a
/// NATS subject token, so no wildcards, spaces or empty tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventType(String);

impl EventType {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.split('.').all(|tok| {
                !tok.is_empty()
                    && tok
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            });
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(DomainError::EventType)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An endpoint URL: absolute, http or https, with a host, no credentials.
/// (Whether its address is allowed is `url_guard`'s job.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.len() > 2048 {
            return Err(DomainError::Url("longer than 2048 characters".into()));
        }
        let u = url::Url::parse(s).map_err(|e| DomainError::Url(e.to_string()))?;
        if u.scheme() != "http" && u.scheme() != "https" {
            return Err(DomainError::Url("scheme must be http or https".into()));
        }
        if u.host_str().is_none_or(str::is_empty) {
            return Err(DomainError::Url("a host is required".into()));
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err(DomainError::Url(
                "credentials in the url are not allowed; use custom headers".into(),
            ));
        }
        Ok(Self(u))
    }
    pub fn as_url(&self) -> &url::Url {
        &self.0
    }
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    /// The Standard Webhooks envelope `{id, type, timestamp, data[, custom]}`.
    #[default]
    Standard,
    /// The event payload exactly as it was ingested.
    Raw,
}

impl PayloadFormat {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "standard" => Ok(Self::Standard),
            "raw" => Ok(Self::Raw),
            _ => Err(DomainError::PayloadFormat),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Raw => "raw",
        }
    }
}

/// Whether an endpoint's deliveries keep the order of their events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ordering {
    /// Deliveries run concurrently (the default).
    #[default]
    Unordered,
    /// One at a time, in the order their events were accepted.
    Fifo,
}

/// How an endpoint's requests are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureScheme {
    /// `v1`: HMAC-SHA256 with a shared secret (the default).
    #[default]
    Hmac,
    /// `v1a`: ed25519; receivers verify with the endpoint's public key.
    Ed25519,
}

/// `as_str` and `parse` of a small enum stored as text.
macro_rules! text_enum {
    ($t:ty, $err:expr, $($variant:path => $text:literal),+) => {
        impl $t {
            pub fn parse(s: &str) -> Result<Self, DomainError> {
                match s {
                    $($text => Ok($variant),)+
                    _ => Err($err),
                }
            }
            pub fn as_str(self) -> &'static str {
                match self {
                    $($variant => $text,)+
                }
            }
        }
    };
}

text_enum!(Ordering, DomainError::Ordering, Ordering::Unordered => "unordered", Ordering::Fifo => "fifo");
text_enum!(SignatureScheme, DomainError::SignatureScheme,
    SignatureScheme::Hmac => "hmac", SignatureScheme::Ed25519 => "ed25519");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Retrying,
    Failed,
}

impl DeliveryStatus {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "retrying" => Some(Self::Retrying),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_subject_safe() {
        assert!(TenantId::parse("default").is_ok());
        assert!(TenantId::parse("acme-2_eu").is_ok());
        for bad in ["", "Acme", "a.b", "a*", "-a", "a b", &"a".repeat(64)] {
            assert_eq!(TenantId::parse(bad), Err(DomainError::TenantId), "{bad}");
        }
    }

    #[test]
    fn event_types_are_dot_separated_words() {
        assert!(EventType::parse("order.created").is_ok());
        assert!(EventType::parse("user.signed_up").is_ok());
        for bad in [
            "",
            "order..created",
            ".order",
            "order.*",
            "order.>",
            "a b",
            "é",
        ] {
            assert_eq!(EventType::parse(bad), Err(DomainError::EventType), "{bad}");
        }
    }

    #[test]
    fn orderings_and_schemes_parse_their_names_only() {
        for o in [Ordering::Unordered, Ordering::Fifo] {
            assert_eq!(Ordering::parse(o.as_str()), Ok(o));
        }
        for s in [SignatureScheme::Hmac, SignatureScheme::Ed25519] {
            assert_eq!(SignatureScheme::parse(s.as_str()), Ok(s));
        }
        assert_eq!(Ordering::parse("FIFO"), Err(DomainError::Ordering));
        assert_eq!(
            SignatureScheme::parse("rsa"),
            Err(DomainError::SignatureScheme)
        );
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(WebhookUrl::parse("https://example.com/webhook").is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:8080/x").is_ok());
        for bad in [
            "ftp://example.com",
            "example.com",
            "https://user:pw@example.com/",
            "javascript:alert(1)",
            "",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
