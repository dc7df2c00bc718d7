//! Lambda's event source mapping over an embedded queue: poll, batch (size and window), invoke,
//! delete what succeeded, leave the rest to reappear after the visibility timeout, so that the
//! queue's redrive policy dead-letters messages that keep failing.
//!
//! Two sources: `Sqs` (one invocation per batch with SQS's Lambda event, partial batch
//! responses honoured when `report_batch_item_failures`), and `S3` (the queue holds S3 event
//! notifications; one invocation per event with the S3 event itself, as S3 invokes Lambda).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::queue::store::{Message, system_attributes};
use crate::queue::{Queues, sigv4::hex};

/// What the queue's messages are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Messages sent to the queue: SQS's Lambda event, batched.
    Sqs,
    /// S3 event notifications: each delivered on its own as the S3 event.
    S3,
}

/// The mapping's settings (Lambda's `CreateEventSourceMapping` parameters).
#[derive(Debug, Clone)]
pub struct MappingConfig {
    /// The queue polled.
    pub queue: String,
    /// What its messages are.
    pub source: Source,
    /// Most records per invocation (Lambda: 1-10, or up to 10000 with a window).
    pub batch_size: usize,
    /// How long to gather records before invoking with fewer than `batch_size`.
    pub batching_window: Duration,
    /// Visibility timeout of received messages (s): when a failed message is retried.
    pub visibility_timeout_s: i64,
    /// Honour `{"batchItemFailures": [{"itemIdentifier": id}]}` responses.
    pub report_batch_item_failures: bool,
}

/// The function a mapping invokes.
#[async_trait]
pub trait Invoker: Send + Sync {
    /// Invoke with `event`; `Ok(response)` when the function succeeded, `Err(why)` when it
    /// failed (raised, timed out, could not be reached): then the whole batch is retried.
    async fn invoke(&self, event: Value) -> Result<Value, String>;
}

/// A running mapping; stopped on [`EventSourceMapping::stop`].
pub struct EventSourceMapping {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl EventSourceMapping {
    /// Start polling `config.queue` of `queues` and invoking `invoker`.
    pub fn start(queues: Queues, config: MappingConfig, invoker: Arc<dyn Invoker>) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(poll(queues, config, invoker, stopped));
        EventSourceMapping { stop, task }
    }

    /// Stop polling (an invocation in flight completes first).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Gather one batch: up to `batch_size` records, waiting at most the batching window (and for
/// the first record, a long poll of 1 s so that `stop` is seen).
async fn gather(queues: &Queues, config: &MappingConfig) -> Result<Vec<Message>, String> {
    let mut batch = Vec::new();
    let started = tokio::time::Instant::now();
    // Gathering longer than half the visibility timeout would let the first records reappear
    // (and count as received again) before the batch is invoked.
    let half_visibility = Duration::from_millis((config.visibility_timeout_s.max(0) * 500) as u64);
    let window = config.batching_window.min(half_visibility);
    loop {
        let want = (config.batch_size - batch.len()).min(10);
        let left = window.saturating_sub(started.elapsed());
        let wait = if batch.is_empty() {
            Duration::from_secs(1)
        } else {
            left
        };
        let got = queues
            .receive(&config.queue, want, config.visibility_timeout_s, wait)
            .await
            .map_err(|e| e.message)?;
        let empty = got.is_empty();
        for message in got {
            // A message whose visibility lapsed while the batch was gathered comes back: keep
            // it once, with its newest receipt handle (the only one that deletes it).
            match batch.iter_mut().find(|m: &&mut Message| m.id == message.id) {
                Some(old) => *old = message,
                None => batch.push(message),
            }
        }
        if batch.is_empty() {
            return Ok(batch);
        }
        if batch.len() >= config.batch_size || (empty && started.elapsed() >= window) {
            return Ok(batch);
        }
        if empty && left.is_zero() {
            return Ok(batch);
        }
    }
}

async fn poll(
    queues: Queues,
    config: MappingConfig,
    invoker: Arc<dyn Invoker>,
    mut stopped: watch::Receiver<bool>,
) {
    while !*stopped.borrow() {
        let batch = tokio::select! {
            b = gather(&queues, &config) => b,
            _ = stopped.changed() => break,
        };
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("event source mapping of `{}`: {e}", config.queue);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        let done = match config.source {
            Source::Sqs => invoke_sqs(&queues, &config, invoker.as_ref(), &batch).await,
            Source::S3 => invoke_s3(invoker.as_ref(), &batch).await,
        };
        for message in done {
            if let Err(e) = queues.delete(&config.queue, &message.receipt) {
                tracing::warn!("event source mapping of `{}`: {}", config.queue, e.message);
            }
        }
    }
}

/// SQS's Lambda event for `batch`.
pub fn sqs_event(queues: &Queues, queue: &str, batch: &[Message]) -> Value {
    let records: Vec<Value> = batch
        .iter()
        .map(|m| {
            json!({
                "messageId": m.id,
                "receiptHandle": m.receipt,
                "body": m.body,
                "attributes": system_attributes(m),
                "messageAttributes": m.attributes.as_object().cloned().unwrap_or_default(),
                "md5OfBody": hex(&<md5::Md5 as md5::Digest>::digest(m.body.as_bytes())),
                "eventSource": "aws:sqs",
                "eventSourceARN": queues.arn(queue),
                "awsRegion": queues.region(),
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Invoke with the batch; the messages to delete.
async fn invoke_sqs<'a>(
    queues: &Queues,
    config: &MappingConfig,
    invoker: &dyn Invoker,
    batch: &'a [Message],
) -> Vec<&'a Message> {
    let event = sqs_event(queues, &config.queue, batch);
    let response = match invoker.invoke(event).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!("`{}`: invocation failed, batch retried: {e}", config.queue);
            return Vec::new();
        }
    };
    if !config.report_batch_item_failures {
        return batch.iter().collect();
    }
    match failed_ids(&response, batch) {
        Some(failed) => batch.iter().filter(|m| !failed.contains(&m.id)).collect(),
        // A malformed partial response fails the whole batch, as Lambda does.
        None => Vec::new(),
    }
}

/// The ids a partial batch response names as failed; `None` if it is malformed.
fn failed_ids(response: &Value, batch: &[Message]) -> Option<Vec<String>> {
    let Some(items) = response.get("batchItemFailures") else {
        return Some(Vec::new());
    };
    if items.is_null() {
        return Some(Vec::new());
    }
    let mut ids = Vec::new();
    for item in items.as_array()? {
        let id = item.get("itemIdentifier")?.as_str()?;
        if !batch.iter().any(|m| m.id == id) {
            return None;
        }
        ids.push(id.to_owned());
    }
    Some(ids)
}

/// Invoke once per S3 event; the messages to delete.
async fn invoke_s3<'a>(invoker: &dyn Invoker, batch: &'a [Message]) -> Vec<&'a Message> {
    let mut done = Vec::new();
    for message in batch {
        let Ok(event) = serde_json::from_str::<Value>(&message.body) else {
            tracing::warn!("dropping a message that is not an S3 event");
            done.push(message);
            continue;
        };
        if invoker.invoke(event).await.is_ok() {
            done.push(message);
        }
    }
    done
}
