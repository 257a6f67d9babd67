//! The JSON Schemas of event types (draft 2020-12, with the `jsonschema`
//! crate): checked when a schema is saved, compiled once per type and
//! version (see [`crate::store::cache::EventTypes`]), then applied to the
//! payload of every new event of that type. Pure: no I/O.
//!
//! A schema may not load anything: `$ref` resolves only inside the schema
//! itself (the crate is built without its HTTP and file resolvers), so a
//! schema cannot make ingest fetch a URL. `format` is asserted (`"format":
//! "email"` rejects a non-address), unknown formats are ignored.

use serde_json::Value;

/// The largest schema, as JSON text.
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;
/// Messages are cut to this many characters (a failing value is quoted in
/// the message, and a payload may be large).
const MAX_MESSAGE: usize = 300;

/// A schema that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("the schema must be a JSON object")]
    NotObject,
    #[error("the schema is larger than {MAX_SCHEMA_BYTES} bytes")]
    TooLarge,
    #[error("the schema is not a valid draft 2020-12 JSON Schema: {0}")]
    Invalid(String),
}

/// Where a payload breaks its schema and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the payload (RFC 6901): `""` for the payload
    /// itself, `/amount`, `/items/0/sku`.
    pub pointer: String,
    /// The schema's message, such as `-5 is less than the minimum of 0`.
    pub message: String,
}

/// A compiled schema.
#[derive(Debug)]
pub struct PayloadSchema(jsonschema::Validator);

impl PayloadSchema {
    /// Check and compile `schema`.
    pub fn compile(schema: &Value) -> Result<Self, SchemaError> {
        if !schema.is_object() {
            return Err(SchemaError::NotObject);
        }
        if schema.to_string().len() > MAX_SCHEMA_BYTES {
            return Err(SchemaError::TooLarge);
        }
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .build(schema)
            .map(Self)
            .map_err(|e| SchemaError::Invalid(cut(e.to_string())))
    }

    /// Check a payload (JSON text, already known to be a JSON object).
    /// The first violation found, if any.
    pub fn check(&self, payload: &str) -> Result<(), Violation> {
        let value: Value = serde_json::from_str(payload).map_err(|e| Violation {
            pointer: String::new(),
            message: format!("the payload is not JSON: {e}"),
        })?;
        self.check_value(&value)
    }

    pub fn check_value(&self, payload: &Value) -> Result<(), Violation> {
        self.0.validate(payload).map_err(|e| Violation {
            pointer: e.instance_path().as_str().to_string(),
            message: cut(e.to_string()),
        })
    }
}

fn cut(mut s: String) -> String {
    if let Some((i, _)) = s.char_indices().nth(MAX_MESSAGE) {
        s.truncate(i);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order_schema() -> PayloadSchema {
        PayloadSchema::compile(&json!({
            "type": "object",
            "required": ["order_id", "amount"],
            "properties": {
                "order_id": {"type": "integer"},
                "amount": {"type": "number", "minimum": 0},
                "email": {"type": "string", "format": "email"},
                "items": {"type": "array", "items": {"type": "object", "required": ["sku"]}}
            }
        }))
        .expect("valid schema")
    }

    #[test]
    fn payloads_are_checked_with_the_failing_pointer() {
        let s = order_schema();
        assert_eq!(s.check(r#"{"order_id": 1, "amount": 9.5}"#), Ok(()));
        let cases = [
            (r#"{"order_id": 1, "amount": -5}"#, "/amount", "minimum"),
            (r#"{"order_id": "x", "amount": 1}"#, "/order_id", "integer"),
            (r#"{"amount": 1}"#, "", "order_id"),
            (
                r#"{"order_id": 1, "amount": 1, "items": [{"sku": "a"}, {}]}"#,
                "/items/1",
                "sku",
            ),
            (
                r#"{"order_id": 1, "amount": 1, "email": "nope"}"#,
                "/email",
                "email",
            ),
        ];
        for (payload, pointer, words) in cases {
            let v = s.check(payload).expect_err(payload);
            assert_eq!(v.pointer, pointer, "{payload}");
            assert!(v.message.contains(words), "{payload}: {}", v.message);
        }
    }

    #[test]
    fn unusable_schemas_are_refused() {
        assert_eq!(
            PayloadSchema::compile(&json!(true)).err(),
            Some(SchemaError::NotObject)
        );
        for bad in [
            json!({"type": 5}),
            json!({"minimum": "ten"}),
            json!({"$ref": "https://example.com/schema.json"}),
            json!({"$ref": "#/$defs/missing"}),
            json!({"pattern": "("}),
        ] {
            assert!(
                matches!(PayloadSchema::compile(&bad), Err(SchemaError::Invalid(_))),
                "{bad}"
            );
        }
        let huge = json!({ "description": "x".repeat(MAX_SCHEMA_BYTES) });
        assert_eq!(
            PayloadSchema::compile(&huge).err(),
            Some(SchemaError::TooLarge)
        );
    }

    #[test]
    fn long_messages_are_cut() {
        let s = PayloadSchema::compile(&json!({"properties": {"a": {"type": "integer"}}}))
            .expect("valid");
        let payload = json!({"a": "y".repeat(2_000)});
        let v = s.check_value(&payload).expect_err("a string");
        assert!(
            v.message.chars().count() <= MAX_MESSAGE + 1,
            "{}",
            v.message
        );
    }
}
