//! The operations console: plain JavaScript modules and CSS embedded in the
//! binary (`include_str!`, no build step), served at `/` and
//! `/console/{path}` with a strict Content-Security-Policy (no inline
//! script or style, nothing from elsewhere). The page signs in with a token
//! and calls the API like any client; docs/console.md describes it.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Only this origin's scripts, styles and API; no framing, no plugins.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Every file of `http/console/`: path under `/console/`, content type, text.
pub const ASSETS: &[(&str, &str, &str)] = &[
    ("style.css", CSS, include_str!("console/style.css")),
    ("app.js", JS, include_str!("console/app.js")),
    ("api.js", JS, include_str!("console/api.js")),
    ("router.js", JS, include_str!("console/router.js")),
    ("ui.js", JS, include_str!("console/ui.js")),
    (
        "views/signin.js",
        JS,
        include_str!("console/views/signin.js"),
    ),
    (
        "views/endpoints.js",
        JS,
        include_str!("console/views/endpoints.js"),
    ),
    (
        "views/endpoint.js",
        JS,
        include_str!("console/views/endpoint.js"),
    ),
    (
        "views/endpoint_form.js",
        JS,
        include_str!("console/views/endpoint_form.js"),
    ),
    (
        "views/delivery_table.js",
        JS,
        include_str!("console/views/delivery_table.js"),
    ),
    (
        "views/deliveries.js",
        JS,
        include_str!("console/views/deliveries.js"),
    ),
    (
        "views/delivery.js",
        JS,
        include_str!("console/views/delivery.js"),
    ),
    (
        "views/events.js",
        JS,
        include_str!("console/views/events.js"),
    ),
    ("views/event.js", JS, include_str!("console/views/event.js")),
];

const INDEX: &str = include_str!("console/index.html");
const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

fn served(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // The files change with the binary: revalidate rather than keep stale ones.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The console's page.
#[utoipa::path(get, path = "/", tag = "operations",
    responses((status = 200, description = "the operations console (HTML)", content_type = "text/html")))]
pub async fn index() -> Response {
    served(HTML, INDEX)
}

/// A script or stylesheet of the console.
#[utoipa::path(get, path = "/console/{path}", tag = "operations",
    params(("path" = String, Path, description = "a file of the console, e.g. `app.js`")),
    responses((status = 200, description = "the file", content_type = "text/javascript"),
        (status = 404, description = "no such file", body = super::error::ErrorBody)))]
pub async fn asset(Path(path): Path<String>) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == path)
        .map(|(_, content_type, body)| served(content_type, body))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such console file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file added to the folder but not to [`ASSETS`] would be a 404.
    #[test]
    fn every_console_file_is_served() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/console");
        let mut files = Vec::new();
        for dir in [root.clone(), root.join("views")] {
            for entry in std::fs::read_dir(&dir).expect("console folder").flatten() {
                let path = entry.path();
                if path.is_file() {
                    let rel = path.strip_prefix(&root).expect("inside");
                    files.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        files.retain(|f| f != "index.html");
        files.sort();
        let mut listed: Vec<String> = ASSETS.iter().map(|(n, _, _)| n.to_string()).collect();
        listed.sort();
        assert_eq!(files, listed);
    }

    #[test]
    fn the_page_loads_its_script_from_this_origin_and_inlines_none() {
        assert!(INDEX.contains(r#"<script type="module" src="/console/app.js">"#));
        assert_eq!(INDEX.matches("<script").count(), 1);
        assert!(!INDEX.contains("style="));
        assert!(!INDEX.contains("<style"));
        for (name, _, body) in ASSETS {
            assert!(
                !body.contains("innerHTML"),
                "{name} writes HTML from strings"
            );
        }
    }
}
