//! The HTTP trigger of a function app: a POST to `/api/sebs_http` with the function key in the
//! `x-functions-key` header (so the key never appears in a URL that results record).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_trait::async_trait;
use sebs_core::config::Secret;
use sebs_core::result::ExecutionResult;
use sebs_platforms::http::{Exchange, Via, result_of};
use sebs_platforms::{Trigger, TriggerKind};
use serde_json::Value;

/// An HTTP trigger with a function key.
pub struct FunctionTrigger {
    /// The function's URL.
    pub url: String,
    /// The function key (never logged).
    pub key: Secret,
    /// The client: a new connection per invocation (as SeBS's client), unless made by
    /// `reusing_connections`.
    pub http: reqwest::Client,
    /// The function's timeout plus a margin.
    pub timeout: Duration,
}

impl FunctionTrigger {
    async fn exchange(&self, body: Vec<u8>) -> Result<Exchange> {
        let start = Instant::now();
        let reply = self
            .http
            .post(&self.url)
            .header("x-functions-key", self.key.expose())
            .header("content-type", "application/json")
            .body(body)
            .timeout(self.timeout)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.url))?;
        let first_byte = start.elapsed();
        let status = reply.status().as_u16();
        let headers = reply.headers().clone();
        let body = reply.bytes().await.context("the response body was cut")?;
        Ok(Exchange {
            status,
            headers,
            body,
            connect: Duration::ZERO,
            first_byte,
            total: start.elapsed(),
        })
    }
}

#[async_trait]
impl Trigger for FunctionTrigger {
    fn kind(&self) -> TriggerKind {
        TriggerKind::Http
    }

    fn url(&self) -> Option<String> {
        Some(self.url.clone())
    }

    fn reusing_connections(&self) -> Option<std::sync::Arc<dyn Trigger>> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .build()
            .ok()?;
        Some(std::sync::Arc::new(FunctionTrigger {
            url: self.url.clone(),
            key: self.key.clone(),
            http,
            timeout: self.timeout,
        }))
    }

    async fn invoke(&self, input: &Value) -> ExecutionResult {
        let begin = chrono::Local::now();
        let body = serde_json::to_vec(input).expect("payload serializes");
        let exchange = self.exchange(body).await;
        let end = chrono::Local::now();
        let failed_status = exchange.as_ref().map(|e| e.status >= 400).unwrap_or(false);
        let request_id = exchange
            .as_ref()
            .ok()
            .and_then(|e| serde_json::from_slice::<Value>(&e.body).ok())
            .and_then(|v| v["request_id"].as_str().map(str::to_owned));
        let mut result = result_of(Via::Http, begin, end, exchange);
        // A failed invocation's answer carries its invocation id too (runtimes/azure).
        if failed_status && let Some(id) = request_id {
            result.request_id = id;
        }
        result
    }
}
