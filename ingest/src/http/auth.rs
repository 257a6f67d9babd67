//! Who is calling: the admin (any of `HERALD_ADMIN_TOKEN(S)`) or a tenant
//! API key, and whether it may call this route ([`super::access`]: a key
//! needs the route's scope and must not be expired).
//!
//! Convention for the admin: reads see every tenant unless a `Herald-Tenant`
//! header narrows them; writes that create tenant-owned things (endpoints,
//! events) go to the `Herald-Tenant` tenant, `default` when absent. A tenant
//! key always acts as its own tenant; a `Herald-Tenant` header naming another
//! tenant is refused with 403.

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use herald_common::config::Secret;
use herald_common::crypto::hash_api_key;
use herald_common::domain::TenantId;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::access::{self, Needs};
use super::error::ApiError;
use super::state::AppState;
use crate::store::api_keys::KeyOwner;

/// The header an admin uses to act on one tenant.
pub const TENANT_HEADER: &str = "herald-tenant";

#[derive(Debug, Clone)]
pub enum Caller {
    /// The admin token; `tenant` is the `Herald-Tenant` header, if any.
    Admin { tenant: Option<TenantId> },
    /// A tenant API key.
    Tenant { tenant: TenantId, key_id: Uuid },
}

impl Caller {
    /// The tenant that reads are limited to; `None` means every tenant.
    pub fn scope(&self) -> Option<&TenantId> {
        match self {
            Caller::Admin { tenant } => tenant.as_ref(),
            Caller::Tenant { tenant, .. } => Some(tenant),
        }
    }

    /// `scope()` as the store takes it: `None` for every tenant.
    pub fn scope_str(&self) -> Option<&str> {
        self.scope().map(TenantId::as_str)
    }

    /// `scope()` as an owned filter value.
    pub fn scope_param(&self) -> Option<String> {
        self.scope_str().map(str::to_string)
    }

    /// The tenant that owns what this call creates.
    pub fn write_tenant(&self) -> TenantId {
        match self {
            Caller::Admin { tenant } => tenant.clone().unwrap_or_else(TenantId::default_tenant),
            Caller::Tenant { tenant, .. } => tenant.clone(),
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Caller::Admin { .. } => Ok(()),
            Caller::Tenant { .. } => Err(ApiError::forbidden(
                "this route needs the admin token; tenant API keys cannot use it",
            )),
        }
    }
}

/// The bearer token of the request, if any.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing_token",
                "send `Authorization: Bearer <admin token or tenant API key>`",
            )
        })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid_token", "the token is not valid"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "missing_token",
            "the Authorization header must be `Bearer <token>`",
        ));
    }
    Ok(token.trim())
}

fn tenant_header(headers: &HeaderMap) -> Result<Option<TenantId>, ApiError> {
    let Some(v) = headers.get(TENANT_HEADER) else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or("");
    TenantId::parse(s.trim())
        .map(Some)
        .map_err(|e| ApiError::bad_request("invalid_tenant", format!("Herald-Tenant: {e}")))
}

/// Constant-time comparison, so the admin token cannot be guessed by timing.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether `token` is one of the admin tokens (each compared, every time).
fn is_admin(token: &str, admin_tokens: &[Secret]) -> bool {
    admin_tokens
        .iter()
        .fold(false, |hit, t| hit | same_secret(token, t.expose()))
}

/// A tenant key may call the route: not expired, and holding its scope.
fn check_key(owner: &KeyOwner, parts: &Parts) -> Result<(), ApiError> {
    if owner.expires_at.is_some_and(|at| at <= chrono::Utc::now()) {
        return Err(ApiError::unauthorized(
            "token_expired",
            "this API key has expired; ask the admin for a new one",
        ));
    }
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map_or("", MatchedPath::as_str);
    match access::needs(&parts.method, route) {
        Needs::Nothing => Ok(()),
        Needs::Admin => Err(ApiError::forbidden(
            "this route needs the admin token; tenant API keys cannot use it",
        )),
        Needs::Scope(scope) if owner.scopes.iter().any(|s| s == scope.as_str()) => Ok(()),
        Needs::Scope(scope) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!(
                "this API key lacks the `{}` scope this route needs",
                scope.as_str()
            ),
        )),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?;
        let header_tenant = tenant_header(&parts.headers)?;
        if is_admin(token, &state.config.security.admin_tokens) {
            if let Some(t) = &header_tenant {
                if !state.tenants.exists(&state.db, t).await? {
                    return Err(ApiError::unprocessable(
                        "unknown_tenant",
                        format!("the tenant {:?} (Herald-Tenant) does not exist", t.as_str()),
                    ));
                }
            }
            return Ok(Caller::Admin {
                tenant: header_tenant,
            });
        }
        let invalid = || ApiError::unauthorized("invalid_token", "the token is not valid");
        if !token.starts_with("hk_") || token.len() > 256 {
            return Err(invalid());
        }
        let owner = state
            .keys
            .lookup(&state.db, &hash_api_key(token))
            .await?
            .ok_or_else(invalid)?;
        check_key(&owner, parts)?;
        if header_tenant.as_ref().is_some_and(|t| *t != owner.tenant) {
            return Err(ApiError::forbidden(
                "a tenant API key can only act on its own tenant",
            ));
        }
        state.keys.touch(&state.db, owner.key_id);
        Ok(Caller::Tenant {
            tenant: owner.tenant,
            key_id: owner.key_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", auth.parse().expect("header"));
        h
    }

    #[test]
    fn bearer_tokens_are_parsed_strictly() {
        assert_eq!(bearer(&headers("Bearer abc")).ok(), Some("abc"));
        assert_eq!(bearer(&headers("bearer  abc ")).ok(), Some("abc"));
        for bad in ["Basic abc", "Bearer", "Bearer ", "abc"] {
            let e = bearer(&headers(bad)).expect_err(bad);
            assert_eq!(e.code, "missing_token", "{bad}");
        }
        assert_eq!(
            bearer(&HeaderMap::new()).expect_err("none").code,
            "missing_token"
        );
    }

    #[test]
    fn admin_scope_defaults_to_all_and_writes_to_default() {
        let admin = Caller::Admin { tenant: None };
        assert!(admin.scope().is_none());
        assert_eq!(admin.write_tenant().as_str(), "default");
        let t = TenantId::parse("acme").expect("tenant");
        let key = Caller::Tenant {
            tenant: t.clone(),
            key_id: Uuid::nil(),
        };
        assert_eq!(key.scope(), Some(&t));
        assert_eq!(key.require_admin().expect_err("tenant").code, "forbidden");
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
        let tokens = [Secret::new("first-token"), Secret::new("second-token")];
        assert!(is_admin("first-token", &tokens) && is_admin("second-token", &tokens));
        assert!(!is_admin("third-token", &tokens) && !is_admin("", &tokens));
    }
}
