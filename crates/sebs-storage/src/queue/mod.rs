//! The embedded queue: the SQS API (JSON protocol, `x-amz-target: AmazonSQS.<Action>`, which
//! boto3 and the AWS SDKs use) on 127.0.0.1, SigV4-verified, its messages in SQLite so they
//! survive restarts. Standard queues only (no FIFO); see `docs/triggers.md`.

mod actions;
pub mod sigv4;
pub mod store;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub use actions::md5_of_attributes;
pub use store::{QueueError, Store};

use crate::Credentials;

/// The account id in queue URLs and ARNs.
pub const ACCOUNT: &str = "000000000000";
/// The SQLite file inside the queue data directory.
pub const DATABASE_FILE: &str = "queues.db";
/// The largest request body accepted (SQS's batch limit is 1 MiB).
const MAX_BODY: usize = 2 * 1024 * 1024;

/// The queues of one server, usable in-process (S3 notifications send through this).
#[derive(Clone)]
pub struct Queues {
    store: Arc<Store>,
    notify: Arc<Notify>,
    base: String,
    region: String,
}

impl Queues {
    /// `http://127.0.0.1:port/ACCOUNT/name`.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{ACCOUNT}/{name}", self.base)
    }

    /// `arn:aws:sqs:REGION:ACCOUNT:name`.
    pub fn arn(&self, name: &str) -> String {
        format!("arn:aws:sqs:{}:{ACCOUNT}:{name}", self.region)
    }

    /// Send `body` to the queue `name` (in-process, no signature); returns the message id.
    pub fn send(&self, name: &str, body: &str) -> Result<String, QueueError> {
        let id = self.store.send(name, body, &Value::Null, None)?;
        self.notify.notify_waiters();
        Ok(id)
    }

    /// Receive up to `max` messages from `name`, hiding them for `visibility_s`, waiting up to
    /// `wait` for the first (long polling).
    pub async fn receive(
        &self,
        name: &str,
        max: usize,
        visibility_s: i64,
        wait: std::time::Duration,
    ) -> Result<Vec<store::Message>, QueueError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Register for a wake-up before looking, so a send in between is not missed.
            let notified = self.notify.notified();
            let got = self.store.receive(name, max, visibility_s)?;
            let now = tokio::time::Instant::now();
            if !got.is_empty() || now >= deadline {
                return Ok(got);
            }
            // Messages also become visible when timeouts lapse: look again every 100 ms.
            let nap = (deadline - now).min(std::time::Duration::from_millis(100));
            let _ = tokio::time::timeout(nap, notified).await;
        }
    }

    /// Delete a received message.
    pub fn delete(&self, name: &str, receipt: &str) -> Result<(), QueueError> {
        self.store.delete_message(name, receipt)
    }

    /// Create the queue `name` (idempotent) with `attributes` (`RedrivePolicy`, ...).
    pub fn create(
        &self,
        name: &str,
        attributes: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), QueueError> {
        self.store.create(name, attributes)
    }

    /// The region in ARNs.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Whether the queue `name` exists.
    pub fn exists(&self, name: &str) -> bool {
        self.store.attributes(name).is_ok()
    }
}

/// A running embedded SQS-API server.
pub struct QueueServer {
    addr: SocketAddr,
    database: PathBuf,
    queues: Queues,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn response(status: u16, body: Value) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    r
}

fn error(status: u16, code: &str, message: &str) -> hyper::Response<Full<Bytes>> {
    let mut r = response(
        status,
        json!({"__type": format!("com.amazonaws.sqs#{code}"), "message": message}),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&format!("{code};Sender")) {
        r.headers_mut().insert("x-amzn-query-error", v);
    }
    r
}

/// Verify, parse and run one request.
async fn handle(
    request: hyper::Request<hyper::body::Incoming>,
    queues: Queues,
    credentials: Arc<Credentials>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return error(413, "RequestTooLarge", &format!("the request body: {e}")),
    };
    if let Err(refusal) = sigv4::verify(&parts, &body, &credentials) {
        tracing::warn!("queue: refused a request: {}", refusal.message);
        return error(403, refusal.code, &refusal.message);
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("AmazonSQS."));
    let Some(action) = target else {
        return error(
            400,
            "InvalidAction",
            "the request needs an `x-amz-target: AmazonSQS.<Action>` header (the SQS JSON protocol; the query protocol is not served)",
        );
    };
    let input: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return error(
                    400,
                    "SerializationException",
                    &format!("the body is not JSON: {e}"),
                );
            }
        }
    };
    match actions::dispatch(&queues, action, &input).await {
        Ok(out) => response(200, out),
        Err(e) => error(
            if e.code == "InternalError" { 500 } else { 400 },
            e.code,
            &e.message,
        ),
    }
}

impl QueueServer {
    /// Start serving the queues in `data_dir` (created if missing) on `127.0.0.1:port` (0 picks
    /// a free port), accepting only requests signed with `credentials`.
    pub async fn start(
        data_dir: &Path,
        port: u16,
        credentials: &Credentials,
        region: &str,
    ) -> Result<Self> {
        std::fs::create_dir_all(data_dir).with_context(|| {
            format!(
                "failed to create the queue data directory {}",
                data_dir.display()
            )
        })?;
        let database = std::path::absolute(data_dir)?.join(DATABASE_FILE);
        let store = Arc::new(Store::open(&database)?);
        let listener = crate::bind("queue", port).await?;
        let addr = listener.local_addr()?;
        let queues = Queues {
            store,
            notify: Arc::new(Notify::new()),
            base: format!("http://{addr}"),
            region: region.to_owned(),
        };
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(serve(
            listener,
            queues.clone(),
            Arc::new(credentials.clone()),
            stopped,
        ));
        tracing::debug!(
            "queue (SQS API) listening on http://{addr}, database {}",
            database.display()
        );
        Ok(Self {
            addr,
            database,
            queues,
            stop,
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The SQLite database file.
    pub fn database(&self) -> &Path {
        &self.database
    }

    /// The queues, for in-process senders.
    pub fn queues(&self) -> Queues {
        self.queues.clone()
    }

    /// Stop accepting connections and wait (at most 5 s) for open requests to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    queues: Queues,
    credentials: Arc<Credentials>,
    mut stopped: watch::Receiver<bool>,
) {
    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    tracing::warn!("queue: failed to accept a connection: {e}");
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        let (queues, credentials) = (queues.clone(), credentials.clone());
        let service = hyper::service::service_fn(move |request| {
            let (queues, credentials) = (queues.clone(), credentials.clone());
            async move { Ok::<_, std::convert::Infallible>(handle(request, queues, credentials).await) }
        });
        let conn = http.serve_connection(TokioIo::new(socket), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {},
    }
}
