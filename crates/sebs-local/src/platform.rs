//! The platform's facade: [`LocalPlatform`] starts the gateway, deploys functions, invokes
//! them and shuts everything down.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sebs_core::config::ColdStartMode;
use tokio::sync::oneshot;

use crate::config::PlatformConfig;
use crate::error::PlatformError;
use crate::invocation::Invocation;
use crate::isolation::Isolation;
use crate::lambda::CodeStore;
use crate::launch::{command_of, compile_bootstrap, function_env};
use crate::limits::{Backend as LimitBackend, Limits, Requested};
use crate::metrics::{Metrics, Report};
use crate::pool::{EvictionPolicy, FixedKeepAlive, Pool};
use crate::spec::{FunctionSpec, Runtime};
use crate::state::{FunctionState, Shared};
use crate::zygote::Zygote;
use crate::{
    NODE_BOOTSTRAP, NODE_ENV_DENYLIST, PYTHON_BOOTSTRAP, debris, dispatch, gateway, reap, server,
    zygote,
};

/// A running local platform.
pub struct LocalPlatform {
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: Option<oneshot::Sender<()>>,
}

impl LocalPlatform {
    /// Start a platform with default settings on 127.0.0.1 and an ephemeral port.
    pub async fn start() -> std::io::Result<LocalPlatform> {
        Self::with_config(PlatformConfig::default()).await
    }

