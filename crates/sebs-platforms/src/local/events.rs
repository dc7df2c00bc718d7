//! The local platform's storage and queue triggers: an embedded SQS-API queue and S3 server (in
//! the cache directory, so queued messages survive a restart), Lambda-style event source
//! mappings that invoke the function through its invoke API, and a result queue through which
//! each invocation's result comes back to the trigger that sent it (SeBS's design).
//!
//! A `queue` invocation sends one message (the input, tagged with a request id) to the
//! function's queue; a `storage` invocation uploads the input as `<request id>.json` to the
//! function's bucket, whose `ObjectCreated` notifications feed the function's storage queue.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use bytes::Bytes;
use sebs_core::config::TriggerConfig;
use sebs_core::result::ExecutionResult;
use sebs_storage::Credentials;
use sebs_storage::events::Rule;
use sebs_storage::mapping::{EventSourceMapping, Invoker, MappingConfig, Source};
use sebs_storage::{ObjectServer, QueueServer};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::wire;
use crate::event;
use crate::platform::{Trigger, TriggerKind};

/// The field of a trigger's payload that names its invocation.
pub use crate::event::REQUEST_FIELD;

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

/// The servers and mappings behind every storage and queue trigger of one local platform.
pub struct TriggerHub {
    /// Held while the hub runs: one process at a time polls the queues of a directory.
    _lock: std::fs::File,
    queue: QueueServer,
    object: ObjectServer,
    credentials: Credentials,
    settings: TriggerConfig,
    triggers: tokio::sync::Mutex<HashMap<(String, TriggerKind), Arc<EventTrigger>>>,
    mappings: Mutex<Vec<EventSourceMapping>>,
}

/// An exclusive lock on `dir/lock` (created), or `None` if another process holds it.
fn lock_dir(dir: &Path) -> Result<Option<std::fs::File>> {
    use std::os::fd::AsRawFd as _;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("failed to create the trigger directory {}", dir.display()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))?;
    // SAFETY: flock on a descriptor this function owns.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    Ok(locked.then_some(file))
}

/// A queue name (and bucket name, lower-cased) for `function`: its characters outside
/// `[A-Za-z0-9-]` replaced, cut to fit SQS's 80 and S3's 63 characters with the suffixes.
fn base_name(function: &str) -> String {
    let mut s: String = function
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.truncate(40);
    s
}

impl TriggerHub {
    /// Start the servers with data under `dir` (or, while another process uses it, under
    /// `dir-<pid>`: two pollers of one queue would take each other's results).
    pub async fn start(dir: &Path, settings: TriggerConfig) -> Result<TriggerHub> {
        let (dir, lock) = match lock_dir(dir)? {
            Some(lock) => (dir.to_owned(), lock),
            None => {
                let own = dir.with_file_name(format!("triggers-{}", std::process::id()));
                tracing::warn!(
                    "{} is in use by another sebs process; this run's trigger queues are in {}",
                    dir.display(),
                    own.display()
                );
                let lock = lock_dir(&own)?.context("cannot lock the trigger directory")?;
                (own, lock)
            }
        };
        let credentials = Credentials::generate();
        let queue = QueueServer::start(&dir.join("queue-volume"), 0, &credentials, "us-east-1")
            .await
            .context("failed to start the triggers' embedded queue")?;
        let object = ObjectServer::start_with_events(
            &dir.join("minio-volume"),
            0,
            &credentials,
            Some(queue.queues()),
        )
        .await
        .context("failed to start the triggers' embedded object storage")?;
        Ok(TriggerHub {
            _lock: lock,
            queue,
            object,
            credentials,
            settings,
            triggers: Default::default(),
            mappings: Mutex::new(Vec::new()),
        })
    }

