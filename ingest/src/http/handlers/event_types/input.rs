//! The bodies of `POST /event-types` and `PATCH /event-types/{name}` and
//! their checks.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::error::ApiError;
use crate::http::handlers::webhooks::input::double_option;
use crate::schema::PayloadSchema;

pub const MAX_DESCRIPTION: usize = 1_024;

/// `POST /event-types`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEventType {
    /// Dot-separated words of A-Z, a-z, 0-9, `_`, `-`.
    #[schema(example = "invoice.paid")]
    pub name: String,
    pub description: Option<String>,
    /// A JSON Schema (draft 2020-12, an object) that every new event's
    /// payload must match; `$ref` only inside the schema.
    #[schema(value_type = Option<Object>, example = json!({"type": "object", "required": ["invoice_id"]}))]
    pub schema: Option<serde_json::Value>,
    pub deprecated: Option<bool>,
}

/// `PATCH /event-types/{name}`: only the fields present change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEventType {
    pub description: Option<String>,
    /// A new JSON Schema; `null` removes it. Events accepted before keep
    /// their payloads.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Option<serde_json::Value>>,
    pub deprecated: Option<bool>,
    /// `true` archives (like `DELETE`), `false` restores.
    pub archived: Option<bool>,
}

pub fn description(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => Err(ApiError::bad_request(
            "invalid_description",
            format!("the description may be at most {MAX_DESCRIPTION} characters"),
        )),
        other => Ok(other.map(str::to_string)),
    }
}

/// A schema that compiles (`400 invalid_schema` otherwise).
pub fn schema(raw: &serde_json::Value) -> Result<(), ApiError> {
    PayloadSchema::compile(raw)
        .map(drop)
        .map_err(|e| ApiError::bad_request("invalid_schema", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_must_compile() {
        assert!(schema(&json!({"type": "object"})).is_ok());
        for bad in [json!(true), json!({"type": "nope"}), json!([1])] {
            assert_eq!(schema(&bad).expect_err("bad").code, "invalid_schema");
        }
    }

    #[test]
    fn patch_tells_a_removed_schema_from_an_absent_one() {
        let p: PatchEventType = serde_json::from_str(r#"{"schema": null}"#).expect("patch");
        assert_eq!(p.schema, Some(None));
        let p: PatchEventType = serde_json::from_str(r#"{"deprecated": true}"#).expect("patch");
        assert_eq!(p.schema, None);
        assert!(serde_json::from_str::<PatchEventType>(r#"{"name": "x"}"#).is_err());
        assert_eq!(
            description(Some(&"x".repeat(MAX_DESCRIPTION + 1)))
                .expect_err("long")
                .code,
            "invalid_description"
        );
    }
}
