//! `POST /webhooks/{id}/rotate-secret`: a new signing secret; the old one
//! keeps signing beside it for `HERALD_SECRET_ROTATION_GRACE`.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use herald_common::domain::SignatureScheme;
use herald_common::messages::ChangeOp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::input;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{IdPath, OptionalJson};
use crate::http::state::AppState;
use crate::store::webhooks;

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
    /// For `ed25519` endpoints: the new `whpk_` public key (the previous one
    /// is the endpoint's `previous_public_key` until the grace period ends).
    pub public_key: Option<String>,
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
    OptionalJson(body): OptionalJson<RotateSecret>,
) -> Result<Json<SecretRotated>, ApiError> {
    let current = webhooks::get(&state.db, id, caller.scope_str())
        .await?
        .ok_or_else(|| ApiError::not_found("endpoint"))?;
    let scheme = SignatureScheme::parse(&current.signature_scheme).map_err(ApiError::internal)?;
    let given = body.and_then(|b| b.secret);
    let secret = input::secret_for(scheme, given.as_deref())?;
    let public_key = input::public_key(&secret);
    let ct = state.keyring.seal(id, secret.as_bytes());
    let grace = state.config.ingest.secret_rotation_grace.as_secs_f64();
    let rotated = webhooks::rotate_secret(
        &state.db,
        id,
        caller.scope_str(),
        &ct,
        public_key.as_deref(),
        grace,
    )
    .await?
    .ok_or_else(|| ApiError::not_found("endpoint"))?;
    state
        .announce_webhook_change(id, &rotated.tenant_id, ChangeOp::Upsert)
        .await;
    tracing::info!(webhook_id = %id, "Endpoint secret rotated.");
    Ok(Json(SecretRotated {
        id,
        secret,
        previous_secret_expires_at: rotated.previous_secret_expires_at,
        public_key,
    }))
}
