//! The `sebs` local FaaS platform.
//!
//! A gateway on 127.0.0.1 serves the AWS Lambda Invoke API
//! (`POST /2015-03-31/functions/{name}/invocations`, the "library" trigger), an HTTP trigger per
//! function (`/function/{name}`, Lambda Function URL semantics), and the Lambda Runtime API
//! (`/instances/{id}/2018-06-01/runtime/...`) for any Lambda runtime.
//!
//! It behaves like a cloud platform: every instance is one OS process with a scrubbed
//! environment, its own working directory and `TMPDIR`, a memory limit (cgroups, else an
//! rlimit) and optionally a CPU share; it serves one request at a time; idle instances are reused
//! (warm) until the keep-alive evicts them; new ones start cold up to the concurrency limit, then
//! requests queue, then they are throttled. Cold starts either exec a fresh interpreter or fork
//! from a per-function zygote. Every invocation leaves a record with the fields of Lambda's
//! `REPORT` line. No instance outlives the platform.
#![warn(missing_docs, rust_2018_idioms)]

mod gateway;
mod instance;
pub mod limits;
pub mod metrics;
mod pool;
mod zygote;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::net::UnixStream;
use tokio::sync::oneshot;

use instance::Instance;
pub use limits::Backend as LimitBackend;
use limits::{InstanceLimits, Limits};
use metrics::Metrics;
pub use metrics::Report;
pub use pool::{EvictionPolicy, FixedKeepAlive};
use pool::{Pool, Rejected, Slot};
use zygote::Zygote;

/// The Python runtime client instances run (the local stand-in for Lambda's managed runtime).
pub const PYTHON_BOOTSTRAP: &str = include_str!("../../../runtimes/python/bootstrap.py");

/// The Node.js runtime client instances run (plain Node, no dependencies).
pub const NODE_BOOTSTRAP: &str = include_str!("../../../runtimes/nodejs/bootstrap.js");

/// Environment variables that never reach a Node.js instance, whatever the function's settings:
/// `NODE_OPTIONS` could preload code or change the heap, and `NODE_EXTRA_CA_CERTS` alone makes a
/// start 50-70 ms slower, which would pollute cold-start measurements.
pub const NODE_ENV_DENYLIST: [&str; 2] = ["NODE_OPTIONS", "NODE_EXTRA_CA_CERTS"];

/// Lambda's limit on synchronous request and response payloads.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

pub use sebs_core::config::ColdStartMode;

/// How the platform talks to instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Framed messages on a private socket (our shims; fastest).
    #[default]
    Channel,
    /// The HTTP Lambda Runtime API (any Lambda custom runtime).
    RuntimeApi,
}

