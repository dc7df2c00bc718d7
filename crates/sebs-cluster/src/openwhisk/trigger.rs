//! OpenWhisk triggers: blocking invocations through the REST API (SeBS's library trigger) and
//! web actions (the HTTP trigger).

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use async_trait::async_trait;
use bytes::Bytes;
use hyper::Method;
use sebs_core::result::{ExecutionResult, InvocationError};
use sebs_platforms::http::{Exchange, Via, result_of};
use sebs_platforms::{Trigger, TriggerKind};
use serde_json::Value;

use super::activation::outcome;
use crate::rest::{Client, Reply, encode};

fn exchange_of(reply: Reply, body: Bytes) -> Exchange {
    Exchange {
        status: reply.status,
        headers: reply.headers,
        body,
        connect: reply.connect,
        first_byte: reply.first_byte,
        total: reply.total,
    }
}

/// A web action's URL (`.json`: the action's result is the response body).
#[derive(Debug, Clone)]
pub struct WebTrigger {
    /// The client for the web action's URL (no authorization: web actions are public).
    pub client: Client,
}

#[async_trait]
impl Trigger for WebTrigger {
    fn kind(&self) -> TriggerKind {
        TriggerKind::Http
    }

    fn url(&self) -> Option<String> {
        Some(self.client.base_url())
    }

    async fn invoke(&self, input: &Value) -> ExecutionResult {
        let begin = chrono::Local::now();
        let body = Bytes::from(serde_json::to_vec(input).expect("JSON serializes"));
        let reply = self
            .client
            .send(Method::POST, "", Some("application/json"), &[], body)
            .await;
        let end = chrono::Local::now();
        // Failed activations have an id too: the platform's header names it.
        let header = reply.as_ref().ok().and_then(|r| {
            r.headers
                .get("x-openwhisk-activation-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        let mut result = result_of(
            Via::Http,
            begin,
            end,
            reply.map(|r| {
                let body = r.body.clone();
                exchange_of(r, body)
            }),
        );
        if let Some(id) = header.filter(|_| result.request_id.is_empty()) {
            result.request_id = id;
        }
        result
    }
}

/// A blocking invocation (`POST .../actions/{name}?blocking=true`): the activation record comes
/// back (200; 502 when the action failed); past the controller's blocking limit a 202 gives the
/// activation id, whose record is then polled until the function's timeout.
#[derive(Debug, Clone)]
pub struct BlockingTrigger {
    /// The API client.
    pub client: Client,
    /// The namespace.
    pub namespace: String,
    /// The action.
    pub action: String,
    /// How long to poll for the record of an activation the controller stopped waiting for.
    pub timeout: Duration,
}

#[async_trait]
impl Trigger for BlockingTrigger {
    fn kind(&self) -> TriggerKind {
        TriggerKind::Library
    }

    fn url(&self) -> Option<String> {
        None
    }

    async fn invoke(&self, input: &Value) -> ExecutionResult {
        let begin = chrono::Local::now();
        let record = self.activation(input).await;
        let end = chrono::Local::now();
        match record {
            Err(e) => result_of(Via::Library, begin, end, Err(e)),
            Ok((reply, activation)) => of_activation(begin, end, reply, &activation),
        }
    }
}

impl BlockingTrigger {
    async fn activation(&self, input: &Value) -> Result<(Reply, Value)> {
        let ns = encode(&self.namespace);
        let path = format!(
            "/api/v1/namespaces/{ns}/actions/{}?blocking=true",
            encode(&self.action)
        );
        let reply = self.client.json(Method::POST, &path, Some(input)).await?;
        let body = reply.json();
        match reply.status {
            200 | 502 => Ok((reply, body)),
            202 => {
                let id = body["activationId"]
                    .as_str()
                    .ok_or_else(|| anyhow!("HTTP 202 without an activation id: {}", reply.text()))?
                    .to_owned();
                let record = self.poll(&ns, &id).await?;
                Ok((reply, record))
            }
            status => bail!(
                "OpenWhisk answered HTTP {status} to the invocation of {}: {}",
                self.action,
                reply.text()
            ),
        }
    }

    async fn poll(&self, ns: &str, id: &str) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let path = format!("/api/v1/namespaces/{ns}/activations/{}", encode(id));
        loop {
            let reply = self.client.json(Method::GET, &path, None).await?;
            if reply.ok() {
                return Ok(reply.json());
            }
            if reply.status != 404 || tokio::time::Instant::now() >= deadline {
                bail!(
                    "the record of activation {id} is not available (HTTP {}): {}",
                    reply.status,
                    reply.text()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The `ExecutionResult` of a blocking invocation's activation record.
fn of_activation(
    begin: chrono::DateTime<chrono::Local>,
    end: chrono::DateTime<chrono::Local>,
    reply: Reply,
    activation: &Value,
) -> ExecutionResult {
    let outcome = outcome(activation);
    let id = activation["activationId"].as_str().unwrap_or("").to_owned();
    let mut result = if outcome.success() {
        let body = Bytes::from(serde_json::to_vec(&outcome.result).expect("JSON serializes"));
        let mut exchange = exchange_of(reply, body);
        exchange.status = 200;
        result_of(Via::Library, begin, end, Ok(exchange))
    } else {
        let mut failed = result_of(
            Via::Library,
            begin,
            end,
            Ok(exchange_of(reply, Bytes::from_static(b"{}"))),
        );
        failed.stats.failure = true;
        failed.output = outcome.result.clone();
        failed.error = Some(InvocationError {
            kind: outcome.status.clone(),
            message: outcome.error_message(),
            traceback: vec![],
        });
        failed
    };
    if !id.is_empty() {
        result.request_id = id;
    }
    result
}