    /// What functions need to read their storage trigger's input objects (credentials: never
    /// logged or recorded).
    pub fn function_env(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "SEBS_TRIGGER_S3_ENDPOINT".to_owned(),
                self.object.addr().to_string(),
            ),
            (
                "SEBS_TRIGGER_S3_ACCESS_KEY".to_owned(),
                self.credentials.access_key.clone(),
            ),
            (
                "SEBS_TRIGGER_S3_SECRET_KEY".to_owned(),
                self.credentials.secret_key.clone(),
            ),
        ])
    }

    /// The trigger of `kind` (storage or queue) for `function`, invoking it at `invoke_url`;
    /// made once, with its queues, bucket and mapping.
    pub async fn trigger(
        &self,
        function: &str,
        kind: TriggerKind,
        invoke_url: String,
    ) -> Result<Arc<EventTrigger>> {
        let mut triggers = self.triggers.lock().await;
        if let Some(t) = triggers.get(&(function.to_owned(), kind)) {
            return Ok(t.clone());
        }
        let base = base_name(function);
        let queues = self.queue.queues();
        let source_queue = format!("{base}-{}", kind.as_str());
        let dead = format!("{source_queue}-dlq");
        let results = format!("{source_queue}-results");
        let max_receive = self.settings.max_receive_count.unwrap_or(3).max(1);
        let visibility = self.settings.visibility_timeout.unwrap_or(30).max(1);
        let redrive =
            json!({"deadLetterTargetArn": queues.arn(&dead), "maxReceiveCount": max_receive});
        let create = |name: &str, attrs: BTreeMap<String, String>| {
            queues
                .create(name, &attrs)
                .map_err(|e| anyhow::anyhow!("cannot create the queue `{name}`: {}", e.message))
        };
        create(&dead, BTreeMap::new())?;
        create(&results, BTreeMap::new())?;
        create(
            &source_queue,
            BTreeMap::from([
                ("RedrivePolicy".to_owned(), redrive.to_string()),
                ("VisibilityTimeout".to_owned(), visibility.to_string()),
            ]),
        )?;
        let bucket = format!("sebs-trigger-{}", base.to_ascii_lowercase());
        if kind == TriggerKind::Storage {
            self.object.ensure_bucket(&bucket)?;
            let rule = Rule {
                id: "sebs-storage-trigger".into(),
                queue_arn: queues.arn(&source_queue),
                events: vec!["s3:ObjectCreated:*".into()],
                prefix: String::new(),
                suffix: ".json".into(),
            };
            self.object
                .events()
                .add(&bucket, rule)
                .map_err(|e| anyhow::anyhow!("cannot configure the bucket notification: {e:?}"))?;
        }
        let waiters: Waiters = Default::default();
        self.mappings
            .lock()
            .expect("lock")
            .push(EventSourceMapping::start(
                queues.clone(),
                self.mapping_config(&source_queue, kind, visibility),
                Arc::new(FunctionInvoker {
                    url: invoke_url,
                    waiters: waiters.clone(),
                }),
            ));
        let trigger = Arc::new(EventTrigger {
            kind,
            addr: match kind {
                TriggerKind::Storage => self.object.addr(),
                _ => self.queue.addr(),
            },
            target: match kind {
                TriggerKind::Storage => format!("/{bucket}"),
                _ => queues.url(&source_queue),
            },
            credentials: self.credentials.clone(),
            waiters,
            timeout: Duration::from_secs_f64(self.settings.result_timeout.unwrap_or(120.0)),
        });
        triggers.insert((function.to_owned(), kind), trigger.clone());
        Ok(trigger)
    }

    fn mapping_config(&self, queue: &str, kind: TriggerKind, visibility: i64) -> MappingConfig {
        MappingConfig {
            queue: queue.to_owned(),
            source: if kind == TriggerKind::Storage {
                Source::S3
            } else {
                Source::Sqs
            },
            batch_size: self.settings.batch_size.unwrap_or(10).clamp(1, 10),
            batching_window: Duration::from_secs_f64(
                self.settings.batching_window.unwrap_or(0.0).max(0.0),
            ),
            visibility_timeout_s: visibility,
            report_batch_item_failures: true,
        }
    }

    /// Stop the mappings and the servers.
    pub async fn shutdown(self) {
        let mappings = std::mem::take(&mut *self.mappings.lock().expect("lock"));
        for m in mappings {
            m.stop().await;
        }
        self.object.shutdown().await;
        self.queue.shutdown().await;
    }
}

