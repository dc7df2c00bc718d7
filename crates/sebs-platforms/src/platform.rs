//! The seam every backend implements: [`Platform`] (deploy, triggers, cold starts, provider
//! metrics, resources) and [`Trigger`] (invoke once, get an [`ExecutionResult`]).
//!
//! Everything above this seam — `benchmark invoke`, the experiments, the regression, processing
//! — talks to a `dyn Platform` only, so a new backend is one module plus one line in
//! [`crate::factory`].

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use async_trait::async_trait;
use sebs_core::config::{Architecture, Language};
use sebs_core::result::{ExecutionResult, ProviderMetrics};
use serde::Serialize;
use serde_json::Value;

/// How a function is invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TriggerKind {
    /// An HTTP POST to the function's URL (API gateway, function URL).
    Http,
    /// The provider's invoke API (AWS Lambda Invoke, ...): SeBS's "library" trigger.
    Library,
    /// An object upload to a bucket whose notifications start the function (S3 on AWS); the
    /// result comes back through a result queue.
    Storage,
    /// A message to a queue an event source mapping polls (SQS on AWS); the result comes back
    /// through a result queue.
    Queue,
}

impl TriggerKind {
    /// Every kind.
    pub const ALL: [TriggerKind; 4] = [
        TriggerKind::Http,
        TriggerKind::Library,
        TriggerKind::Storage,
        TriggerKind::Queue,
    ];

    /// The name SeBS uses (`http`, `library`, `storage`, `queue`).
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Http => "http",
            TriggerKind::Library => "library",
            TriggerKind::Storage => "storage",
            TriggerKind::Queue => "queue",
        }
    }
}

/// What code package a platform needs: its layout (the cache key of the package, e.g. `local`,
/// `aws`) and the CPU architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageTarget {
    /// Package layout and cache key.
    pub layout: String,
    /// Target architecture.
    pub architecture: Architecture,
}

impl PackageTarget {
    /// The local platform's layout (`local`): packages run as they are built.
    pub fn local(architecture: Architecture) -> PackageTarget {
        PackageTarget {
            layout: "local".into(),
            architecture,
        }
    }
}

/// One function as the pipeline asks a platform to create or update it.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// Function name on the platform.
    pub name: String,
    /// The benchmark it runs (per-benchmark platform settings are looked up by it).
    pub benchmark: String,
    /// Language of the package.
    pub language: Language,
    /// Language version, e.g. `3.11` or `20`.
    pub language_version: String,
    /// The interpreter the package was built for (what a local platform runs it with).
    pub interpreter: PathBuf,
    /// The CPU architecture the package was built for.
    pub architecture: Architecture,
    /// The package directory (absolute).
    pub code_dir: PathBuf,
    /// The package's content hash: a platform updates the code only when it changed.
    pub code_hash: String,
    /// Package size in bytes.
    pub code_size: u64,
    /// Memory in MB.
    pub memory_mb: u64,
    /// Timeout in seconds.
    pub timeout_s: u64,
    /// Environment of the function (storage endpoints and credentials: never logged or
    /// recorded).
    pub env: BTreeMap<String, String>,
}

/// A resource a platform created (a function, a function URL, a bucket, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// Kind, e.g. `function`.
    pub kind: String,
    /// Name or id on the platform.
    pub name: String,
}

impl Resource {
    /// A function named `name`.
    pub fn function(name: &str) -> Resource {
        Resource {
            kind: "function".into(),
            name: name.to_owned(),
        }
    }
}

/// Storage a platform provides for benchmarks that use the `storage` or `nosql` modules: its
/// own object store and NoSQL database (S3 and DynamoDB on AWS), reached by the input driver on
/// this machine and by the functions through environment variables.
#[derive(Clone, Default)]
pub struct ProvidedStorage {
    /// Variables for the input driver (credentials, region, endpoints): never logged.
    pub driver_env: BTreeMap<String, String>,
    /// Variables for the functions (none on a cloud, whose functions have a role; endpoints
    /// and credentials against an emulator): never logged or recorded.
    pub function_env: BTreeMap<String, String>,
}

impl std::fmt::Debug for ProvidedStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: the values hold credentials.
        f.debug_struct("ProvidedStorage")
            .field("driver_env", &self.driver_env.keys().collect::<Vec<_>>())
            .field(
                "function_env",
                &self.function_env.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A deployment record (`config.deployment` of results) in SeBS's shape: the deployment `name`,
/// no region, no credentials, and what describes the platform and the function in `resources`.
pub fn deployment_record(name: &str, resources: Value) -> Value {
    serde_json::json!({
        "name": name,
        "region": "",
        "credentials": {},
        "resources": resources,
    })
}

/// A platform's own count of a function's instances at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct InstanceCount {
    /// Instances alive: running an invocation or idle and kept warm.
    pub live: u64,
    /// Of those, running an invocation.
    pub busy: u64,
    /// Requests waiting for an instance (over the concurrency limit).
    pub queued: u64,
}

/// One point of a provider's own history of concurrently running instances.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ConcurrencyPoint {
    /// Start of the provider's period (epoch seconds).
    pub time: f64,
    /// Length of the period the value covers (s).
    pub period: f64,
    /// The function.
    pub function: String,
    /// The most instances running at once in the period.
    pub instances: f64,
}

/// A FaaS platform: the local one, a cloud, a cluster, or the deterministic fake of the tests.
///
/// Methods take `&self` so a platform can be shared by concurrent invocations; backends keep
/// their mutable state behind their own locks.
#[async_trait]
pub trait Platform: Send + Sync {
    /// The deployment name (`local`, `aws`, `fake`, ...), as in `deployment.name`.
    fn name(&self) -> &str;

