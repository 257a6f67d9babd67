//! Extractors whose rejections speak the API's error shape: axum's own
//! `Json`, `Query` and `Path` rejections become [`ApiError`]s, JSON bodies
//! meet [`super::json_limits`] first, and ids in paths are parsed as UUIDs
//! with a clear `invalid_id` code.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::error::ApiError;
use super::json_limits;

/// A JSON body; malformed JSON, unknown fields, a body past
/// [`json_limits`], a wrong content type or an oversize body become
/// 400/415/413 errors in the API's shape.
pub struct ApiJson<T>(pub T);

/// `application/json` or `application/<anything>+json`, as axum's `Json` wants.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|s| s.ends_with("+json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the request body must be JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(JsonRejection::from)?;
        json_limits::check(&bytes)
            .map_err(|problem| ApiError::bad_request(problem.code(), problem.to_string()))?;
        let Json(value) = Json::<T>::from_bytes(&bytes)?;
        Ok(Self(value))
    }
}

/// Optional bodies are small option objects.
const OPTIONAL_BODY_LIMIT: usize = 64 * 1024;

/// A body that may be absent (no bytes at all): `None`, else parsed as JSON
/// with the same rules as [`ApiJson`].
pub struct OptionalJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty_by_length = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0");
        let no_type = !req.headers().contains_key(axum::http::header::CONTENT_TYPE);
        if empty_by_length || no_type {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, OPTIONAL_BODY_LIMIT)
                .await
                .map_err(|_| {
                    ApiError::new(
                        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        format!("this body may be at most {OPTIONAL_BODY_LIMIT} bytes"),
                    )
                })?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(Self(None));
            }
            let req = Request::from_parts(parts, axum::body::Body::from(bytes));
            let ApiJson(v) = ApiJson::<T>::from_request(req, state).await?;
            return Ok(Self(Some(v)));
        }
        let ApiJson(v) = ApiJson::<T>::from_request(req, state).await?;
        Ok(Self(Some(v)))
    }
}

/// Query parameters; unknown or malformed ones are a 400 `invalid_query`.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// Parse one path segment as a UUID.
pub fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| {
        ApiError::bad_request(
            "invalid_id",
            format!("{raw:?} is not a valid id (expected a UUID)"),
        )
    })
}

/// A single `{id}` path parameter that must be a UUID.
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(Self(parse_id(&raw)?))
    }
}

/// Raw path parameters, for routes with several (parsed by the handler).
pub struct RawPath<T>(pub T);

impl<S, T> FromRequestParts<S> for RawPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(v) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(v))
    }
}
