//! Who is calling: the admin (`HERALD_ADMIN_TOKEN`) or a tenant API key.
//!
//! Convention for the admin: reads see every tenant unless a `Herald-Tenant`
//! header narrows them; writes that create tenant-owned things (endpoints,
//! events) go to the `Herald-Tenant` tenant, `default` when absent. A tenant
//! key always acts as its own tenant; a `Herald-Tenant` header naming another
//! tenant is refused with 403.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use herald_common::crypto::hash_api_key;
use herald_common::domain::TenantId;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::error::ApiError;
use super::state::AppState;

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

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?;
        let header_tenant = tenant_header(&parts.headers)?;
        if same_secret(token, state.config.security.admin_token.expose()) {
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
        if header_tenant.as_ref().is_some_and(|t| *t != owner.tenant) {
            return Err(ApiError::forbidden(
                "a tenant API key can only act on its own tenant",
            ));
        }
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
    }
}