/// How instances of a function are started.
#[derive(Debug, Clone)]
pub enum Runtime {
    /// CPython with the sebs bootstrap: `<interpreter> -S bootstrap.py`.
    Python {
        /// The real interpreter binary (not a shim).
        interpreter: PathBuf,
    },
    /// Node.js with the sebs bootstrap: `node --max-old-space-size=<90% of memory> bootstrap.js`
    /// (the heap limit Lambda's Node.js runtime sets). Instances always start with `exec`: the
    /// fork server is Python-only.
    Node {
        /// The real `node` binary (not a version-manager shim).
        node: PathBuf,
    },
    /// A Lambda custom runtime: an executable `bootstrap` speaking the Runtime API.
    Custom {
        /// The bootstrap executable.
        bootstrap: PathBuf,
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
    /// Memory size in MB (the instance's memory limit).
    pub memory_mb: u64,
    /// Invocation timeout.
    pub timeout: Duration,
    /// Extra environment variables for the function.
    pub env: BTreeMap<String, String>,
    /// Content hash of the code.
    pub code_hash: String,
    /// Protocol (Python functions use the channel unless told otherwise).
    pub protocol: Protocol,
    /// Cold-start mode; the platform default if `None`.
    pub cold_start: Option<ColdStartMode>,
    /// Keep-alive; the platform default if `None`.
    pub keep_alive: Option<Duration>,
    /// Concurrency limit; the platform default if `None`.
    pub concurrency: Option<usize>,
    /// Whether instances may use the network (with namespaces on, `false` gives them a network
    /// namespace of their own with nothing in it).
    pub network: bool,
}

impl FunctionSpec {
    /// A Python function with the platform's defaults.
    pub fn python(
        name: &str,
        code_dir: PathBuf,
        interpreter: PathBuf,
        memory_mb: u64,
        timeout: Duration,
    ) -> FunctionSpec {
        FunctionSpec {
            name: name.to_owned(),
            code_dir,
            runtime: Runtime::Python { interpreter },
            handler: "handler.handler".into(),
            memory_mb,
            timeout,
            env: BTreeMap::new(),
            code_hash: String::new(),
            protocol: Protocol::Channel,
            cold_start: None,
            keep_alive: None,
            concurrency: None,
            network: true,
        }
    }
}

impl FunctionSpec {
    /// A Node.js function with the platform's defaults (private channel, `exec` cold starts).
    pub fn node(
        name: &str,
        code_dir: PathBuf,
        node: PathBuf,
        memory_mb: u64,
        timeout: Duration,
    ) -> FunctionSpec {
        FunctionSpec {
            runtime: Runtime::Node { node },
            ..FunctionSpec::python(name, code_dir, PathBuf::new(), memory_mb, timeout)
        }
    }

    /// The cold-start mode instances of this function get on a platform whose default is
    /// `platform_default`: `fork` only for Python functions on the private channel.
    pub fn effective_cold_start(&self, platform_default: ColdStartMode) -> ColdStartMode {
        match self.runtime {
            Runtime::Python { .. } if self.protocol == Protocol::Channel => {
                self.cold_start.unwrap_or(platform_default)
            }
            _ => ColdStartMode::Exec,
        }
    }
}

/// Platform-wide settings.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// Address of the gateway (127.0.0.1 with an ephemeral port by default).
    pub bind: SocketAddr,
    /// Default keep-alive of idle instances (0: never reuse).
    pub keep_alive: Duration,
    /// Default concurrency limit per function.
    pub concurrency: usize,
    /// Requests that may wait beyond the concurrency limit before throttling.
    pub queue: usize,
    /// Default cold-start mode.
    pub cold_start: ColdStartMode,
    /// Give instances a CPU share proportional to memory (1 vCPU at 1769 MB).
    pub cpu_share: bool,
    /// Maximum processes/threads per instance.
    pub pids: Option<u64>,
    /// Use cgroups when the host lets us (else, or when false, `RLIMIT_AS`).
    pub cgroups: bool,
    /// Isolate instances in namespaces where the host allows: a mount namespace with a private
    /// `/tmp`, and a network namespace for functions that do not need the network. Costs a
    /// millisecond or two per cold start.
    pub namespaces: bool,
    /// Where instance directories, the bootstrap and the platform's socket live (default: the
    /// system's temporary directory).
    pub work_dir: Option<PathBuf>,
    /// Append invocation records to this JSON-lines file.
    pub metrics_log: Option<PathBuf>,
    /// Busy-poll budget while the machine has idle CPUs (zero: always sleep). The gateway polls
    /// for an instance's answer, and an instance of our shims for its next request, for up to
    /// this long before sleeping: on a virtual machine waking an idle CPU costs tens of
    /// microseconds, more than a no-op function takes. Applied only while in-flight invocations
    /// occupy at most half of the CPUs, and never to instances with a CPU share.
    pub busy_poll: Duration,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        PlatformConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            keep_alive: Duration::from_secs(600),
            concurrency: 1000,
            queue: 100,
            cold_start: ColdStartMode::Exec,
            cpu_share: false,
            pids: Some(1024),
            cgroups: true,
            namespaces: false,
            work_dir: None,
            metrics_log: None,
            busy_poll: Duration::from_micros(200),
        }
    }
}