/// Invokes the function with an event and hands each record's result to the trigger waiting
/// for it: the local stand-in for the function writing to SeBS's result queue.
struct FunctionInvoker {
    url: String,
    waiters: Waiters,
}

/// The request id of a record: in a queue message's payload, or the stem of an object key.
fn request_of(record: &Value) -> Option<String> {
    if let Some(body) = record["body"].as_str() {
        let payload: Value = serde_json::from_str(body).ok()?;
        return payload[REQUEST_FIELD].as_str().map(str::to_owned);
    }
    let key = record["s3"]["object"]["key"].as_str()?;
    let name = key.rsplit('/').next()?;
    name.strip_suffix(".json").map(str::to_owned)
}

fn ident_of(record: &Value) -> Option<&str> {
    record["messageId"]
        .as_str()
        .or_else(|| record["s3"]["object"]["key"].as_str())
}

#[async_trait]
impl Invoker for FunctionInvoker {
    async fn invoke(&self, event: Value) -> Result<Value, String> {
        let body = Bytes::from(event.to_string());
        let headers = [("x-amz-invocation-type", "RequestResponse")];
        let exchange = crate::http::post(&self.url, &headers, body)
            .await
            .map_err(|e| format!("{e:#}"))?;
        let response: Value = serde_json::from_slice(&exchange.body)
            .map_err(|_| "the function's response is not JSON".to_owned())?;
        if exchange.status >= 400 || exchange.headers.contains_key("x-amz-function-error") {
            return Err(format!("the function failed: {response}"));
        }
        let records = event["Records"].as_array().cloned().unwrap_or_default();
        for result in response["results"].as_array().into_iter().flatten() {
            let Some(body) = result.get("body") else {
                continue; // a failed record: retried by the mapping
            };
            let record = records
                .iter()
                .find(|r| ident_of(r) == result["itemIdentifier"].as_str());
            if let Some(request) = record.and_then(request_of)
                && let Some(waiter) = self.waiters.lock().expect("lock").remove(&request)
            {
                let _ = waiter.send(body.clone());
            }
        }
        Ok(response)
    }
}

/// A storage or queue trigger of one function.
pub struct EventTrigger {
    kind: TriggerKind,
    addr: std::net::SocketAddr,
    /// The bucket path (`/bucket`) or the queue URL.
    target: String,
    credentials: Credentials,
    waiters: Waiters,
    timeout: Duration,
}

impl EventTrigger {
    /// Upload or send `payload` (tagged with `request`); the wire exchange.
    async fn deliver(&self, request: &str, payload: &Value) -> Result<()> {
        match self.kind {
            TriggerKind::Storage => {
                let path = format!("{}/{request}.json", self.target);
                wire::put_object(self.addr, &path, payload.to_string(), &self.credentials).await
            }
            _ => {
                let body = json!({"QueueUrl": self.target, "MessageBody": payload.to_string()});
                wire::send_message(self.addr, body, &self.credentials).await
            }
        }
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
        let payload = event::tag(input, &request);
        let (tx, rx) = oneshot::channel();
        self.waiters
            .lock()
            .expect("lock")
            .insert(request.clone(), tx);
        let deliver = self.deliver(&request, &payload);
        let raise = "deployment.local.triggers.result-timeout";
        let result = event::invoke(&request, deliver, rx, self.timeout, raise).await;
        self.waiters.lock().expect("lock").remove(&request);
        result
    }
}
