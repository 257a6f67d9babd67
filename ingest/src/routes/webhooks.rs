//! `/webhooks`: endpoint CRUD and secret rotation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use herald_common::crypto::generate_webhook_secret;
use herald_common::domain::WebhookUrl;
use herald_common::messages::ChangeOp;
use herald_common::url_guard::GuardError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::pagination::{decode_cursor, limit, page, Page};
use crate::routes::webhook_store::{self as store, WebhookOut};
use crate::state::AppState;
use crate::webhook_input::{self as input, CreateWebhook, PatchWebhook};

/// `201` body of `POST /webhooks`: the endpoint and its secret (shown only here).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookOut,
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
    /// Only endpoints subscribed to this event type.
    pub event_type: Option<String>,
}

/// Refuse URLs whose host resolves to a non-public address (unless allowed).
/// A host that does not resolve (yet) is accepted: it cannot reach anything
/// now, and the dispatcher checks every address again at send time.
pub async fn check_url(state: &AppState, url: &WebhookUrl) -> Result<(), ApiError> {
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
    let event_types = input::event_types(&body.event_types)?;
    let secret = match &body.secret {
        Some(s) => input::secret(s)?,
        None => generate_webhook_secret(),
    };
    let new = store::NewWebhook {
        id: Uuid::now_v7(),
        tenant_id: caller.write_tenant(),
        url: url.as_str().to_string(),
        description: input::description(body.description.as_deref().unwrap_or(""))?,
        event_types: event_types.iter().map(|t| t.as_str().to_string()).collect(),
        headers: input::headers(&body.headers.unwrap_or_default())?,
        custom_payload: input::custom_payload(body.custom_payload),
        payload_format: input::payload_format(
            body.payload_format.as_deref().unwrap_or("standard"),
        )?,
        rate_limit_per_second: input::positive(
            "rate_limit_per_second",
            body.rate_limit_per_second,
        )?,
        max_in_flight: input::positive("max_in_flight", body.max_in_flight)?,
        active: body.active.unwrap_or(true),
        secret_ciphertext: state.config.encryption_key.encrypt(secret.as_bytes()),
    };
    let names: Vec<&str> = new.event_types.iter().map(String::as_str).collect();
    state
        .event_types
        .ensure_registered(&state.db, &names)
        .await?;
    check_url(&state, &url).await?;
    let webhook = store::insert(&state, new).await?;
    state
        .announce_webhook_change(webhook.id, &webhook.tenant_id, ChangeOp::Upsert)
        .await;
    tracing::info!(webhook_id = %webhook.id, tenant_id = %webhook.tenant_id, "Endpoint created.");
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated { webhook, secret }),
    ))
}

/// One endpoint (never its secret).
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "endpoint id")),
    responses((status = 200, body = WebhookOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
) -> Result<Json<WebhookOut>, ApiError> {
    let client = state.db.get().await?;
    store::fetch(&client, id, caller.scope_param(), false)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("endpoint"))
}