/// What an invocation produced.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The handler returned this JSON.
    Response(Bytes),
    /// The handler raised: a Lambda error JSON (`errorMessage`, `errorType`, `stackTrace`).
    FunctionError(Bytes),
    /// The platform could not complete the invocation (timeout, crash, OOM, init error).
    Failed {
        /// Error class: `Sandbox.Timedout`, `Runtime.OutOfMemory`, `Runtime.ExitError`, ...
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

    fn status(&self) -> &'static str {
        match self {
            Outcome::Response(_) => "success",
            Outcome::FunctionError(_) => "error",
            Outcome::Failed { kind, .. } => match kind.as_str() {
                "Sandbox.Timedout" => "timeout",
                "Runtime.OutOfMemory" => "oom",
                "Runtime.InitError" => "init_error",
                _ => "crash",
            },
        }
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
    /// The platform's record (duration, billing, memory, init).
    pub report: Report,
}

/// Errors of the platform's API (not of functions).
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// No function of that name is deployed.
    #[error("function `{0}` is not deployed on the local platform")]
    NotFound(String),
    /// Concurrency limit reached and the queue is full.
    #[error("function `{0}` is throttled: its concurrency limit is reached and the queue is full")]
    Throttled(String),
    /// Waited in the queue longer than the function's timeout.
    #[error("function `{0}`: the request waited in the queue longer than the function timeout")]
    QueueTimeout(String),
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
    pub(crate) pool: Pool,
    zygote: Mutex<Option<Arc<Zygote>>>,
}

pub(crate) struct Shared {
    pub(crate) functions: Mutex<HashMap<String, Arc<FunctionState>>>,
    pub(crate) instances: Mutex<HashMap<String, Arc<Instance>>>,
    pub(crate) hellos: Mutex<HashMap<String, oneshot::Sender<UnixStream>>>,
    pub(crate) work_dir: tempfile::TempDir,
    pub(crate) bootstrap: PathBuf,
    /// The Node.js bootstrap script.
    pub(crate) node_bootstrap: PathBuf,
    /// The bootstrap byte-compiled for each interpreter (a script given by path is compiled on
    /// every start otherwise, which would add milliseconds to every exec cold start).
    pub(crate) compiled: Mutex<HashMap<PathBuf, PathBuf>>,
    pub(crate) socket_path: PathBuf,
    pub(crate) addr: SocketAddr,
    pub(crate) limits: Limits,
    pub(crate) isolation: Isolation,
    pub(crate) metrics: Metrics,
    pub(crate) config: PlatformConfig,
    /// Invocations being executed by instances right now.
    pub(crate) in_flight: AtomicUsize,
    /// CPUs this process may run on.
    pub(crate) cpus: usize,
}

/// A running local platform.
pub struct LocalPlatform {
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: Option<oneshot::Sender<()>>,
}

