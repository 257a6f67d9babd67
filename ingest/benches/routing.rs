//! What routing costs per event, in µs: the JSON Schema check ingest makes
//! on each new event of a type with a schema (payload parse and
//! validation), and the payload filter a dispatcher evaluates at fan-out
//! (payload parse and evaluation). Prints one line per case; the figures
//! are in docs/benchmarks.md.
//!
//!     cargo bench -p herald-ingest --bench routing

use std::hint::black_box;
use std::time::Instant;

use herald_common::routing::Filter;
use herald_ingest::schema::PayloadSchema;
use serde_json::{json, Value};

const ROUNDS: u32 = 200_000;

/// The payload herald-loadgen sends (about 200 bytes).
fn payload() -> String {
    format!(
        r#"{{"seq":123456,"sent_ns":1717171717171717171,"pad":"{}"}}"#,
        "x".repeat(152)
    )
}

/// A small schema of the kind a producer writes for such a payload.
fn small_schema() -> Value {
    json!({
        "type": "object",
        "required": ["seq", "sent_ns"],
        "properties": {
            "seq": {"type": "integer", "minimum": 0},
            "sent_ns": {"type": "integer"},
            "pad": {"type": "string", "maxLength": 10000}
        },
        "additionalProperties": false
    })
}

/// A schema of an order: nested objects, an array, enums, a format.
fn order_schema() -> Value {
    json!({
        "type": "object",
        "required": ["order_id", "amount", "currency", "customer", "items"],
        "properties": {
            "order_id": {"type": "string", "pattern": "^ord_[a-z0-9]+$"},
            "amount": {"type": "number", "minimum": 0},
            "currency": {"enum": ["EUR", "USD", "GBP"]},
            "customer": {
                "type": "object",
                "required": ["id", "email"],
                "properties": {"id": {"type": "integer"}, "email": {"type": "string", "format": "email"}}
            },
            "items": {
                "type": "array", "maxItems": 100,
                "items": {"type": "object", "required": ["sku", "qty"],
                          "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}
            }
        }
    })
}

fn order_payload() -> String {
    json!({
        "order_id": "ord_7f3a9c", "amount": 149.5, "currency": "EUR",
        "customer": {"id": 42, "email": "ada@example.com"},
        "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}, {"sku": "C-3", "qty": 4}]
    })
    .to_string()
}

/// Mean µs of `f` over [`ROUNDS`] calls, after a warm-up.
fn measure(name: &str, bytes: usize, mut f: impl FnMut() -> bool) {
    for _ in 0..ROUNDS / 10 {
        assert!(black_box(f()), "{name}: the case must pass");
    }
    let start = Instant::now();
    for _ in 0..ROUNDS {
        black_box(f());
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS);
    println!("{name:<58} {bytes:>4} B payload  {us:>6.2} µs/event");
}

fn main() {
    let small = PayloadSchema::compile(&small_schema()).expect("schema");
    let order = PayloadSchema::compile(&order_schema()).expect("schema");
    let (p, o) = (payload(), order_payload());
    let pv: Value = serde_json::from_str(&p).expect("json");
    let ov: Value = serde_json::from_str(&o).expect("json");

    measure(
        "parse the payload only (serde_json::Value)",
        p.len(),
        || serde_json::from_str::<Value>(black_box(&p)).is_ok(),
    );
    measure(
        "schema, small (3 properties): parse + validate",
        p.len(),
        || small.check(black_box(&p)).is_ok(),
    );
    measure("schema, small: validate a parsed payload", p.len(), || {
        small.check_value(black_box(&pv)).is_ok()
    });
    measure(
        "schema, order (nested, pattern, enum, email): parse + validate",
        o.len(),
        || order.check(black_box(&o)).is_ok(),
    );
    measure("schema, order: validate a parsed payload", o.len(), || {
        order.check_value(black_box(&ov)).is_ok()
    });

    let simple = Filter::parse(&json!({"seq": {"$gte": 0}})).expect("filter");
    let compound = Filter::parse(&json!({
        "amount": {"$gte": 100}, "currency": {"$in": ["EUR", "USD"]},
        "$or": [{"customer.email": {"$startsWith": "ada@"}}, {"items.0.qty": {"$gt": 5}}]
    }))
    .expect("filter");
    measure("filter {seq: {$gte: 0}}: parse + evaluate", p.len(), || {
        serde_json::from_str::<Value>(black_box(&p)).is_ok_and(|v| simple.matches(&v))
    });
    measure(
        "filter, 4 conditions with $in and $or: parse + evaluate",
        o.len(),
        || serde_json::from_str::<Value>(black_box(&o)).is_ok_and(|v| compound.matches(&v)),
    );
    measure(
        "filter, 4 conditions: evaluate a parsed payload",
        o.len(),
        || compound.matches(black_box(&ov)),
    );
}
