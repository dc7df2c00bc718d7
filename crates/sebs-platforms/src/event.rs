//! What storage and queue triggers share on every platform: the payload field that names an
//! invocation, and one invocation's course — deliver the input (an upload, a message), wait for
//! the result that comes back on the result queue, and record both as an `ExecutionResult`
//! (client time from the delivery's start to the result's arrival; a result that does not come
//! is a failure with its cause).

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use sebs_core::result::ExecutionResult;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::http::{Exchange, Via, result_of};

/// The field of a trigger's payload that names its invocation; the wrappers send it back with
/// the result.
pub const REQUEST_FIELD: &str = "sebs-trigger-request";

/// A fresh invocation id.
pub fn new_request() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `input` with [`REQUEST_FIELD`] set to `request` (an input that is not an object goes under
/// `input`).
pub fn tag(input: &Value, request: &str) -> Value {
    let mut payload = match input {
        Value::Object(_) => input.clone(),
        other => json!({ "input": other }),
    };
    payload[REQUEST_FIELD] = json!(request);
    payload
}

/// Run `deliver`, then wait up to `timeout` for `result`. `raise` names the setting that
/// lengthens the wait (and where to look), for the failure's message.
pub async fn invoke(
    request: &str,
    deliver: impl Future<Output = Result<()>>,
    result: oneshot::Receiver<Value>,
    timeout: Duration,
    raise: &str,
) -> ExecutionResult {
    let begin_wall = chrono::Local::now();
    let start = Instant::now();
    let outcome = match deliver.await {
        Err(e) => Err(e),
        Ok(()) => match tokio::time::timeout(timeout, result).await {
            Ok(Ok(body)) => Ok(body),
            _ => Err(anyhow::anyhow!(
                "no result within {timeout:?} on the result queue (the event failed and was retried or dead-lettered, or the function is slow: raise {raise})"
            )),
        },
    };
    let end_wall = chrono::Local::now();
    let exchange = outcome.map(|body| Exchange {
        status: 200,
        headers: Default::default(),
        body: Bytes::from(body.to_string()),
        connect: Duration::ZERO,
        first_byte: start.elapsed(),
        total: start.elapsed(),
    });
    let mut result = result_of(Via::Library, begin_wall, end_wall, exchange);
    if result.request_id.is_empty() {
        result.request_id = request.to_owned();
    }
    result
}
