//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{deliveries, event_types, events, ops, tenants, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald",
        description = "Webhook delivery: register endpoints, send events, read the delivery log. \
            Authenticate with `Authorization: Bearer <admin token or tenant API key>`. \
            The admin acts on one tenant with the `Herald-Tenant` header (default `default`). \
            Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        webhooks::create, webhooks::list, webhooks::get, webhooks::patch, webhooks::delete,
        webhooks::rotate_secret, deliveries::recover,
        event_types::list, event_types::create,
        events::create, events::create_batch, events::get,
        deliveries::list, deliveries::get, deliveries::retry,
        tenants::create, tenants::list, tenants::create_key, tenants::list_keys, tenants::revoke_key,
        ops::healthz, ops::readyz, ops::metrics, ops::openapi, ops::dashboard,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

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
            "/event-types",
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
        ] {
            assert!(
                paths.iter().any(|k| k.as_str() == p),
                "{p} missing from {paths:?}"
            );
        }
    }
}