    /// SeBS's resource id: names the benchmarks bucket (`sebs-benchmarks-<id>`) and default
    /// function names (`sebs-<id>-<benchmark>-<language>-<version>`).
    fn resources_id(&self) -> &str;

    /// The code package this platform runs.
    fn package_target(&self, architecture: Architecture) -> PackageTarget;

    /// `name` in the characters the platform allows in function names (the default keeps it).
    fn format_function_name(&self, name: &str) -> String {
        name.to_owned()
    }

    /// Create `function`, or update it in place if it exists (code only when its hash changed,
    /// configuration only when it differs). Returns the deployment record written to results as
    /// `config.deployment`: what describes the platform and the function, never secrets.
    async fn create_or_update(&self, function: &FunctionConfig) -> Result<Value>;

    /// A trigger of `kind` for a deployed function.
    async fn trigger(&self, function: &str, kind: TriggerKind) -> Result<Arc<dyn Trigger>>;

    /// Make the next invocation of each function a cold start.
    async fn enforce_cold_start(&self, functions: &[String]) -> Result<()>;

    /// Provider-side metrics of the invocations `request_ids` of a run whose deployment record
    /// (`config.deployment` of its results) is `deployment`. Ids the provider has no record of
    /// are absent from the map.
    async fn provider_metrics(
        &self,
        deployment: &Value,
        request_ids: &[String],
    ) -> Result<HashMap<String, ProviderMetrics>>;

    /// How many instances of `function` the platform holds now, where it can tell without
    /// disturbing them (the local platform's pool, the fake's); `None` (the default) where it
    /// cannot, and the scaling experiment infers instances from the ids functions report.
    async fn instances_now(&self, function: &str) -> Result<Option<InstanceCount>> {
        let _ = function;
        Ok(None)
    }

    /// The provider's own record of how many instances of `functions` ran at once between
    /// `begin` and `end` (epoch seconds), for a run whose deployment record is `deployment`:
    /// a cloud's metric (AWS: CloudWatch `ConcurrentExecutions`, per minute), read after the run.
    /// Empty (the default) where the provider keeps none; the scaling experiment then has the
    /// live counts it sampled ([`Platform::instances_now`]) and the instance ids.
    async fn concurrency_history(
        &self,
        deployment: &Value,
        functions: &[String],
        begin: f64,
        end: f64,
    ) -> Result<Vec<ConcurrencyPoint>> {
        let _ = (deployment, functions, begin, end);
        Ok(Vec::new())
    }

    /// The platform's own orchestrator for a workflow whose functions are deployed (`spec`
    /// names them), invoked through `kind` triggers: create or update what it needs (AWS: a
    /// Step Functions state machine translated from the definition) and return a runner whose
    /// [`sebs_workflows::WorkflowRunner::run`] executes one request and reports every state
    /// execution. `None` (the default): sebs's engine runs the workflow over the functions'
    /// triggers.
    async fn workflow_runner(
        &self,
        spec: &crate::workflow::WorkflowSpec,
        kind: TriggerKind,
    ) -> Result<Option<Arc<dyn sebs_workflows::WorkflowRunner>>> {
        let _ = (spec, kind);
        Ok(None)
    }

    /// Storage for benchmarks that need it (`object`, `nosql`), if the platform has its own;
    /// `None` (the default) uses sebs's storage: the configured endpoints or the embedded
    /// servers.
    async fn storage(&self, object: bool, nosql: bool) -> Result<Option<ProvidedStorage>> {
        let _ = (object, nosql);
        Ok(None)
    }

    /// The input driver's Python storage/NoSQL shims `(file name, source)` where the
    /// platform's storage speaks another protocol than sebs's S3/DynamoDB shims (Azure: Blob
    /// storage, Cosmos DB); `None` (the default) keeps sebs's.
    fn driver_shims(&self) -> Option<Vec<(&'static str, &'static str)>> {
        None
    }

    /// The resources sebs created on this platform under its resource id: on a cloud, found on
    /// the cloud itself (functions, URLs, roles, buckets, tables, log groups); on a platform
    /// that keeps nothing between runs, what this session created.
    async fn resources(&self) -> Result<Vec<Resource>>;

    /// Remove functions (and their triggers) created earlier.
    async fn remove(&self, functions: &[String]) -> Result<()>;

    /// Delete one resource [`Platform::resources`] listed. The default deletes functions
    /// through [`Platform::remove`].
    async fn delete(&self, resource: &Resource) -> Result<()> {
        if resource.kind == "function" {
            self.remove(std::slice::from_ref(&resource.name)).await
        } else {
            anyhow::bail!(
                "the {} platform cannot delete a {} ({})",
                self.name(),
                resource.kind,
                resource.name
            )
        }
    }

    /// Stop whatever this platform started locally (servers, instances) and wait for it. Cloud
    /// resources stay; `remove` deletes them.
    async fn shutdown(self: Box<Self>);
}

/// A way to invoke one deployed function.
#[async_trait]
pub trait Trigger: Send + Sync {
    /// The trigger's kind.
    fn kind(&self) -> TriggerKind;

    /// The URL a client can call, for HTTP triggers (what `local start` writes).
    fn url(&self) -> Option<String>;

    /// Invoke once with `input`. Never fails: transport errors, function errors, timeouts and
    /// malformed responses are recorded in the result (`stats.failure`, `error`).
    async fn invoke(&self, input: &Value) -> ExecutionResult;

    /// This trigger with its connections kept open between invocations, as a load generator
    /// keeps them (the scaling experiment's driver): connection set-up is then paid once per
    /// connection, not per request. `None` (the default) where the trigger's transport already
    /// pools connections (an SDK client) or has none.
    fn reusing_connections(&self) -> Option<Arc<dyn Trigger>> {
        None
    }
}
