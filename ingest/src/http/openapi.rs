//! The OpenAPI document, generated from the handlers' annotations, and the
//! route that serves it.

use axum::Json;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::console;
use super::handlers::{deliveries, event_types, events, ops, tenants, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald",
        description = "Webhook delivery: register endpoints, send events, read the delivery log. \
            Authenticate with `Authorization: Bearer <admin token or tenant API key>`. \
            The admin acts on one tenant with the `Herald-Tenant` header (default `default`). \
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
        for item in doc.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                add_common_errors(op);
            }
        }
    }
}

fn add_common_errors(op: &mut Operation) {
    let mut statuses = Vec::new();
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        statuses.push(("401", "missing or unknown token"));
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
        let error = ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert(error.into());
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
}
