//! Triggers: HTTP (a 1st gen function's `httpsTrigger.url`, a 2nd gen function's or Run
//! service's URL) and the library trigger of 1st gen functions (`functions.call`, whose
//! `executionId` is the request id).

use anyhow::Result;
use async_trait::async_trait;
use bytes::Bytes;
use hyper::Method;
use sebs_core::result::{ExecutionResult, InvocationError};
use sebs_platforms::http::{Exchange, Via, result_of};
use sebs_platforms::{Trigger, TriggerKind};
use serde_json::{Value, json};

use crate::api::{Api, client_for};

/// A POST of the input to the function's URL; the SeBS response is the body. One connection
/// per invocation (its set-up is part of the measured time, as on the other platforms); the
/// TLS configuration is made once.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    url: String,
    client: sebs_cluster::rest::Client,
    path: String,
}

impl HttpTrigger {
    /// A trigger for `url`.
    pub fn new(url: String) -> Result<HttpTrigger> {
        let (client, path) = client_for(&url)?;
        Ok(HttpTrigger { url, client, path })
    }
}

#[async_trait]
impl Trigger for HttpTrigger {
    fn kind(&self) -> TriggerKind {
        TriggerKind::Http
    }

    fn url(&self) -> Option<String> {
        Some(self.url.clone())
    }

    async fn invoke(&self, input: &Value) -> ExecutionResult {
        let begin = chrono::Local::now();
        let body = Bytes::from(serde_json::to_vec(input).expect("JSON serializes"));
        let reply = self
            .client
            .send(
                Method::POST,
                &self.path,
                Some("application/json"),
                &[],
                body,
            )
            .await;
        let end = chrono::Local::now();
        let exchange = reply.map(|r| Exchange {
            status: r.status,
            headers: r.headers,
            body: r.body,
            connect: r.connect,
            first_byte: r.first_byte,
            total: r.total,
        });
        result_of(Via::Http, begin, end, exchange)
    }
}

/// `functions.call` of the Cloud Functions v1 API (1st gen only; a short request limit).
#[derive(Debug, Clone)]
pub struct CallTrigger {
    /// The API caller.
    pub api: Api,
    /// The function's full resource name.
    pub resource: String,
}

#[async_trait]
impl Trigger for CallTrigger {
    fn kind(&self) -> TriggerKind {
        TriggerKind::Library
    }

    fn url(&self) -> Option<String> {
        None
    }

    async fn invoke(&self, input: &Value) -> ExecutionResult {
        let begin = chrono::Local::now();
        let started = std::time::Instant::now();
        let reply = self.call(input).await;
        let total = started.elapsed();
        let end = chrono::Local::now();
        let reply = match reply {
            Ok(r) => r,
            Err(e) => return result_of(Via::Library, begin, end, Err(e)),
        };
        let execution = reply["executionId"].as_str().unwrap_or_default().to_owned();
        if let Some(error) = reply["error"].as_str() {
            let mut result = result_of(Via::Library, begin, end, Err(anyhow::anyhow!("{error}")));
            result.request_id = execution;
            result.error = Some(InvocationError {
                kind: "FunctionError".into(),
                message: error.to_owned(),
                traceback: vec![],
            });
            return result;
        }
        let body = reply["result"].as_str().unwrap_or_default().to_owned();
        let exchange = Exchange {
            status: 200,
            headers: Default::default(),
            body: Bytes::from(body),
            connect: Default::default(),
            first_byte: total,
            total,
        };
        let mut result = result_of(Via::Library, begin, end, Ok(exchange));
        if result.request_id.is_empty() {
            result.request_id = execution;
        }
        result
    }
}

impl CallTrigger {
    async fn call(&self, input: &Value) -> Result<Value> {
        let url = format!("{}/v1/{}:call", self.api.endpoints.functions, self.resource);
        let body = json!({ "data": input.to_string() });
        self.api.call(Method::POST, &url, Some(&body)).await
    }
}
