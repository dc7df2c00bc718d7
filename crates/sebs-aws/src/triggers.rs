//! The two triggers: the library trigger (Lambda's Invoke API with `LogType=Tail`, whose
//! `REPORT` line gives the provider's times at once) and the HTTP trigger (a function URL or
//! an API Gateway HTTP API, over HTTPS).

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::LogType;
use base64::Engine;
use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderValue};
use sebs_core::result::ExecutionResult;
use sebs_platforms::http::{Exchange, Via, invoke_with, result_of};
use sebs_platforms::{Trigger, TriggerKind};
use serde_json::Value;

use crate::clients::Clients;
use crate::reports::ReportStore;

/// Lambda's Invoke API through the SDK.
pub struct LibraryTrigger {
    pub(crate) clients: Clients,
    pub(crate) function: String,
    pub(crate) reports: Arc<ReportStore>,
}

#[async_trait]
impl Trigger for LibraryTrigger {
    fn kind(&self) -> TriggerKind {
        TriggerKind::Library
    }

    fn url(&self) -> Option<String> {
        None
    }

    async fn invoke(&self, input: &Value) -> ExecutionResult {
        let payload = serde_json::to_vec(input).expect("payload serializes");
        let begin = chrono::Local::now();
        let start = std::time::Instant::now();
        let out = self
            .clients
            .lambda
            .invoke()
            .function_name(&self.function)
            .payload(Blob::new(payload))
            .log_type(LogType::Tail)
            .send()
            .await;
        let elapsed = start.elapsed();
        let end = chrono::Local::now();
        let mut log = None;
        let exchange = match out {
            Ok(out) => {
                use aws_sdk_lambda::operation::RequestId;
                let mut headers = HeaderMap::new();
                if let Some(id) = out.request_id()
                    && let Ok(v) = HeaderValue::from_str(id)
                {
                    headers.insert("x-amzn-requestid", v);
                }
                if let Some(kind) = out.function_error()
                    && let Ok(v) = HeaderValue::from_str(kind)
                {
                    headers.insert("x-amz-function-error", v);
                }
                log = out.log_result().and_then(|b64| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .ok()
                        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                });
                Ok(Exchange {
                    status: out.status_code() as u16,
                    headers,
                    body: out
                        .payload()
                        .map(|p| Bytes::copy_from_slice(p.as_ref()))
                        .unwrap_or_default(),
                    connect: std::time::Duration::ZERO,
                    first_byte: elapsed,
                    total: elapsed,
                })
            }
            Err(e) => Err(crate::sdk_error(e)),
        };
        let mut result = result_of(Via::Library, begin, end, exchange);
        if let Some(log) = log {
            for report in crate::report::reports_in(&log) {
                if report.request_id == result.request_id {
                    report.metrics.apply_to(&mut result);
                }
                self.reports.record(&report);
            }
        }
        result
    }
}

/// A function URL or HTTP API endpoint.
pub struct HttpsTrigger {
    pub(crate) url: String,
}

#[async_trait]
impl Trigger for HttpsTrigger {
    fn kind(&self) -> TriggerKind {
        TriggerKind::Http
    }

    fn url(&self) -> Option<String> {
        Some(self.url.clone())
    }

    async fn invoke(&self, input: &Value) -> ExecutionResult {
        invoke_with(Via::Http, input, |headers, body| {
            crate::tls::post_any(&self.url, headers, body)
        })
        .await
    }
}
