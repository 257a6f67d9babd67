//! The one error type of the REST API, and the only place where failures of
//! the layers below (storage, the event writer, re-sends) become HTTP
//! statuses. Every failure becomes
//! `{"error": {"code": "...", "message": "..."}}` with the right status: 4xx
//! carry a code and a message meant for the caller, 5xx carry an opaque
//! message while the cause chain goes to the log.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use utoipa::ToSchema;

use super::rate_limit::{retry_after_secs, Limited};
use crate::pipeline::resend::ResendError;
use crate::pipeline::writer::WriteError;
use crate::store::StoreError;

type Cause = Box<dyn StdError + Send + Sync>;

/// An API failure: status, stable machine-readable code, human message.
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Where in the request body the problem is (a JSON pointer), when that
    /// helps: a payload that breaks its event type's schema.
    pub pointer: Option<String>,
    cause: Option<Cause>,
    /// Seconds for a `Retry-After` header (429).
    retry_after: Option<u64>,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code such as `invalid_url` or `not_found`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// JSON pointer (RFC 6901) into the request body where the problem is,
    /// for errors that have one, e.g. `/payload/amount` or
    /// `/events/3/payload/amount` for `schema_violation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            pointer: None,
            cause: None,
            retry_after: None,
        }
    }
    /// The tenant's event rate limit: `429 rate_limited`, with `Retry-After`
    /// when waiting helps.
    pub fn rate_limited(limited: Limited) -> Self {
        match limited {
            Limited::RetryAfter(wait) => Self {
                retry_after: Some(retry_after_secs(wait)),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many events for this tenant; retry after the Retry-After delay",
                )
            },
            Limited::OverBurst { burst } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("more events in one request than this tenant's burst of {burst}; send smaller batches"),
            ),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    /// Say where the problem is: `events[3]: ...`.
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.message = format!("{prefix}: {}", self.message);
        self
    }
    /// Point at a place in the request body.
    pub fn at(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }
    /// Nest the pointer (if any) under `parent`: `/payload/a` under
    /// `/events/3` is `/events/3/payload/a`.
    pub fn under(mut self, parent: &str) -> Self {
        if let Some(p) = self.pointer.take() {
            self.pointer = Some(format!("{parent}{p}"));
        }
        self
    }
    /// A dependency (Postgres, NATS) is down: 503, retry later.
    pub fn unavailable(what: &str, cause: impl Into<Cause>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!("{what} is unavailable; retry later"),
            )
        }
    }
    /// A bug or unexpected failure: 500 with an opaque message.
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        }
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )?;
        let mut cause = self.cause.as_deref().map(|c| c as &dyn StdError);
        while let Some(c) = cause {
            write!(f, "\n  caused by: {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl StdError for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(error = ?self, "Request failed.");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                pointer: self.pointer,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// The one mapping of storage failures to responses: an unreachable
/// database is `503` (retry later), a unique conflict `409`, anything else
/// (a bug, a schema the code does not match) an opaque `500`. The cause goes
/// to the log, never into the body. Handlers that expect a particular
/// conflict (a tenant id taken) answer their own code before this applies.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::from(Arc::new(e))
    }
}

/// The same mapping for a failure shared by several requests (one group
/// insert of the event writer answers every request in the group).
impl From<Arc<StoreError>> for ApiError {
    fn from(e: Arc<StoreError>) -> Self {
        match *e {
            StoreError::Pool(_) | StoreError::Unavailable(_) | StoreError::Contended(_) => {
                Self::unavailable("the database", e)
            }
            StoreError::Conflict(_) => Self {
                cause: Some(Box::new(e)),
                ..Self::conflict("conflict", "the request conflicts with stored data")
            },
            StoreError::Unstorable(_) => Self::bad_request(
                "invalid_text",
                "a text or JSON value of the request holds the NUL character (\\u0000), which cannot be stored",
            ),
            StoreError::Row(_) | StoreError::Invalid { .. } | StoreError::Db(_) => {
                Self::internal(e)
            }
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Closed => Self::unavailable("the event writer", e),
            WriteError::Store(e) => e.into(),
            WriteError::NoEarlierEvent => Self::internal(e),
        }
    }
}

impl From<ResendError> for ApiError {
    fn from(e: ResendError) -> Self {
        match e {
            ResendError::Store(e) => e.into(),
            ResendError::NatsDown | ResendError::Publish(_) => Self::unavailable("NATS", e),
            ResendError::NotAcknowledged => Self::unavailable("JetStream", e),
            ResendError::Encode(_) => Self::internal(e),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the request body must be JSON with `Content-Type: application/json`",
            ),
            JsonRejection::JsonSyntaxError(e) => Self::bad_request(
                "malformed_json",
                format!("the body is not valid JSON: {}", e.body_text()),
            ),
            JsonRejection::JsonDataError(e) => {
                let text = e.body_text();
                let code = if text.contains("unknown field") {
                    "unknown_field"
                } else {
                    "invalid_body"
                };
                Self::bad_request(code, text)
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is larger than the limit (HERALD_MAX_BODY_BYTES)",
                )
            }
            other => Self::bad_request("invalid_body", other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::bad_request(
            "invalid_path",
            format!("invalid path parameter: {}", r.body_text()),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request("invalid_query", r.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_hide_their_cause_from_the_body() {
        let e = ApiError::internal(std::io::Error::other("secret detail"));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.message, "internal error");
        assert!(format!("{e:?}").contains("secret detail"));
    }
}
