//! The HTTP edge: everything that knows about requests and responses.
//!
//! - [`router`]: every route, the body limit, request timeouts, request
//!   logs and `herald_http_requests_total`.
//! - [`handlers`]: one module per resource; each parses and validates the
//!   request, calls one store or pipeline function, and shapes the response.
//! - [`auth`]: who is calling (admin token or tenant API key); [`access`]:
//!   the scope or admin token each route needs.
//! - [`rate_limit`]: per-tenant event rate limits.
//! - [`extract`]: extractors whose rejections speak the API's error shape;
//!   [`json_limits`]: depth, numbers and text of every JSON body.
//! - [`error`]: [`error::ApiError`], the only HTTP error type, and the one
//!   mapping of storage and pipeline failures to statuses.
//! - [`pagination`]: cursors and pages.
//! - [`openapi`]: the OpenAPI document, generated from the handlers.
//! - [`console`]: the operations console's files, embedded, served at `/`.
//! - [`state`]: what every handler shares.

pub mod access;
pub mod auth;
pub mod console;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod json_limits;
pub mod openapi;
pub mod pagination;
pub mod rate_limit;
pub mod router;
pub mod state;

pub use router::router;
pub use state::AppState;
