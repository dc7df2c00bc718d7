//! The `sebs` local FaaS platform.
//!
//! A gateway on 127.0.0.1 serves the AWS Lambda Invoke API
//! (`POST /2015-03-31/functions/{name}/invocations`, the "library" trigger), an HTTP trigger per
//! function (`/function/{name}`, Lambda Function URL semantics), and the Lambda Runtime API that
//! function instances poll (`/instances/{id}/2018-06-01/runtime/...`). Every instance is one OS
//! process started with the real interpreter and a scrubbed environment; it serves one request
//! at a time, idle instances are reused (warm) and new ones start cold. No instance outlives the
//! platform: they are killed on shutdown, on drop, and by the kernel if the process dies.
#![warn(missing_docs, rust_2018_idioms)]

mod gateway;
mod instance;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use instance::Instance;

/// The Python runtime client instances run (the local stand-in for Lambda's managed runtime).
pub const PYTHON_BOOTSTRAP: &str = include_str!("../../../runtimes/python/bootstrap.py");

/// Lambda's limit on synchronous request and response payloads.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// How instances of a function are started.
#[derive(Debug, Clone)]
pub enum Runtime {
    /// CPython, started as `<interpreter> -S bootstrap.py`.
    Python {
        /// The real interpreter binary (not a shim).
        interpreter: PathBuf,
    },
}

/// A function to deploy.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// Function name (unique on the platform).
    pub name: String,
    /// The code package directory (`LAMBDA_TASK_ROOT`).
    pub code_dir: PathBuf,
    /// How to start instances.
    pub runtime: Runtime,
    /// Handler as `module.function`.
    pub handler: String,
    /// Memory size in MB (reported to the function).
    pub memory_mb: u64,
    /// Invocation timeout.
    pub timeout: Duration,
    /// Extra environment variables for the function.
    pub env: BTreeMap<String, String>,
    /// Content hash of the code (a new hash retires running instances).
    pub code_hash: String,
}

/// What an invocation produced.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The handler returned this JSON.
    Response(Bytes),
    /// The handler raised: a Lambda error JSON (`errorMessage`, `errorType`, `stackTrace`).
    FunctionError(Bytes),
    /// The platform could not complete the invocation (timeout, crash, init error).
    Failed {
        /// Error class: `Runtime.ExitError`, `Sandbox.Timedout`, `Runtime.ImportModuleError`, ...
        kind: String,
        /// Human-readable cause.
        message: String,
    },
}

impl Outcome {
    /// Lambda-style error JSON for `Failed` outcomes.
    pub fn error_body(kind: &str, message: &str) -> Bytes {
        Bytes::from(
            serde_json::to_vec(&serde_json::json!({"errorMessage": message, "errorType": kind}))
                .expect("serializes"),
        )
    }
}

/// The result of one invocation on the platform.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Request id given to the function.
    pub request_id: String,
    /// The instance that served it.
    pub instance_id: String,
    /// Whether the instance was started for this request.
    pub cold: bool,
    /// What happened.
    pub outcome: Outcome,
    /// Time from dispatch to outcome, as the platform saw it.
    pub duration: Duration,
}

/// Errors of the platform's API (not of functions).
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// No function of that name is deployed.
    #[error("function `{0}` is not deployed on the local platform")]
    NotFound(String),
    /// An instance could not be started.
    #[error("cannot start an instance of `{function}`: {message}")]
    Spawn {
        /// Function name.
        function: String,
        /// Cause.
        message: String,
    },
}

pub(crate) struct FunctionState {
    pub(crate) spec: FunctionSpec,
    /// Idle instances, most recently used last (reused first: keeps the pool small and warm).
    pub(crate) idle: Mutex<Vec<Arc<Instance>>>,
}

pub(crate) struct Shared {
    pub(crate) functions: Mutex<HashMap<String, Arc<FunctionState>>>,
    pub(crate) instances: Mutex<HashMap<String, Arc<Instance>>>,
    pub(crate) work_dir: tempfile::TempDir,
    pub(crate) bootstrap: PathBuf,
    pub(crate) addr: SocketAddr,
}

/// A running local platform.
pub struct LocalPlatform {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    stop: Option<oneshot::Sender<()>>,
}

