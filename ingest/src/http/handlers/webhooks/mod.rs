//! `/webhooks`: endpoint CRUD ([`secret`] rotates the signing secret;
//! [`input`] holds the request bodies and their validation; [`actions`]
//! sends test events, replays missed events and reads the stats).

pub mod actions;
pub mod input;
pub mod routing;
pub mod secret;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use herald_common::domain::WebhookUrl;
use herald_common::messages::ChangeOp;
use herald_common::routing::Pattern;
use herald_common::url_guard::GuardError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use self::input::{CreateWebhook, PatchWebhook};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::pagination::{decode_cursor, limit, page, Page};
use crate::http::state::AppState;
use crate::store::webhooks::{self, Inserted, ListFilter, NewWebhook, Webhook};

/// `201` body of `POST /webhooks`: the endpoint and its secret (shown only
/// here); for `ed25519` the secret is the `whsk_` signing key and receivers
/// need only `public_key`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The signing secret. Store it: it is never shown again.
    pub secret: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListWebhooks {
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only active (`true`) or disabled (`false`) endpoints.
    pub active: Option<bool>,
    /// Only endpoints whose `event_types` list this entry as written
    /// (`order.created`, or a pattern such as `order.*`).
    pub event_type: Option<String>,
}

/// The entries of `event_types` without wildcards: each must be registered
/// (a pattern matches types registered later too).
fn plain_types(patterns: &[Pattern]) -> Vec<&str> {
    patterns
        .iter()
        .filter(|p| p.is_literal())
        .map(Pattern::as_str)
        .collect()
}

/// Refuse URLs whose host resolves to a non-public address (unless allowed).
/// A host that does not resolve (yet) is accepted: it cannot reach anything
/// now, and the dispatcher checks every address again at send time.
async fn check_url(state: &AppState, url: &WebhookUrl) -> Result<(), ApiError> {
    let lookup = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        state.guard.resolve(url.as_url()),
    )
    .await;
    match lookup {
        Ok(Err(e @ GuardError::Blocked { .. })) => {
            Err(ApiError::unprocessable("url_not_allowed", e.to_string()))
        }
        Ok(Err(error)) => {
            tracing::debug!(%error, "Endpoint host does not resolve; accepted, checked at send time.");
            Ok(())
        }
        Err(_) => {
            tracing::debug!(
                "Resolving an endpoint host timed out; accepted, checked at send time."
            );
            Ok(())
        }
        Ok(Ok(_)) => Ok(()),
    }
}

/// Create an endpoint.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = CreateWebhook,
    security(("bearer" = [])),
    responses((status = 201, body = WebhookCreated), (status = 400, body = ErrorBody),
        (status = 409, description = "endpoint limit reached", body = ErrorBody),
        (status = 422, description = "unregistered event type, url resolving to a refused address, or unknown tenant", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookCreated>), ApiError> {
    let url = input::url(&body.url)?;
    let event_types = routing::event_types(&body.event_types)?;
    let scheme = input::signature_scheme(body.signature_scheme.as_deref().unwrap_or("hmac"))?;
    let secret = input::secret_for(scheme, body.secret.as_deref())?;
    let id = Uuid::now_v7();
    let new = NewWebhook {
        id,
        tenant_id: caller.write_tenant(),
        url: url.as_str().to_string(),
        description: input::description(body.description.as_deref().unwrap_or(""))?,
        event_types: event_types.iter().map(|t| t.as_str().to_string()).collect(),
        headers: input::headers_or_alias(body.headers.as_ref(), body.custom_headers.as_ref())?
            .unwrap_or_default(),
        custom_payload: input::custom_payload(body.custom_payload),
        filter: routing::filter(body.filter)?,
        payload_format: input::payload_format(
            body.payload_format.as_deref().unwrap_or("standard"),
        )?,
        rate_limit_per_second: input::positive(
            "rate_limit_per_second",
            body.rate_limit_per_second,
        )?,
        max_in_flight: input::positive("max_in_flight", body.max_in_flight)?,
        active: body.active.unwrap_or(true),
        secret_ciphertext: state.keyring.seal(id, secret.as_bytes()),
        ordering: input::ordering(body.ordering.as_deref().unwrap_or("unordered"))?,
        signature_scheme: scheme,
        public_key: input::public_key(&secret),
        retry_schedule: body
            .retry_schedule
            .as_deref()
            .map(input::retry_schedule)
            .transpose()?,
        retry_on_4xx: body.retry_on_4xx.unwrap_or(true),
    };
    super::catalogue::ensure_registered(&state, &plain_types(&event_types)).await?;
    check_url(&state, &url).await?;
    let webhook = inserted(&state, new).await?;
    state
        .announce_webhook_change(webhook.id, &webhook.tenant_id, ChangeOp::Upsert)
        .await;
    tracing::info!(webhook_id = %webhook.id, tenant_id = %webhook.tenant_id, "Endpoint created.");
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated { webhook, secret }),
    ))
}

