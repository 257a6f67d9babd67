//! A small HTTP client for ingest's API (hyper-util's pooled client), with
//! the bearer token added to every request.

use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Serialize;

const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct ApiClient {
    base: String,
    token: Option<String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A response, body read in full.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl ApiResponse {
    pub fn json<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "response ({}) is not the JSON expected: {}",
                self.status,
                self.text()
            )
        })
    }

    /// The body as JSON, or `Null` when it is not JSON.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `code` of an error body `{"error": {"code", "message"}}`, or
    /// `<none>`.
    pub fn error_code(&self) -> String {
        let v = self.value();
        v["error"]["code"].as_str().unwrap_or("<none>").to_string()
    }

    /// The UUID in the JSON body's `field`; panics with the body when there
    /// is none.
    pub fn uuid(&self, field: &str) -> uuid::Uuid {
        crate::fixtures::uuid_at(&self.value(), field)
    }
}

impl ApiClient {
    /// A client for `base` (e.g. `http://127.0.0.1:41234`), without a token.
    pub fn new(base: impl Into<String>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Self {
            base: base.into().trim_end_matches('/').to_string(),
            token: None,
            client,
        }
    }

    /// The same client sending `Authorization: Bearer <token>`.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// The same client sending no `Authorization` header.
    pub fn without_token(&self) -> Self {
        Self {
            token: None,
            ..self.clone()
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The bearer token this client sends, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// A request builder for `path` with the token set; finish it with a
    /// body and pass it to [`ApiClient::execute`].
    pub fn request(&self, method: Method, path: &str) -> http::request::Builder {
        let builder = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path));
        match &self.token {
            Some(t) => builder.header("authorization", format!("Bearer {t}")),
            None => builder,
        }
    }

    pub async fn execute(&self, request: Request<Full<Bytes>>) -> anyhow::Result<ApiResponse> {
        let what = format!("{} {}", request.method(), request.uri());
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .with_context(|| format!("{what}: no answer in {TIMEOUT:?}"))?
            .with_context(|| what.clone())?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .with_context(|| what.clone())?
            .to_bytes();
        Ok(ApiResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Any method, with extra headers and a raw body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> anyhow::Result<ApiResponse> {
        let mut builder = self.request(method, path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        self.execute(builder.body(Full::new(body.into()))?).await
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<ApiResponse> {
        self.send(Method::GET, path, &[], Bytes::new()).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<ApiResponse> {
        self.send(Method::DELETE, path, &[], Bytes::new()).await
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<ApiResponse> {
        self.json(Method::POST, path, body).await
    }

    pub async fn patch_json(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<ApiResponse> {
        self.json(Method::PATCH, path, body).await
    }

    pub async fn put_json(&self, path: &str, body: &impl Serialize) -> anyhow::Result<ApiResponse> {
        self.json(Method::PUT, path, body).await
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<ApiResponse> {
        let body = serde_json::to_vec(body)?;
        self.send(method, path, &[("content-type", "application/json")], body)
            .await
    }
}
