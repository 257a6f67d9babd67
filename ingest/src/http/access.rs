//! Who may call which route: the one table of routes and what each needs
//! (nothing, a scope of a tenant API key, or the admin token). The admin
//! token may call every route; a tenant key needs the route's scope, else
//! `403 insufficient_scope`. A route missing from the table needs the admin
//! token (fail closed); a test checks that every documented route is here.

use axum::http::Method;

/// What a tenant API key may do. Scopes are independent: `write` does not
/// imply `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read endpoints, events, deliveries, stats, event types.
    Read,
    /// Create, change and delete endpoints; rotate secrets; test sends,
    /// replays, recoveries and manual retries.
    Write,
    /// Send events (`POST /events`, `/events/batch`).
    EventsPublish,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::EventsPublish];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::EventsPublish => "events:publish",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// No token (health, metrics, the OpenAPI document, the console's files).
    Nothing,
    /// The admin token, or a tenant key with this scope.
    Scope(Scope),
    /// The admin token.
    Admin,
}

use Needs::{Admin, Nothing};
const READ: Needs = Needs::Scope(Scope::Read);
const WRITE: Needs = Needs::Scope(Scope::Write);
const PUBLISH: Needs = Needs::Scope(Scope::EventsPublish);

/// Every route as the router spells it: `(method, path template, needs)`.
pub const ROUTES: &[(&str, &str, Needs)] = &[
    ("GET", "/webhooks", READ),
    ("POST", "/webhooks", WRITE),
    ("GET", "/webhooks/{id}", READ),
    ("PATCH", "/webhooks/{id}", WRITE),
    ("DELETE", "/webhooks/{id}", WRITE),
    ("POST", "/webhooks/{id}/rotate-secret", WRITE),
    ("POST", "/webhooks/{id}/recover", WRITE),
    ("POST", "/webhooks/{id}/test", WRITE),
    ("POST", "/webhooks/{id}/replay", WRITE),
    ("GET", "/webhooks/{id}/stats", READ),
    ("GET", "/event-types", READ),
    ("POST", "/event-types", Admin),
    ("GET", "/event-types/{name}", READ),
    ("PATCH", "/event-types/{name}", Admin),
    ("DELETE", "/event-types/{name}", Admin),
    ("POST", "/events", PUBLISH),
    ("GET", "/events", READ),
    ("POST", "/events/batch", PUBLISH),
    ("GET", "/events/{id}", READ),
    ("GET", "/deliveries", READ),
    ("GET", "/deliveries/{id}", READ),
    ("POST", "/deliveries/{id}/retry", WRITE),
    ("GET", "/tenants", READ),
    ("POST", "/tenants", Admin),
    ("GET", "/tenants/{id}/api-keys", Admin),
    ("POST", "/tenants/{id}/api-keys", Admin),
    ("DELETE", "/tenants/{id}/api-keys/{key_id}", Admin),
    ("GET", "/healthz", Nothing),
    ("GET", "/readyz", Nothing),
    ("GET", "/metrics", Nothing),
    ("GET", "/openapi.json", Nothing),
    ("GET", "/", Nothing),
    ("GET", "/console/{*path}", Nothing),
];

/// What `method` on the route template `path` needs; unknown routes need
/// the admin token.
pub fn needs(method: &Method, path: &str) -> Needs {
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == path)
        .map_or(Admin, |(_, _, needs)| *needs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_by_name_and_unknown_routes_need_the_admin() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Scope::parse("admin"), None);
        assert_eq!(needs(&Method::POST, "/events"), PUBLISH);
        assert_eq!(needs(&Method::GET, "/events"), READ);
        assert_eq!(needs(&Method::PUT, "/events"), Admin);
        assert_eq!(needs(&Method::GET, "/not/a/route"), Admin);
        let mut seen = std::collections::HashSet::new();
        assert!(
            ROUTES.iter().all(|(m, p, _)| seen.insert((m, p))),
            "listed once"
        );
    }
}
