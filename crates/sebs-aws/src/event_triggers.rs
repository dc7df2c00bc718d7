//! Invoking a function through its storage or queue trigger on AWS: the input is uploaded as an
//! object to the function's trigger bucket (S3 notifies the function) or sent as a message to its
//! queue (an event source mapping delivers it), and the wrapper sends the record's result to the
//! function's result queue, where the trigger waiting for it picks it up (SeBS's design for
//! non-HTTP triggers). Client time runs from the upload or send to the result's arrival.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use sebs_core::result::ExecutionResult;
use sebs_platforms::event;
use sebs_platforms::{Trigger, TriggerKind};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::clients::Clients;
use crate::event_sources::{self, QueueSettings};

pub use sebs_platforms::event::REQUEST_FIELD;
/// The payload field naming the queue the wrapper sends the result to.
pub const RESULT_QUEUE_FIELD: &str = "sebs-result-queue";

/// The event source settings of `deployment.aws.triggers`, within Lambda's limits.
pub fn queue_settings(config: &sebs_core::config::TriggerConfig) -> QueueSettings {
    let defaults = QueueSettings::default();
    QueueSettings {
        batch_size: config
            .batch_size
            .map_or(defaults.batch_size, |b| b.clamp(1, 10_000) as i32),
        batching_window_s: config
            .batching_window
            .map_or(defaults.batching_window_s, |w| {
                w.clamp(0.0, 300.0).round() as i32
            }),
        max_receive_count: config
            .max_receive_count
            .map_or(defaults.max_receive_count, |n| n.clamp(1, 1000) as u32),
    }
}

/// Create the wiring of `function`'s `kind` trigger (storage or queue) and return the trigger.
/// The role (by name) is granted what the wrapper needs; `region` places the trigger bucket.
pub async fn create(
    clients: &Clients,
    function: &str,
    kind: TriggerKind,
    role: &str,
    settings: &crate::config::AwsSettings,
) -> Result<EventTrigger> {
    event_sources::grant(clients, role, &settings.resources_id).await?;
    let results =
        event_sources::ensure_queue(clients, &event_sources::results_queue_name(function)).await?;
    let target = match kind {
        TriggerKind::Storage => {
            let bucket = event_sources::trigger_bucket(function);
            crate::backend::ensure_bucket(clients, &bucket, &settings.region).await?;
            let config = crate::functions::configuration(clients, function).await?;
            let arn = config.function_arn().unwrap_or_default().to_owned();
            event_sources::storage_trigger(clients, function, &arn, &bucket, "").await?;
            Target::Bucket(bucket)
        }
        TriggerKind::Queue => {
            let (_, _) =
                event_sources::queue_trigger(clients, function, queue_settings(&settings.triggers))
                    .await?;
            let url =
                event_sources::queue_url(clients, &event_sources::queue_name(function)).await?;
            Target::Queue(url)
        }
        other => anyhow::bail!("`{}` is not an event trigger", other.as_str()),
    };
    Ok(EventTrigger {
        kind,
        clients: clients.clone(),
        target,
        results: ResultQueue::new(clients.clone(), results),
        timeout: Duration::from_secs_f64(
            settings
                .triggers
                .result_timeout
                .unwrap_or(120.0)
                .clamp(1.0, 3600.0),
        ),
    })
}

/// Where a trigger delivers its input.
#[derive(Debug, Clone)]
enum Target {
    Bucket(String),
    Queue(String),
}

type Waiters = HashMap<String, oneshot::Sender<Value>>;

/// A function's result queue and the invocations waiting on it. One poller runs while any
/// invocation waits: it hands each result to its waiter and deletes it (results nobody waits
/// for any more, of invocations that timed out, are deleted too).
pub struct ResultQueue {
    clients: Clients,
    url: String,
    state: Mutex<(Waiters, bool)>,
}

impl ResultQueue {
    fn new(clients: Clients, url: String) -> Arc<ResultQueue> {
        Arc::new(ResultQueue {
            clients,
            url,
            state: Mutex::new((HashMap::new(), false)),
        })
    }

    /// Wait for the result of `request`, starting the poller if none runs.
    fn wait(self: &Arc<Self>, request: &str) -> oneshot::Receiver<Value> {
        let (tx, rx) = oneshot::channel();
        let mut state = self.state.lock().expect("lock");
        state.0.insert(request.to_owned(), tx);
        if !state.1 {
            state.1 = true;
            tokio::spawn(self.clone().poll());
        }
        rx
    }

    fn forget(&self, request: &str) {
        self.state.lock().expect("lock").0.remove(request);
    }

    /// Receive until nobody waits; the flag flips under the same lock as `wait` inserts.
    async fn poll(self: Arc<Self>) {
        loop {
            {
                let mut state = self.state.lock().expect("lock");
                if state.0.is_empty() {
                    state.1 = false;
                    return;
                }
            }
            if let Err(e) = self.receive_once().await {
                tracing::warn!("reading the result queue {} failed: {e:#}", self.url);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    async fn receive_once(&self) -> Result<()> {
        let out = self
            .clients
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(crate::sdk_error)?;
        for message in out.messages() {
            let body: Value = message
                .body()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or(Value::Null);
            if let Some(request) = body[REQUEST_FIELD].as_str()
                && let Some(waiter) = self.state.lock().expect("lock").0.remove(request)
            {
                let _ = waiter.send(body["body"].clone());
            }
            if let Some(handle) = message.receipt_handle() {
                self.clients
                    .sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(crate::sdk_error)?;
            }
        }
        Ok(())
    }
}

/// A storage or queue trigger of one function on AWS.
pub struct EventTrigger {
    kind: TriggerKind,
    clients: Clients,
    target: Target,
    results: Arc<ResultQueue>,
    timeout: Duration,
}

impl EventTrigger {
    /// The trigger bucket (storage) or the queue URL (queue) it delivers to.
    pub fn target(&self) -> &str {
        match &self.target {
            Target::Bucket(b) | Target::Queue(b) => b,
        }
    }

    /// The URL of the queue results come back on.
    pub fn results_url(&self) -> &str {
        &self.results.url
    }

    async fn deliver(&self, request: &str, payload: &Value) -> Result<()> {
        match &self.target {
            Target::Bucket(bucket) => {
                self.clients
                    .s3
                    .put_object()
                    .bucket(bucket)
                    .key(format!("{request}.json"))
                    .content_type("application/json")
                    .body(payload.to_string().into_bytes().into())
                    .send()
                    .await
                    .map_err(crate::sdk_error)
                    .with_context(|| format!("cannot upload the input to `{bucket}`"))?;
            }
            Target::Queue(url) => {
                self.clients
                    .sqs
                    .send_message()
                    .queue_url(url)
                    .message_body(payload.to_string())
                    .send()
                    .await
                    .map_err(crate::sdk_error)
                    .with_context(|| format!("cannot send the input to `{url}`"))?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Trigger for EventTrigger {
    fn kind(&self) -> TriggerKind {
        self.kind
    }

    fn url(&self) -> Option<String> {
        None
    }

    async fn invoke(&self, input: &Value) -> ExecutionResult {
        let request = event::new_request();
        let mut payload = event::tag(input, &request);
        payload[RESULT_QUEUE_FIELD] = json!(self.results.url);
        let rx = self.results.wait(&request);
        let deliver = self.deliver(&request, &payload);
        let raise = "deployment.aws.triggers.result-timeout; the function's logs are in CloudWatch";
        let result = event::invoke(&request, deliver, rx, self.timeout, raise).await;
        self.results.forget(&request);
        result
    }
}
