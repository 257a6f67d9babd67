//! Operational events: what Herald says about itself, as events of reserved
//! types (`herald.*`) that endpoints subscribe to like to any other type.
//! Their payloads are built here, so ingest (an endpoint enabled or disabled
//! through the API) and the dispatcher (410, failing, recovered, a delivery
//! failed or recovered) send the same shapes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

pub const ENDPOINT_DISABLED: &str = "herald.endpoint.disabled";
pub const ENDPOINT_ENABLED: &str = "herald.endpoint.enabled";
pub const ENDPOINT_FAILING: &str = "herald.endpoint.failing";
pub const ENDPOINT_RECOVERED: &str = "herald.endpoint.recovered";
pub const DELIVERY_FAILED: &str = "herald.delivery.failed";
pub const DELIVERY_RECOVERED: &str = "herald.delivery.recovered";

/// Every operational type (registered by migration 0006).
pub const TYPES: [&str; 6] = [
    ENDPOINT_DISABLED,
    ENDPOINT_ENABLED,
    ENDPOINT_FAILING,
    ENDPOINT_RECOVERED,
    DELIVERY_FAILED,
    DELIVERY_RECOVERED,
];

/// Event types producers may not send: Herald's own.
pub fn is_reserved(event_type: &str) -> bool {
    event_type == "herald" || event_type.starts_with("herald.")
}

/// Why an endpoint was disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DisabledBy {
    /// It answered `410 Gone`.
    Gone,
    /// Its deliveries failed for longer than `HERALD_AUTO_DISABLE_AFTER`.
    Failing,
    /// Someone disabled it through the API.
    Api,
}

/// An operational event to store and publish: its type and payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Operational {
    pub tenant_id: String,
    pub event_type: &'static str,
    pub payload: serde_json::Value,
}

/// The endpoint an event is about.
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    pub webhook_id: Uuid,
    pub tenant_id: &'a str,
}

impl About<'_> {
    fn event(&self, event_type: &'static str, payload: serde_json::Value) -> Operational {
        Operational {
            tenant_id: self.tenant_id.to_string(),
            event_type,
            payload,
        }
    }

    /// `herald.endpoint.disabled`: why, when, and since when it failed.
    pub fn disabled(
        &self,
        by: DisabledBy,
        message: Option<&str>,
        at: DateTime<Utc>,
        failing_since: Option<DateTime<Utc>>,
    ) -> Operational {
        let status_code = (by == DisabledBy::Gone).then_some(410);
        self.event(
            ENDPOINT_DISABLED,
            serde_json::json!({
                "endpoint_id": self.webhook_id, "reason": by, "message": message,
                "status_code": status_code, "failing_since": failing_since, "disabled_at": at,
            }),
        )
    }

    /// `herald.endpoint.enabled`.
    pub fn enabled(&self, at: DateTime<Utc>) -> Operational {
        self.event(
            ENDPOINT_ENABLED,
            serde_json::json!({"endpoint_id": self.webhook_id, "enabled_at": at}),
        )
    }

    /// `herald.endpoint.failing`: every delivery failed since `since`.
    pub fn failing(&self, since: DateTime<Utc>, at: DateTime<Utc>) -> Operational {
        self.event(
            ENDPOINT_FAILING,
            serde_json::json!({"endpoint_id": self.webhook_id, "failing_since": since, "detected_at": at}),
        )
    }

    /// `herald.endpoint.recovered`: it accepted a delivery again after the
    /// failure period announced at `failing_announced_at`.
    pub fn recovered(&self, failing_announced_at: DateTime<Utc>, at: DateTime<Utc>) -> Operational {
        self.event(
            ENDPOINT_RECOVERED,
            serde_json::json!({"endpoint_id": self.webhook_id,
                "failing_announced_at": failing_announced_at, "recovered_at": at}),
        )
    }

    /// `herald.delivery.failed` or `herald.delivery.recovered`.
    pub fn delivery(&self, d: &DeliveryFacts<'_>) -> Operational {
        let event_type = if d.delivered {
            DELIVERY_RECOVERED
        } else {
            DELIVERY_FAILED
        };
        let payload = serde_json::json!({
            "endpoint_id": self.webhook_id, "delivery_id": d.delivery_id, "event_id": d.event_id,
            "event_type": d.event_type, "attempts": d.attempts, "status_code": d.status_code,
            "error": d.error, "failed_at": d.failed_at,
            "delivered_at": d.delivered.then_some(d.at),
        });
        self.event(event_type, payload)
    }
}

/// What a delivery event says.
#[derive(Debug, Clone)]
pub struct DeliveryFacts<'a> {
    pub delivery_id: Uuid,
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub attempts: i32,
    pub status_code: Option<u16>,
    pub error: Option<&'a str>,
    /// When it first failed for good.
    pub failed_at: DateTime<Utc>,
    /// `true`: it was delivered now (recovered); `false`: it failed now.
    pub delivered: bool,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_types_are_herald_s_own() {
        for t in TYPES {
            assert!(is_reserved(t), "{t}");
            assert!(crate::domain::EventType::parse(t).is_ok(), "{t}");
        }
        assert!(is_reserved("herald"));
        for t in ["order.created", "heraldry.x", "x.herald"] {
            assert!(!is_reserved(t), "{t}");
        }
    }

    #[test]
    fn payloads_name_the_endpoint_and_what_happened() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let about = About {
            webhook_id: Uuid::nil(),
            tenant_id: "acme",
        };
        let gone = about.disabled(DisabledBy::Gone, Some("410"), at, None);
        assert_eq!(
            (gone.event_type, gone.tenant_id.as_str()),
            (ENDPOINT_DISABLED, "acme")
        );
        assert_eq!(gone.payload["reason"], "gone");
        assert_eq!(gone.payload["status_code"], 410);
        assert_eq!(gone.payload["endpoint_id"], Uuid::nil().to_string());
        let failing = about.disabled(DisabledBy::Failing, None, at, Some(at));
        assert!(failing.payload["status_code"].is_null());
        assert_eq!(failing.payload["failing_since"], "2023-11-14T22:13:20Z");
        let facts = DeliveryFacts {
            delivery_id: Uuid::max(),
            event_id: Uuid::nil(),
            event_type: "order.created",
            attempts: 4,
            status_code: Some(503),
            error: Some("HTTP 503"),
            failed_at: at,
            delivered: false,
            at,
        };
        let failed = about.delivery(&facts);
        assert_eq!(failed.event_type, DELIVERY_FAILED);
        assert_eq!(failed.payload["status_code"], 503);
        assert!(failed.payload["delivered_at"].is_null());
        let recovered = about.delivery(&DeliveryFacts {
            delivered: true,
            ..facts
        });
        assert_eq!(recovered.event_type, DELIVERY_RECOVERED);
        assert_eq!(recovered.payload["event_type"], "order.created");
    }
}