impl LocalPlatform {
    /// Start the gateway on `127.0.0.1` with an ephemeral port.
    pub async fn start() -> std::io::Result<LocalPlatform> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Start the gateway on `addr`.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<LocalPlatform> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let work_dir = tempfile::Builder::new().prefix("sebs-local-").tempdir()?;
        let runtime_dir = work_dir.path().join("runtime/python");
        std::fs::create_dir_all(&runtime_dir)?;
        let bootstrap = runtime_dir.join("bootstrap.py");
        std::fs::write(&bootstrap, PYTHON_BOOTSTRAP)?;
        std::fs::create_dir_all(work_dir.path().join("instances"))?;
        let shared = Arc::new(Shared {
            functions: Mutex::new(HashMap::new()),
            instances: Mutex::new(HashMap::new()),
            work_dir,
            bootstrap,
            addr,
        });
        let (stop, stopped) = oneshot::channel();
        let app = gateway::router(shared.clone());
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("local platform gateway failed: {e}");
            }
        });
        tracing::debug!("local platform listening on http://{addr}");
        Ok(LocalPlatform {
            shared,
            server,
            stop: Some(stop),
        })
    }

    /// The gateway address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The gateway's base URL, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The HTTP trigger URL of a function.
    pub fn function_url(&self, name: &str) -> String {
        format!("http://{}/function/{name}", self.shared.addr)
    }

    /// The Lambda Invoke API URL of a function.
    pub fn invoke_url(&self, name: &str) -> String {
        format!(
            "http://{}/2015-03-31/functions/{name}/invocations",
            self.shared.addr
        )
    }

    /// Create or update a function. Updating the code retires its instances.
    pub fn deploy(&self, spec: FunctionSpec) {
        let name = spec.name.clone();
        let old = {
            let mut functions = self.shared.functions.lock().expect("lock");
            let state = Arc::new(FunctionState {
                spec,
                idle: Mutex::new(Vec::new()),
            });
            functions.insert(name.clone(), state)
        };
        if let Some(old) = old {
            retire(&old);
        }
    }

    /// Retire every instance of `name` so the next invocation starts cold.
    pub fn enforce_cold_start(&self, name: &str) -> Result<(), PlatformError> {
        let function = self.function(name)?;
        retire(&function);
        Ok(())
    }

    fn function(&self, name: &str) -> Result<Arc<FunctionState>, PlatformError> {
        self.shared
            .functions
            .lock()
            .expect("lock")
            .get(name)
            .cloned()
            .ok_or_else(|| PlatformError::NotFound(name.to_owned()))
    }

    /// Invoke a function synchronously with a JSON payload.
    pub async fn invoke(&self, name: &str, payload: Bytes) -> Result<Invocation, PlatformError> {
        invoke(&self.shared, name, payload).await
    }

    /// Number of live instances of `name`.
    pub fn instance_count(&self, name: &str) -> usize {
        self.shared
            .instances
            .lock()
            .expect("lock")
            .values()
            .filter(|i| i.function == name)
            .count()
    }

    /// Stop the gateway and kill every instance.
    pub async fn shutdown(mut self) {
        self.kill_all();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.server).await;
    }

    fn kill_all(&self) {
        let all: Vec<_> = self
            .shared
            .instances
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect();
        for instance in all {
            instance.kill();
        }
    }
}

impl Drop for LocalPlatform {
    fn drop(&mut self) {
        self.kill_all();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.abort();
    }
}

fn retire(function: &FunctionState) {
    let idle: Vec<_> = function.idle.lock().expect("lock").drain(..).collect();
    for instance in idle {
        instance.kill();
    }
}

pub(crate) async fn invoke(
    shared: &Arc<Shared>,
    name: &str,
    payload: Bytes,
) -> Result<Invocation, PlatformError> {
    let function = shared
        .functions
        .lock()
        .expect("lock")
        .get(name)
        .cloned()
        .ok_or_else(|| PlatformError::NotFound(name.to_owned()))?;
    let request_id = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();

    let reused = loop {
        let candidate = function.idle.lock().expect("lock").pop();
        match candidate {
            Some(instance) if instance.is_alive() => break Some(instance),
            Some(_) => continue,
            None => break None,
        }
    };
    let cold = reused.is_none();
    let instance = match reused {
        Some(instance) => instance,
        None => instance::spawn(shared, &function).map_err(|e| PlatformError::Spawn {
            function: name.to_owned(),
            message: e.to_string(),
        })?,
    };

    let timeout = function.spec.timeout;
    let deadline_ms = (std::time::SystemTime::now() + timeout)
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let (reply, replied) = oneshot::channel();
    instance.dispatch(instance::Pending {
        request_id: request_id.clone(),
        payload,
        deadline_ms,
        reply,
    });

    let outcome = match tokio::time::timeout(timeout, replied).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => Outcome::Failed {
            kind: "Runtime.ExitError".into(),
            message: instance.exit_cause(),
        },
        Err(_) => {
            instance.kill();
            Outcome::Failed {
                kind: "Sandbox.Timedout".into(),
                message: format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
            }
        }
    };
    let healthy = matches!(outcome, Outcome::Response(_) | Outcome::FunctionError(_));
    let current = shared
        .functions
        .lock()
        .expect("lock")
        .get(name)
        .is_some_and(|f| Arc::ptr_eq(f, &function));
    if healthy && current && instance.is_alive() {
        function.idle.lock().expect("lock").push(instance.clone());
    } else if instance.is_alive() {
        instance.kill();
    }
    Ok(Invocation {
        request_id,
        instance_id: instance.id.clone(),
        cold,
        outcome,
        duration: started.elapsed(),
    })
}