/// Insert under the tenant's endpoint limit: `422 unknown_tenant` or
/// `409 endpoint_limit_reached` when the store refuses.
async fn inserted(state: &AppState, new: NewWebhook) -> Result<Webhook, ApiError> {
    let tenant = new.tenant_id.as_str().to_string();
    let default_max = state.config.ingest.max_endpoints_per_tenant;
    match webhooks::insert(&state.db, new, default_max).await? {
        Inserted::Created(webhook) => Ok(*webhook),
        Inserted::UnknownTenant => Err(ApiError::unprocessable(
            "unknown_tenant",
            format!("the tenant {tenant:?} does not exist"),
        )),
        Inserted::LimitReached { count, max } => Err(ApiError::conflict(
            "endpoint_limit_reached",
            format!("the tenant already has {count} endpoints, its limit is {max}"),
        )),
    }
}

/// One endpoint (never its secret).
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "endpoint id")),
    responses((status = 200, body = Webhook), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
) -> Result<Json<Webhook>, ApiError> {
    webhooks::get(&state.db, id, caller.scope_str())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("endpoint"))
}

/// List endpoints, newest first.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(ListWebhooks),
    responses((status = 200, body = Page<Webhook>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListWebhooks>,
) -> Result<Json<Page<Webhook>>, ApiError> {
    let limit = limit(q.limit)?;
    let cursor = decode_cursor(q.cursor.as_deref())?;
    let filter = ListFilter {
        scope: caller.scope_param(),
        before: cursor,
        active: q.active,
        event_type: q.event_type,
        limit: limit + 1,
    };
    let rows = webhooks::list(&state.db, &filter).await?;
    Ok(Json(page(rows, limit, |w| w.id)))
}

/// Change an endpoint; `{"active": true}` re-enables a disabled one.
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", request_body = PatchWebhook,
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "endpoint id")),
    responses((status = 200, body = Webhook), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<PatchWebhook>,
) -> Result<Json<Webhook>, ApiError> {
    let url = body.url.as_deref().map(input::url).transpose()?;
    let event_types = body
        .event_types
        .as_deref()
        .map(routing::event_types)
        .transpose()?;
    let change = webhooks::Change {
        url: url.as_ref().map(|u| u.as_str().to_string()),
        event_types: event_types
            .as_ref()
            .map(|v| v.iter().map(|t| t.as_str().to_string()).collect()),
        description: body
            .description
            .as_deref()
            .map(input::description)
            .transpose()?,
        headers: input::headers_or_alias(body.headers.as_ref(), body.custom_headers.as_ref())?,
        custom_payload: body.custom_payload.map(input::custom_payload),
        filter: body.filter.map(routing::filter).transpose()?,
        payload_format: body
            .payload_format
            .as_deref()
            .map(input::payload_format)
            .transpose()?,
        rate_limit_per_second: body
            .rate_limit_per_second
            .map(|v| input::positive("rate_limit_per_second", v))
            .transpose()?,
        max_in_flight: body
            .max_in_flight
            .map(|v| input::positive("max_in_flight", v))
            .transpose()?,
        active: body.active,
        retry_schedule: body
            .retry_schedule
            .map(|v| v.as_deref().map(input::retry_schedule).transpose())
            .transpose()?,
        retry_on_4xx: body.retry_on_4xx,
    };
    if let Some(types) = &event_types {
        super::catalogue::ensure_registered(&state, &plain_types(types)).await?;
    }
    if let Some(url) = &url {
        check_url(&state, url).await?;
    }
    let updated = webhooks::update(&state.db, id, caller.scope_str(), change)
        .await?
        .ok_or_else(|| ApiError::not_found("endpoint"))?;
    let webhook = updated.webhook;
    state
        .announce_webhook_change(webhook.id, &webhook.tenant_id, ChangeOp::Upsert)
        .await;
    state.publisher.offer(updated.events);
    Ok(Json(webhook))
}

/// Delete an endpoint (and its delivery log).
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "endpoint id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let tenant = webhooks::delete(&state.db, id, caller.scope_str())
        .await?
        .ok_or_else(|| ApiError::not_found("endpoint"))?;
    state
        .announce_webhook_change(id, &tenant, ChangeOp::Delete)
        .await;
    Ok(StatusCode::NO_CONTENT)
}