/// List endpoints, newest first.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(ListWebhooks),
    responses((status = 200, body = Page<WebhookOut>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListWebhooks>,
) -> Result<Json<Page<WebhookOut>>, ApiError> {
    let limit = limit(q.limit)?;
    let cursor = decode_cursor(q.cursor.as_deref())?;
    let rows = store::list(
        &state,
        caller.scope_param(),
        cursor,
        q.active,
        q.event_type,
        limit + 1,
    )
    .await?;
    Ok(Json(page(rows, limit, |w| w.id)))
}

/// Change an endpoint; `{"active": true}` re-enables a disabled one.
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", request_body = PatchWebhook,
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "endpoint id")),
    responses((status = 200, body = WebhookOut), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<PatchWebhook>,
) -> Result<Json<WebhookOut>, ApiError> {
    let url = body.url.as_deref().map(input::url).transpose()?;
    let event_types = body
        .event_types
        .as_deref()
        .map(input::event_types)
        .transpose()?;
    let change = store::Change {
        url: url.as_ref().map(|u| u.as_str().to_string()),
        event_types: event_types.map(|v| v.iter().map(|t| t.as_str().to_string()).collect()),
        description: body
            .description
            .as_deref()
            .map(input::description)
            .transpose()?,
        headers: body.headers.as_ref().map(input::headers).transpose()?,
        custom_payload: body.custom_payload.map(input::custom_payload),
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
    };
    if let Some(types) = &change.event_types {
        let names: Vec<&str> = types.iter().map(String::as_str).collect();
        state
            .event_types
            .ensure_registered(&state.db, &names)
            .await?;
    }
    if let Some(url) = &url {
        check_url(&state, url).await?;
    }
    let webhook = store::update(&state, id, caller.scope_param(), change)
        .await?
        .ok_or_else(|| ApiError::not_found("endpoint"))?;
    state
        .announce_webhook_change(webhook.id, &webhook.tenant_id, ChangeOp::Upsert)
        .await;
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
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    // Deleting the row first waits for any fan-out that locked it; the
    // deliveries are then deleted by a later statement, which sees what
    // that fan-out wrote (migrations/0003_hot_path.sql).
    let row = tx
        .query_opt(
            "DELETE FROM webhooks WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2) RETURNING tenant_id",
            &[&id, &caller.scope_param()],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("endpoint"))?;
    let tenant: String = row.get(0);
    tx.execute(
        "WITH gone AS (DELETE FROM deliveries WHERE webhook_id = $1 RETURNING id) \
         DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM gone)",
        &[&id],
    )
    .await?;
    tx.commit().await?;
    state
        .announce_webhook_change(id, &tenant, ChangeOp::Delete)
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// The new secret; generated if absent (the body itself is optional).
    pub secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretRotated {
    pub id: Uuid,
    /// The new signing secret, shown only here.
    pub secret: String,
    /// Until then requests are signed with both the new and the old secret.
    pub previous_secret_expires_at: DateTime<Utc>,
}

/// Replace the secret; the old one keeps signing beside it for the grace period.
#[utoipa::path(post, path = "/webhooks/{id}/rotate-secret", tag = "webhooks",
    request_body(content = Option<RotateSecret>, description = "optional"),
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "endpoint id")),
    responses((status = 200, body = SecretRotated), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    crate::extract::OptionalJson(body): crate::extract::OptionalJson<RotateSecret>,
) -> Result<Json<SecretRotated>, ApiError> {
    let secret = match body.and_then(|b| b.secret) {
        Some(s) => input::secret(&s)?,
        None => generate_webhook_secret(),
    };
    let ct = state.config.encryption_key.encrypt(secret.as_bytes());
    let grace = state.config.secret_rotation_grace.as_secs_f64();
    let client = state.db.get().await?;
    let row = client
        .query_opt(
            "UPDATE webhooks SET previous_secret_ciphertext = secret_ciphertext, \
                 previous_secret_expires_at = now() + make_interval(secs => $3), \
                 secret_ciphertext = $2, updated_at = now() \
             WHERE id = $1 AND ($4::text IS NULL OR tenant_id = $4) \
             RETURNING tenant_id, previous_secret_expires_at",
            &[&id, &ct, &grace, &caller.scope_param()],
        )
        .await?
        .ok_or_else(|| ApiError::not_found("endpoint"))?;
    let tenant: String = row.get(0);
    state
        .announce_webhook_change(id, &tenant, ChangeOp::Upsert)
        .await;
    tracing::info!(webhook_id = %id, "Endpoint secret rotated.");
    Ok(Json(SecretRotated {
        id,
        secret,
        previous_secret_expires_at: row.get(1),
    }))
}

/// Custom headers as stored (a JSON object of strings).
pub fn headers_from_json(v: serde_json::Value) -> BTreeMap<String, String> {
    serde_json::from_value(v).unwrap_or_default()
}
