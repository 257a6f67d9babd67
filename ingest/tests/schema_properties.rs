//! Property tests of event type schemas: any schema a caller sends compiles
//! or is refused with a typed error, never a panic; a compiled schema
//! judges any payload without panicking, and a violation points into it.

use herald_ingest::schema::{PayloadSchema, SchemaError};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Any JSON value, a few levels deep.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-5i64..50).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(
            &[
                "object",
                "string",
                "integer",
                "email",
                "^a+$",
                "(",
                "#/$defs/x",
                "a"
            ][..]
        )
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-c]{1,2}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A schema-like object: JSON Schema keywords with any values.
fn schema() -> impl Strategy<Value = Value> {
    let keyword = prop::sample::select(
        &[
            "type",
            "minimum",
            "maximum",
            "required",
            "properties",
            "items",
            "enum",
            "pattern",
            "format",
            "minLength",
            "$ref",
            "allOf",
            "anyOf",
            "not",
            "const",
            "additionalProperties",
            "$defs",
            "$schema",
            "$id",
            "prefixItems",
        ][..],
    );
    prop::collection::btree_map(keyword, value(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

proptest! {
    #[test]
    fn any_schema_compiles_or_is_refused_and_judges_any_payload(s in schema(), p in value()) {
        match PayloadSchema::compile(&s) {
            Ok(compiled) => {
                let payload = json!({ "p": p });
                if let Err(v) = compiled.check(&payload.to_string()) {
                    prop_assert!(v.pointer.is_empty() || v.pointer.starts_with('/'), "{:?}", v);
                    prop_assert!(!v.message.is_empty());
                }
            }
            Err(SchemaError::Invalid(m)) => prop_assert!(!m.is_empty()),
            Err(e) => prop_assert!(false, "an object schema refused as {e:?}"),
        }
    }
}