fn epoch_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl LocalPlatform {
    /// Start a platform with default settings on 127.0.0.1 and an ephemeral port.
    pub async fn start() -> std::io::Result<LocalPlatform> {
        Self::with_config(PlatformConfig::default()).await
    }

    /// Start a platform with `config`.
    pub async fn with_config(config: PlatformConfig) -> std::io::Result<LocalPlatform> {
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let work_dir = match &config.work_dir {
            Some(base) => {
                std::fs::create_dir_all(base)?;
                tempfile::Builder::new()
                    .prefix("sebs-local-")
                    .tempdir_in(base)?
            }
            None => tempfile::Builder::new().prefix("sebs-local-").tempdir()?,
        };
        let runtime_dir = work_dir.path().join("runtime/python");
        std::fs::create_dir_all(&runtime_dir)?;
        let bootstrap = runtime_dir.join("bootstrap.py");
        std::fs::write(&bootstrap, PYTHON_BOOTSTRAP)?;
        let node_dir = work_dir.path().join("runtime/nodejs");
        std::fs::create_dir_all(&node_dir)?;
        let node_bootstrap = node_dir.join("bootstrap.js");
        std::fs::write(&node_bootstrap, NODE_BOOTSTRAP)?;
        std::fs::create_dir_all(work_dir.path().join("instances"))?;
        let socket_path = work_dir.path().join("gateway.sock");
        let unix = tokio::net::UnixListener::bind(&socket_path)?;
        let name = format!("sebs-{}-{}", std::process::id(), addr.port());
        let use_cgroups = config.cgroups;
        let limits = tokio::task::spawn_blocking(move || {
            if use_cgroups {
                Limits::detect(&name)
            } else {
                Limits::rlimit()
            }
        })
        .await
        .map_err(std::io::Error::other)?;
        tracing::debug!("local platform limits: {}", limits.backend().describe());
        let isolation = if config.namespaces {
            tokio::task::spawn_blocking(Isolation::detect)
                .await
                .map_err(std::io::Error::other)?
        } else {
            Isolation::default()
        };
        tracing::debug!("local platform isolation: {}", isolation.describe());
        let metrics = Metrics::new(config.metrics_log.as_deref())?;
        let shared = Arc::new(Shared {
            functions: Mutex::new(HashMap::new()),
            instances: Mutex::new(HashMap::new()),
            hellos: Mutex::new(HashMap::new()),
            work_dir,
            bootstrap,
            node_bootstrap,
            compiled: Mutex::new(HashMap::new()),
            socket_path,
            addr,
            limits,
            isolation,
            metrics,
            config,
            in_flight: AtomicUsize::new(0),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        });
        let (stop, stopped) = oneshot::channel();
        let app = gateway::router(shared.clone());
        let server = tokio::spawn(async move {
            use axum::serve::ListenerExt;
            // Small responses must not wait for Nagle's algorithm.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("local platform gateway failed: {e}");
            }
        });
        let accept = tokio::spawn(zygote::accept_loop(shared.clone(), unix));
        let sweeper = tokio::spawn(sweep(Arc::downgrade(&shared)));
        tracing::debug!("local platform listening on http://{addr}");
        Ok(LocalPlatform {
            shared,
            tasks: vec![server, accept, sweeper],
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

    /// How limits are enforced on this host.
    pub fn limits(&self) -> &LimitBackend {
        self.shared.limits.backend()
    }

    /// Which namespaces isolate instances on this host.
    pub fn isolation(&self) -> &Isolation {
        &self.shared.isolation
    }

    /// The platform's settings.
    pub fn config(&self) -> &PlatformConfig {
        &self.shared.config
    }

    /// The metrics log, if configured.
    pub fn metrics_log(&self) -> Option<PathBuf> {
        self.shared.metrics.log_path().map(|p| p.to_owned())
    }

    /// The platform's record of an invocation.
    pub fn report(&self, request_id: &str) -> Option<Report> {
        self.shared.metrics.get(request_id)
    }

    /// Create or update a function. Updating retires its instances. In `fork` mode this starts
    /// the function's zygote; if the function cannot be imported, instances fall back to `exec`
    /// so the init error reaches every invocation as on Lambda. Fork mode is Python-only: other
    /// runtimes start with `exec` (see [`FunctionSpec::effective_cold_start`]).
    pub async fn deploy(&self, mut spec: FunctionSpec) {
        let name = spec.name.clone();
        if let Runtime::Python { interpreter } = &spec.runtime {
            compile_bootstrap(&self.shared, interpreter).await;
        }
        if let Runtime::Node { .. } = &spec.runtime {
            for key in NODE_ENV_DENYLIST {
                if spec.env.remove(key).is_some() {
                    tracing::warn!(
                        "function {name}: {key} is never passed to Node.js instances (it would change what is measured); dropped"
                    );
                }
            }
        }
        let requested = spec.cold_start.unwrap_or(self.shared.config.cold_start);
        let mode = spec.effective_cold_start(self.shared.config.cold_start);
        if requested != mode {
            tracing::info!(
                "function {name}: {} cold starts are for Python functions on the private channel; its instances start with {}",
                requested.as_str(),
                mode.as_str()
            );
        }
        let policy: Arc<dyn EvictionPolicy> = Arc::new(FixedKeepAlive(
            spec.keep_alive.unwrap_or(self.shared.config.keep_alive),
        ));
        let pool = Pool::new(
            spec.concurrency.unwrap_or(self.shared.config.concurrency),
            self.shared.config.queue,
            policy,
        );
        let state = Arc::new(FunctionState {
            spec,
            pool,
            zygote: Mutex::new(None),
        });
        if mode == ColdStartMode::Fork {
            let (program, args) = command_of(&self.shared, &state.spec);
            let env = function_env(
                &self.shared,
                &state.spec,
                "zygote",
                &self.shared.work_dir.path().join("zygotes").join(&name),
            );
            let dir = self.shared.work_dir.path().join("zygotes").join(&name);
            let wait = state.spec.timeout.max(Duration::from_secs(30));
            match Zygote::start(&self.shared, &program, &args, &env, &dir, wait).await {
                Ok(z) => *state.zygote.lock().expect("lock") = Some(z),
                Err(e) => tracing::warn!(
                    "fork server of {name} failed to start ({}); its instances start with exec",
                    e.lines().next().unwrap_or("")
                ),
            }
        }
        let old = self
            .shared
            .functions
            .lock()
            .expect("lock")
            .insert(name, state);
        if let Some(old) = old {
            retire(&old);
        }
    }

    /// Retire every idle instance of `name` so the next invocation starts cold. Returns how many
    /// were retired.
    pub fn enforce_cold_start(&self, name: &str) -> Result<usize, PlatformError> {
        let function = self.function(name)?;
        Ok(function.pool.retire_idle())
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

    /// `(busy, idle, queued)` of a function.
    pub fn counts(&self, name: &str) -> Result<(usize, usize, usize), PlatformError> {
        Ok(self.function(name)?.pool.counts())
    }

    /// Live instances of `name` with their pids and memory cgroups' current use (bytes).
    pub fn instances(&self, name: &str) -> Vec<(String, i32, Option<u64>)> {
        self.shared
            .instances
            .lock()
            .expect("lock")
            .values()
            .filter(|i| i.function == name && i.is_alive())
            .map(|i| (i.id.clone(), i.pid(), memory_now(i)))
            .collect()
    }

    /// Number of live instances of `name`.
    pub fn instance_count(&self, name: &str) -> usize {
        self.instances(name).len()
    }

    /// Stop the gateway and kill every instance.
    pub async fn shutdown(mut self) {
        self.kill_all();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Let the exit watchers clean up cgroups and directories.
        for _ in 0..50 {
            if self.shared.instances.lock().expect("lock").is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let shared = self.shared.clone();
        let _ = tokio::task::spawn_blocking(move || {
            shared.limits.cleanup();
            shared.metrics.close();
        })
        .await;
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }

    fn kill_all(&self) {
        let functions: Vec<_> = self
            .shared
            .functions
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect();
        for f in functions {
            if let Some(z) = f.zygote.lock().expect("lock").take() {
                z.kill();
            }
        }
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
        self.shared.metrics.close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn retire(function: &FunctionState) {
    function.pool.retire_idle();
    if let Some(z) = function.zygote.lock().expect("lock").take() {
        z.kill();
    }
}

/// Namespaces instances can be put in, as detected at start-up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Isolation {
    /// A private mount namespace (and so a private `/tmp`).
    pub mount: bool,
    /// A private, empty network namespace.
    pub net: bool,
}

impl Isolation {
    fn detect() -> Isolation {
        let probe = |flags: libc::c_int| {
            let mut command = std::process::Command::new("/bin/true");
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                    if libc::unshare(flags) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
            command.status().is_ok_and(|s| s.success())
        };
        Isolation {
            mount: probe(libc::CLONE_NEWNS),
            net: probe(libc::CLONE_NEWNET),
        }
    }

    /// For logs and results: `mount, net namespaces` or `none`.
    pub fn describe(&self) -> String {
        match (self.mount, self.net) {
            (true, true) => "mount and network namespaces".into(),
            (true, false) => "mount namespace".into(),
            (false, true) => "network namespace".into(),
            (false, false) => "none".into(),
        }
    }

    /// What to do for one instance: `(unshare flags, directory to bind over /tmp)`.
    pub(crate) fn plan(
        &self,
        spec: &FunctionSpec,
        shared: &Shared,
        tmp: &std::path::Path,
    ) -> (libc::c_int, Option<PathBuf>) {
        let mut flags = 0;
        let mut private_tmp = None;
        if self.mount {
            flags |= libc::CLONE_NEWNS;
            // Everything the instance opens by path after the mount must be outside /tmp.
            let outside = |p: &std::path::Path| !p.starts_with("/tmp");
            if outside(&spec.code_dir) && outside(shared.work_dir.path()) {
                private_tmp = Some(tmp.to_owned());
            }
        }
        if self.net && !spec.network && spec.protocol == Protocol::Channel {
            flags |= libc::CLONE_NEWNET;
        }
        (flags, private_tmp)
    }
}

/// Background eviction of idle instances past their keep-alive.
async fn sweep(shared: std::sync::Weak<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let functions: Vec<_> = shared
            .functions
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect();
        for f in functions {
            let n = f.pool.sweep();
            if n > 0 {
                tracing::debug!(
                    "evicted {n} idle instance(s) of {} ({})",
                    f.spec.name,
                    f.pool.policy.describe()
                );
            }
        }
    }
}

/// Byte-compile the bootstrap for `interpreter` once; on failure instances run the source.
async fn compile_bootstrap(shared: &Arc<Shared>, interpreter: &std::path::Path) {
    if shared
        .compiled
        .lock()
        .expect("lock")
        .contains_key(interpreter)
    {
        return;
    }
    let n = shared.compiled.lock().expect("lock").len();
    let target = shared
        .bootstrap
        .with_file_name(format!("bootstrap-{n}.pyc"));
    let (source, program, out) = (
        shared.bootstrap.clone(),
        interpreter.to_owned(),
        target.clone(),
    );
    let compiled = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&program)
            .args(["-S", "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)"])
            .arg(&source)
            .arg(&out)
            .env_clear()
            .status()
            .is_ok_and(|s| s.success())
    })
    .await
    .unwrap_or(false);
    if compiled {
        shared
            .compiled
            .lock()
            .expect("lock")
            .insert(interpreter.to_owned(), target);
    } else {
        tracing::debug!(
            "could not byte-compile the bootstrap for {}",
            interpreter.display()
        );
    }
}

/// Program and arguments that start an instance of `spec`.
fn command_of(shared: &Shared, spec: &FunctionSpec) -> (PathBuf, Vec<OsString>) {
    match &spec.runtime {
        // -S: packages are self-contained (as on Lambda), and skipping `site` keeps the host's
        // site-packages and .pth hooks out of the function and its cold start.
        Runtime::Python { interpreter } => {
            let bootstrap = shared
                .compiled
                .lock()
                .expect("lock")
                .get(interpreter)
                .cloned()
                .unwrap_or_else(|| shared.bootstrap.clone());
            (
                interpreter.clone(),
                vec!["-S".into(), bootstrap.into_os_string()],
            )
        }
        Runtime::Node { node } => {
            // Like Lambda's Node.js runtime: a heap limit below the memory size, so a function
            // that allocates too much fails with V8's heap error rather than a kill.
            let heap_mb = (spec.memory_mb * 9 / 10).max(16);
            (
                node.clone(),
                vec![
                    format!("--max-old-space-size={heap_mb}").into(),
                    shared.node_bootstrap.clone().into_os_string(),
                ],
            )
        }
        Runtime::Custom { bootstrap } => (bootstrap.clone(), Vec::new()),
    }
}

/// The scrubbed environment of an instance: nothing from the host but an explicit allow-list.
fn function_env(
    shared: &Shared,
    spec: &FunctionSpec,
    id: &str,
    dir: &std::path::Path,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("HOME".into(), dir.display().to_string()),
        ("TMPDIR".into(), dir.join("tmp").display().to_string()),
        ("TZ".into(), ":/etc/localtime".into()),
        ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
        ("PYTHONUNBUFFERED".into(), "1".into()),
        (
            "AWS_LAMBDA_RUNTIME_API".into(),
            format!("{}/instances/{id}", shared.addr),
        ),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), spec.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            spec.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME".into(), id.to_owned()),
        ("AWS_REGION".into(), "local".into()),
        (
            "LAMBDA_TASK_ROOT".into(),
            spec.code_dir.display().to_string(),
        ),
        ("_HANDLER".into(), spec.handler.clone()),
    ];
    env.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

