//! `/tenants` and their API keys (admin only).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use herald_common::crypto::{generate_api_key, hash_api_key};
use herald_common::domain::TenantId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::access::Scope;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{parse_id, ApiJson, OptionalJson, RawPath};
use crate::http::state::AppState;
use crate::store::api_keys::{self, ApiKey, NewApiKey};
use crate::store::tenants::{self, Tenant};
use crate::store::StoreError;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Slug: 1-63 of a-z, 0-9, `_`, `-`, starting with a letter or digit.
    #[schema(example = "acme")]
    pub id: String,
    pub name: Option<String>,
    /// Endpoint limit for this tenant (default `HERALD_MAX_ENDPOINTS_PER_TENANT`).
    pub max_endpoints: Option<i32>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// A label to recognise the key by.
    pub name: Option<String>,
    /// What the key may do: `read`, `write`, `events:publish` (default: all
    /// three). A route needing a scope the key lacks answers
    /// `403 insufficient_scope`.
    #[schema(example = json!(["events:publish"]))]
    pub scopes: Option<Vec<String>>,
    /// RFC 3339 time after which the key answers `401 token_expired`
    /// (default: never).
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// The key itself (`hk_...`), shown only here.
    pub key: String,
}

fn tenant_id(raw: &str) -> Result<TenantId, ApiError> {
    TenantId::parse(raw).map_err(|e| ApiError::bad_request("invalid_tenant", e.to_string()))
}

/// A label of at most 200 characters.
pub fn name(raw: String) -> Result<String, ApiError> {
    if raw.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "invalid_name",
            "the name may be at most 200 characters",
        ));
    }
    Ok(raw)
}

/// Create a tenant.
#[utoipa::path(post, path = "/tenants", tag = "tenants", request_body = CreateTenant,
    security(("bearer" = [])),
    responses((status = 201, body = Tenant), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    caller.require_admin()?;
    let id = tenant_id(&body.id)?;
    if body.max_endpoints.is_some_and(|m| m < 0) {
        return Err(ApiError::bad_request(
            "out_of_range",
            "max_endpoints must be 0 or more",
        ));
    }
    let name = name(body.name.unwrap_or_else(|| id.as_str().to_string()))?;
    let tenant = tenants::insert(&state.db, id.as_str(), &name, body.max_endpoints)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::conflict(
                "tenant_exists",
                format!("the tenant {:?} already exists", id.as_str()),
            ),
            e => e.into(),
        })?;
    state.tenants.0.insert(id.as_str());
    Ok((StatusCode::CREATED, Json(tenant)))
}

/// Every tenant (admin) or the caller's own (tenant key).
#[utoipa::path(get, path = "/tenants", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = Vec<Tenant>)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Tenant>>, ApiError> {
    Ok(Json(tenants::list(&state.db, caller.scope_str()).await?))
}

async fn ensure_tenant(state: &AppState, id: &TenantId) -> Result<(), ApiError> {
    if state.tenants.exists(&state.db, id).await? {
        Ok(())
    } else {
        Err(ApiError::not_found("tenant"))
    }
}

/// Known scopes, each once; all three when absent.
pub fn scopes(raw: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    let Some(raw) = raw else {
        return Ok(Scope::ALL.iter().map(|s| s.as_str().to_string()).collect());
    };
    if raw.is_empty() || raw.len() > Scope::ALL.len() {
        return Err(ApiError::bad_request(
            "invalid_scope",
            "scopes lists 1 to 3 of read, write, events:publish",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for name in &raw {
        let scope = Scope::parse(name).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_scope",
                format!("{name:?} is not a scope (read, write, events:publish)"),
            )
        })?;
        if !out.iter().any(|s| s == scope.as_str()) {
            out.push(scope.as_str().to_string());
        }
    }
    Ok(out)
}

/// An expiry in the future, if any.
pub fn expiry(raw: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>, ApiError> {
    match raw {
        Some(at) if at <= Utc::now() => Err(ApiError::bad_request(
            "invalid_expiry",
            "expires_at must be in the future",
        )),
        other => Ok(other),
    }
}

/// Create an API key for a tenant; the key is shown only in this response.
#[utoipa::path(post, path = "/tenants/{id}/api-keys", tag = "tenants",
    request_body(content = Option<CreateApiKey>, description = "optional"),
    security(("bearer" = [])), params(("id" = String, Path, description = "tenant id")),
    responses((status = 201, body = ApiKeyCreated), (status = 400, description = "unknown scope or an expiry in the past", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    RawPath(raw): RawPath<String>,
    OptionalJson(body): OptionalJson<CreateApiKey>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    caller.require_admin()?;
    let tenant = tenant_id(&raw)?;
    ensure_tenant(&state, &tenant).await?;
    let body = body.unwrap_or_default();
    let name = name(body.name.unwrap_or_default())?;
    let scopes = scopes(body.scopes)?;
    let expires_at = expiry(body.expires_at)?;
    let key = generate_api_key();
    let prefix: String = key.chars().take(10).collect();
    let new = NewApiKey {
        id: Uuid::now_v7(),
        tenant_id: tenant.as_str(),
        name: &name,
        key_hash: &hash_api_key(&key),
        key_prefix: &prefix,
        scopes: &scopes,
        expires_at,
    };
    let api_key = api_keys::insert(&state.db, new).await?;
    Ok((StatusCode::CREATED, Json(ApiKeyCreated { api_key, key })))
}

/// A tenant's API keys (never the keys themselves).
#[utoipa::path(get, path = "/tenants/{id}/api-keys", tag = "tenants", security(("bearer" = [])),
    params(("id" = String, Path, description = "tenant id")),
    responses((status = 200, body = Vec<ApiKey>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    RawPath(raw): RawPath<String>,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    caller.require_admin()?;
    let tenant = tenant_id(&raw)?;
    ensure_tenant(&state, &tenant).await?;
    Ok(Json(api_keys::list(&state.db, tenant.as_str()).await?))
}

/// Revoke an API key; it stops working at once on this node and within
/// seconds on every other.
#[utoipa::path(delete, path = "/tenants/{id}/api-keys/{key_id}", tag = "tenants", security(("bearer" = [])),
    params(("id" = String, Path, description = "tenant id"), ("key_id" = Uuid, Path, description = "key id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    RawPath((raw_tenant, raw_key)): RawPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let tenant = tenant_id(&raw_tenant)?;
    let key_id = parse_id(&raw_key)?;
    if !api_keys::revoke(&state.db, key_id, tenant.as_str()).await? {
        return Err(ApiError::not_found("api key"));
    }
    state.keys.revoke(key_id);
    Ok(StatusCode::NO_CONTENT)
}
