//! A small client for ingest's REST API over a pooled keep-alive connection set.

use anyhow::{anyhow, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

#[derive(Clone)]
pub struct Api {
    base: String,
    auth: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1024)
            .build(connector);
        Self {
            base: base.trim_end_matches('/').to_string(),
            auth: format!("Bearer {token}"),
            client,
        }
    }

    /// Send a request; returns the status and the body.
    pub async fn call(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Bytes>,
    ) -> anyhow::Result<(u16, Bytes)> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path))
            .header("authorization", &self.auth);
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(Full::new(body.unwrap_or_default()))?;
        let resp = self.client.request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    async fn post_json(
        &self,
        path: &str,
        v: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let (status, body) = self
            .call(http::Method::POST, path, Some(Bytes::from(v.to_string())))
            .await?;
        if !(200..300).contains(&status) {
            return Err(anyhow!(
                "POST {path} answered {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        serde_json::from_slice(&body).with_context(|| format!("POST {path}: response is not JSON"))
    }

    /// Register `name`, with `schema` if given.
    pub async fn create_event_type(
        &self,
        name: &str,
        schema: Option<serde_json::Value>,
    ) -> anyhow::Result<()> {
        let mut body = serde_json::json!({"name": name, "description": "herald-loadgen run"});
        if let Some(s) = schema {
            body["schema"] = s;
        }
        self.post_json("/event-types", body).await.map(|_| ())
    }

    pub async fn create_webhook(
        &self,
        url: &str,
        event_type: &str,
        rate_limit: Option<u32>,
        filter: Option<serde_json::Value>,
    ) -> anyhow::Result<String> {
        let mut body = serde_json::json!({
            "url": url,
            "event_types": [event_type],
            "description": "herald-loadgen",
        });
        if let Some(r) = rate_limit {
            body["rate_limit_per_second"] = r.into();
        }
        if let Some(f) = filter {
            body["filter"] = f;
        }
        let v = self.post_json("/webhooks", body).await?;
        v["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("POST /webhooks: no id in {v}"))
    }

    pub async fn delete_webhook(&self, id: &str) -> anyhow::Result<()> {
        self.call(http::Method::DELETE, &format!("/webhooks/{id}"), None)
            .await
            .map(|_| ())
    }
}