async fn start_instance(
    shared: &Arc<Shared>,
    function: &Arc<FunctionState>,
) -> std::io::Result<Arc<Instance>> {
    let spec = &function.spec;
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let dir = shared.work_dir.path().join("instances").join(&id);
    std::fs::create_dir_all(dir.join("tmp"))?;
    let mut cgroup = shared.limits.create(
        &id,
        InstanceLimits {
            memory_mb: spec.memory_mb,
            cpus: shared
                .config
                .cpu_share
                .then(|| spec.memory_mb as f64 / limits::MB_PER_VCPU),
            pids: shared.config.pids,
        },
    );
    if let Runtime::Node { .. } = spec.runtime {
        // V8 reserves gigabytes of address space up front: under RLIMIT_AS, node cannot start.
        // Without cgroups its memory is bounded by the heap limit (--max-old-space-size).
        cgroup.rlimit_as = None;
    }
    let zygote = function
        .zygote
        .lock()
        .expect("lock")
        .clone()
        .filter(|z| z.is_alive());
    let mode = if zygote.is_some() {
        ColdStartMode::Fork
    } else {
        ColdStartMode::Exec
    };
    let instance = Instance::new(
        id.clone(),
        dir.clone(),
        cgroup,
        &spec.name,
        spec.memory_mb,
        spec.protocol,
        mode,
    );
    shared
        .instances
        .lock()
        .expect("lock")
        .insert(id.clone(), instance.clone());
    let env = function_env(shared, spec, &id, &dir);
    let started = match zygote {
        Some(z) => {
            // The zygote's environment is the function's; only the per-instance parts change.
            let own: Vec<(String, String)> = env
                .iter()
                .filter(|(k, _)| {
                    matches!(
                        k.as_str(),
                        "HOME" | "TMPDIR" | "AWS_LAMBDA_RUNTIME_API" | "AWS_LAMBDA_LOG_STREAM_NAME"
                    )
                })
                .cloned()
                .collect();
            let ns = shared.isolation.plan(spec, shared, &dir.join("tmp"));
            z.fork(shared, &instance, &own, ns).await
        }
        None => {
            let (program, args) = command_of(shared, spec);
            let ns = shared.isolation.plan(spec, shared, &dir.join("tmp"));
            instance::spawn_exec(shared, &program, &args, &instance, &env, ns)
        }
    };
    if let Err(e) = started {
        shared.instances.lock().expect("lock").remove(&id);
        instance.kill();
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok(instance)
}

fn memory_now(instance: &Instance) -> Option<u64> {
    instance
        .cgroup
        .current_bytes()
        .or_else(|| proc_status_kb(instance.pid(), "VmRSS:").map(|kb| kb * 1024))
}

fn memory_peak(instance: &Instance) -> Option<u64> {
    instance
        .cgroup
        .peak_bytes()
        .or_else(|| proc_status_kb(instance.pid(), "VmHWM:").map(|kb| kb * 1024))
}

fn proc_status_kb(pid: i32, field: &str) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Counts an invocation as in flight for as long as it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicUsize) -> InFlight<'a> {
        counter.fetch_add(1, Ordering::AcqRel);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Shared {
    /// The busy-poll budget for an invocation starting now: none once in-flight invocations
    /// occupy more than half of the CPUs (polling would then take CPU time from functions).
    fn busy_poll(&self) -> Option<Duration> {
        let budget = self.config.busy_poll;
        let running = self.in_flight.load(Ordering::Acquire);
        (!budget.is_zero() && running * 2 <= self.cpus).then_some(budget)
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
    let timeout = function.spec.timeout;
    let slot = function.pool.acquire(timeout).await.map_err(|r| match r {
        Rejected::Throttled => PlatformError::Throttled(name.to_owned()),
        Rejected::QueueTimeout => PlatformError::QueueTimeout(name.to_owned()),
    })?;
    let (instance, cold) = match slot {
        Slot::Warm(instance) => (instance, false),
        Slot::Cold => match start_instance(shared, &function).await {
            Ok(instance) => (instance, true),
            Err(e) => {
                function.pool.release_slot();
                return Err(PlatformError::Spawn {
                    function: name.to_owned(),
                    message: e.to_string(),
                });
            }
        },
    };
    if !cold {
        instance.cgroup.reset_peak();
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let now = SystemTime::now();
    let dispatched = Instant::now();
    let deadline_ms = (now + timeout)
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let outcome = {
        let _running = InFlight::enter(&shared.in_flight);
        let poll = shared.busy_poll();
        // Time an instance spends polling would count against its CPU share.
        let instance_poll = if shared.config.cpu_share { None } else { poll };
        instance
            .call(
                &request_id,
                payload,
                deadline_ms,
                timeout,
                (poll, instance_poll),
            )
            .await
    };
    let finished = Instant::now();

    // Lambda's Duration excludes the init phase; Init Duration is reported on cold starts.
    let init = if cold { instance.init_duration() } else { None };
    let started = match init {
        Some(init) => (instance.spawned + init).max(dispatched),
        None => dispatched,
    };
    let duration_ms = finished.saturating_duration_since(started).as_secs_f64() * 1000.0;
    let peak = memory_peak(&instance);
    let report = Report {
        request_id: request_id.clone(),
        function: name.to_owned(),
        instance_id: instance.id.clone(),
        timestamp: epoch_seconds(now),
        duration_ms,
        billed_duration_ms: Report::billed(duration_ms),
        memory_size_mb: function.spec.memory_mb,
        max_memory_used_mb: peak.map(|b| b.div_ceil(1024 * 1024)),
        init_duration_ms: init.map(|d| d.as_secs_f64() * 1000.0),
        status: outcome.status().to_owned(),
        cold_start_mode: cold.then(|| instance.mode.as_str().to_owned()),
    };
    let healthy = matches!(outcome, Outcome::Response(_) | Outcome::FunctionError(_));
    let current = shared
        .functions
        .lock()
        .expect("lock")
        .get(name)
        .is_some_and(|f| Arc::ptr_eq(f, &function));
    let instance_id = instance.id.clone();
    function.pool.release(instance, healthy && current);
    shared.metrics.record(report.clone());
    Ok(Invocation {
        request_id,
        instance_id,
        cold,
        outcome,
        report,
    })
}