    /// Start a platform with `config`.
    pub async fn with_config(config: PlatformConfig) -> std::io::Result<LocalPlatform> {
        // Thousands of instances and connections need more descriptors than a default limit.
        crate::fdlimit::raise();
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let owner = debris::owner_token();
        let base = config.work_dir.clone().unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&base)?;
        let work_dir = tempfile::Builder::new()
            .prefix(&format!("{}{owner}-", debris::TEMP_PREFIX))
            .tempdir_in(&base)?;
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
        let name = format!("{}{owner}-{}", debris::CGROUP_PREFIX, addr.port());
        let use_cgroups = config.cgroups;
        let requested = Requested {
            cpu: config.cpu_share,
            pids: config.pids.is_some(),
        };
        let limits = tokio::task::spawn_blocking(move || {
            // What dead platforms left (killed with SIGKILL, say) goes first.
            let dirs = debris::sweep_temp_dirs(&base);
            let cgroups = debris::sweep_cgroups(&Limits::platform_bases());
            if dirs + cgroups > 0 {
                tracing::info!(
                    "removed {dirs} temporary director{} (in {}) and {cgroups} cgroup{} left by dead sebs processes",
                    if dirs == 1 { "y" } else { "ies" },
                    base.display(),
                    if cgroups == 1 { "" } else { "s" },
                );
            }
            if use_cgroups {
                Limits::detect(&name, requested)
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
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
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
            cpus,
            preparing: tokio::sync::Semaphore::new(cpus),
            open_connections: Arc::new(AtomicUsize::new(0)),
            lambda: Default::default(),
        });
        let (stop, stopped) = oneshot::channel();
        let app = gateway::router(shared.clone());
        let connections = connection_limits(&shared.config);
        let open = shared.open_connections.clone();
        let server = tokio::spawn(server::serve(listener, app, connections, open, stopped));
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

    /// Read the code of functions created with `Code.S3Bucket`/`Code.S3Key` (Lambda's
    /// CreateFunction and UpdateFunctionCode) from `store`; without one such requests are
    /// refused with `InvalidParameterValueException`.
    pub fn set_code_store(&self, store: Option<CodeStore>) {
        *self.shared.lambda.code_store.lock().expect("lock") = store;
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
    pub async fn deploy(&self, spec: FunctionSpec) {
        deploy(&self.shared, spec).await;
    }

    /// Retire every idle instance of `name` so the next invocation starts cold. Returns how many
    /// were retired.
    pub fn enforce_cold_start(&self, name: &str) -> Result<usize, PlatformError> {
        let function = self.function(name)?;
        Ok(function.pool.retire_idle())
    }

    /// Delete function `name`: new requests get 404, its idle instances and fork server are
    /// stopped now, and busy instances finish their invocation and are retired after it.
    pub fn remove(&self, name: &str) -> Result<(), PlatformError> {
        remove(&self.shared, name)
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
        dispatch::invoke(&self.shared, name, payload).await
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
            .map(|i| (i.id.clone(), i.pid(), i.memory_now()))
            .collect()
    }

    /// Number of live instances of `name`.
    pub fn instance_count(&self, name: &str) -> usize {
        self.instances(name).len()
    }

    /// Stop the gateway and kill every instance and every process instances started.
    pub async fn shutdown(mut self) {
        let trees = self.kill_all();
        if !trees.is_empty() {
            let _ = tokio::task::spawn_blocking(move || reap::kill_tree(&trees)).await;
        }
        self.kill_zygotes();
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

    /// Kill the fork servers. After the instances: a forked instance dies with its fork server,
    /// and the processes it started would no longer be found below it.
    fn kill_zygotes(&self) {
        for f in self.shared.deployed() {
            if let Some(z) = f.zygote.lock().expect("lock").take() {
                z.kill();
            }
        }
    }

    /// Kill the instances' process groups; returns the pids of instances without a cgroup,
    /// whose process trees are still to be killed ([`reap::kill_tree`]).
    fn kill_all(&self) -> Vec<i32> {
        self.shared
            .live_instances()
            .iter()
            .filter_map(|i| i.kill_group())
            .collect()
    }
}

impl Drop for LocalPlatform {
    fn drop(&mut self) {
        // Not shut down: kill what is left and remove the cgroups (the killed processes take
        // milliseconds to leave them).
        reap::kill_tree(&self.kill_all());
        self.kill_zygotes();
        self.shared.limits.cleanup();
        self.shared.metrics.close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// [`LocalPlatform::deploy`] on the shared state (the Lambda control plane deploys too).
pub(crate) async fn deploy(shared: &Arc<Shared>, mut spec: FunctionSpec) {
    let name = spec.name.clone();
    if let Runtime::Python { interpreter } = &spec.runtime {
        compile_bootstrap(shared, interpreter).await;
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
    let requested = spec.cold_start.unwrap_or(shared.config.cold_start);
    let mode = spec.effective_cold_start(shared.config.cold_start);
    if requested != mode {
        tracing::info!(
            "function {name}: {} cold starts are for Python functions on the private channel; its instances start with {}",
            requested.as_str(),
            mode.as_str()
        );
    }
    let policy: Arc<dyn EvictionPolicy> = Arc::new(FixedKeepAlive(
        spec.keep_alive.unwrap_or(shared.config.keep_alive),
    ));
    let pool = Pool::new(
        spec.concurrency.unwrap_or(shared.config.concurrency),
        shared.config.queue,
        policy,
    );
    let state = Arc::new(FunctionState {
        spec,
        pool,
        zygote: Mutex::new(None),
    });
    if mode == ColdStartMode::Fork {
        let (program, args) = command_of(shared, &state.spec);
        let env = function_env(
            shared,
            &state.spec,
            "zygote",
            &shared.work_dir.path().join("zygotes").join(&name),
        );
        let dir = shared.work_dir.path().join("zygotes").join(&name);
        let wait = state.spec.timeout.max(Duration::from_secs(30));
        match Zygote::start(shared, &program, &args, &env, &dir, wait).await {
            Ok(z) => *state.zygote.lock().expect("lock") = Some(z),
            Err(e) => tracing::warn!(
                "fork server of {name} failed to start ({}); its instances start with exec",
                e.lines().next().unwrap_or("")
            ),
        }
    }
    let old = shared.functions.lock().expect("lock").insert(name, state);
    if let Some(old) = old {
        retire(&old);
    }
}

/// [`LocalPlatform::remove`] on the shared state; forgets what the Lambda control plane knew of
/// the function too.
pub(crate) fn remove(shared: &Shared, name: &str) -> Result<(), PlatformError> {
    shared.lambda.forget(name);
    let removed = shared.functions.lock().expect("lock").remove(name);
    let function = removed.ok_or_else(|| PlatformError::NotFound(name.to_owned()))?;
    retire(&function);
    Ok(())
}

fn retire(function: &FunctionState) {
    function.pool.retire_idle();
    if let Some(z) = function.zygote.lock().expect("lock").take() {
        z.kill();
    }
}

/// How the gateway treats its connections, from the platform's settings.
fn connection_limits(config: &PlatformConfig) -> server::Limits {
    server::Limits {
        header_read_timeout: config.header_read_timeout,
        idle_timeout: config.idle_timeout,
        max_connections: config
            .max_connections
            .unwrap_or_else(server::default_max_connections),
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
        for f in shared.deployed() {
            let n = f.pool.sweep();
            if n > 0 {
                tracing::debug!(
                    "evicted {n} idle instance(s) of {} ({})",
                    f.spec.name,
                    f.pool.policy.describe()
                );
            }
        }
        // Keep what instances printed to its last bytes (a syscall or two per instance, off the
        // async threads).
        let instances = shared.live_instances();
        if !instances.is_empty() {
            let cap = shared.config.output_cap;
            let _ = tokio::task::spawn_blocking(move || {
                for instance in instances {
                    instance.output.trim(cap);
                }
            })
            .await;
        }
    }
}
