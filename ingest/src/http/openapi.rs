//! The OpenAPI document, generated from the handlers' annotations, and the
//! route that serves it.

use axum::http::Method;
use axum::Json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::access::{self, Needs};
use super::console;
use super::handlers::{deliveries, event_types, events, ops, tenants, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald",
        description = "Webhook delivery: register endpoints, send events, read the delivery log. \
            Authenticate with `Authorization: Bearer <admin token or tenant API key>`. \
            The admin acts on one tenant with the `Herald-Tenant` header (default `default`). \
            A tenant API key carries scopes (`read`, `write`, `events:publish`) and may expire: \
            each operation says what it needs; a key without it gets `403 insufficient_scope`, \
            an expired key `401 token_expired`. Events beyond a tenant's rate limit get `429` \
            with `Retry-After`. \
            Errors are `{\"error\": {\"code\", \"message\"}}` (plus `pointer` into the request \
            body where it helps)."
    ),
    paths(
        webhooks::create, webhooks::list, webhooks::get, webhooks::patch, webhooks::delete,
        webhooks::secret::rotate_secret, deliveries::recover,
        webhooks::actions::test, webhooks::actions::replay, webhooks::actions::stats,
        event_types::list, event_types::get, event_types::change::create,
        event_types::change::patch, event_types::change::archive,
        events::create, events::create_batch, events::read::list, events::read::get,
        deliveries::list, deliveries::get, deliveries::retry,
        tenants::create, tenants::list, tenants::create_key, tenants::list_keys, tenants::revoke_key,
        ops::healthz, ops::readyz, ops::metrics, document, console::index, console::asset,
    ),
    modifiers(&BearerAuth, &CommonErrors),
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", operation_id = "openapi",
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The errors any route can answer besides its own: `401` wherever a token
/// is required, `400` wherever a path parameter or a JSON body is parsed,
/// `413` and `415` wherever a body is read (the extractors answer these
/// before the handler runs).
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let ops = [
                (Method::GET, &mut item.get),
                (Method::PUT, &mut item.put),
                (Method::POST, &mut item.post),
                (Method::DELETE, &mut item.delete),
                (Method::PATCH, &mut item.patch),
            ];
            for (method, op) in ops {
                if let Some(op) = op {
                    add_common_errors(op);
                    add_access(op, access::needs(&method, &route_template(path)));
                }
            }
        }
    }
}

/// The router's spelling of a documented path (`/console/{path}` is the
/// catch-all `/console/{*path}`).
pub fn route_template(path: &str) -> String {
    path.replace("/console/{path}", "/console/{*path}")
}

/// Say what the operation needs; `403` where a tenant key can be refused
/// and `429` where events are counted against the tenant's rate.
fn add_access(op: &mut Operation, needs: Needs) {
    let (note, forbidden) = match needs {
        Needs::Nothing => return,
        Needs::Admin => (
            "Needs the admin token.".to_string(),
            "needs the admin token",
        ),
        Needs::Scope(scope) => (
            format!(
                "Needs the admin token or a tenant API key with the `{}` scope.",
                scope.as_str()
            ),
            "the API key lacks the scope (`insufficient_scope`) or acts on another tenant",
        ),
    };
    let description = op.description.take().unwrap_or_default();
    op.description = Some(format!("{description}\n\n{note}").trim().to_string());
    add_error(op, "403", forbidden);
    if needs == Needs::Scope(access::Scope::EventsPublish) {
        let retry_after = HeaderBuilder::new()
            .schema(utoipa::openapi::schema::Object::with_type(
                utoipa::openapi::schema::Type::Integer,
            ))
            .description(Some("seconds to wait before sending again"))
            .build();
        let limited = ResponseBuilder::new()
            .description("the tenant's event rate limit (`rate_limited`)")
            .header("Retry-After", retry_after)
            .content("application/json", error_content())
            .build();
        op.responses
            .responses
            .entry("429".to_string())
            .or_insert(limited.into());
    }
}

fn error_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build()
}

fn add_error(op: &mut Operation, status: &str, description: &str) {
    let error = ResponseBuilder::new()
        .description(description)
        .content("application/json", error_content())
        .build();
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert(error.into());
}

fn add_common_errors(op: &mut Operation) {
    let mut statuses = Vec::new();
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        statuses.push(("401", "missing, unknown or expired token"));
    }
    let path_params = op
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    if path_params || op.request_body.is_some() {
        statuses.push((
            "400",
            "invalid path parameter, malformed body or invalid field",
        ));
    }
    if op.request_body.is_some() {
        statuses.push(("413", "body too large"));
        statuses.push(("415", "not application/json"));
    }
    for (status, description) in statuses {
        add_error(op, status, description);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented() {
        let doc = ApiDoc::openapi();
        let paths: Vec<&String> = doc.paths.paths.keys().collect();
        for p in [
            "/webhooks",
            "/webhooks/{id}",
            "/webhooks/{id}/rotate-secret",
            "/webhooks/{id}/recover",
            "/webhooks/{id}/test",
            "/webhooks/{id}/replay",
            "/webhooks/{id}/stats",
            "/event-types",
            "/event-types/{name}",
            "/events",
            "/events/batch",
            "/events/{id}",
            "/deliveries",
            "/deliveries/{id}",
            "/deliveries/{id}/retry",
            "/tenants",
            "/tenants/{id}/api-keys",
            "/tenants/{id}/api-keys/{key_id}",
            "/healthz",
            "/readyz",
            "/metrics",
            "/openapi.json",
            "/",
            "/console/{path}",
        ] {
            assert!(
                paths.iter().any(|k| k.as_str() == p),
                "{p} missing from {paths:?}"
            );
        }
    }

    /// Every documented operation is in the access table and every entry of
    /// the table is documented, so a new route cannot miss its scope.
    #[test]
    fn the_access_table_covers_exactly_the_documented_routes() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("json");
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("item").keys() {
                documented.push((method.to_uppercase(), route_template(path)));
            }
        }
        documented.sort();
        let mut table: Vec<(String, String)> = access::ROUTES
            .iter()
            .map(|(m, p, _)| (m.to_string(), p.to_string()))
            .collect();
        table.sort();
        assert_eq!(documented, table);
        let events = &doc["paths"]["/events"]["post"];
        assert!(events["responses"]["429"]["headers"]["Retry-After"].is_object());
        assert!(events["description"]
            .as_str()
            .is_some_and(|d| d.contains("events:publish")));
        assert!(doc["paths"]["/webhooks"]["get"]["responses"]["403"].is_object());
    }
}
