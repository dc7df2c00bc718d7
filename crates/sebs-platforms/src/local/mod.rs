//! The local platform as a [`Platform`]: `deployment.local` (with the local flags applied) turned
//! into a [`sebs_local::LocalPlatform`], started on first use, and its deployment records and
//! provider metrics.

pub mod daemon;
pub mod events;
mod wire;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use sebs_core::config::{Architecture, ColdStartMode, Language, LocalDeploymentConfig};
use sebs_core::result::ProviderMetrics;
use sebs_local::{FunctionSpec, LocalPlatform, PlatformConfig};
use serde_json::{Value, json};

use crate::http::HttpTrigger;
use crate::platform::{
    FunctionConfig, InstanceCount, PackageTarget, Platform, Resource, Trigger, TriggerKind,
    deployment_record,
};

/// The local platform's command-line flags. They override `deployment.local` of the config
/// ([`LocalOverrides::apply`]), so the backend reads one place.
#[derive(Debug, Clone, Default)]
pub struct LocalOverrides {
    /// `--cold-start`.
    pub cold_start: Option<ColdStartMode>,
    /// `--keep-alive` (seconds).
    pub keep_alive: Option<f64>,
    /// `--concurrency-limit`.
    pub concurrency_limit: Option<usize>,
    /// `--cpu-share` (only turns it on).
    pub cpu_share: bool,
    /// `--namespaces` (only turns them on).
    pub namespaces: bool,
    /// `--busy-poll-us`.
    pub busy_poll_us: Option<u64>,
}

impl LocalOverrides {
    /// Write the flags that were given into `local`.
    pub fn apply(&self, local: &mut LocalDeploymentConfig) {
        if let Some(mode) = self.cold_start {
            local.cold_start = Some(mode);
        }
        if let Some(k) = self.keep_alive {
            local.keep_alive = Some(k);
        }
        if let Some(c) = self.concurrency_limit {
            local.concurrency_limit = Some(c);
        }
        if self.cpu_share {
            local.cpu_share = Some(true);
        }
        if self.namespaces {
            local.namespaces = Some(true);
        }
        if let Some(us) = self.busy_poll_us {
            local.busy_poll_us = Some(us);
        }
    }
}

fn seconds(value: f64, what: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        anyhow::anyhow!("invalid {what} `{value}`: expected a non-negative number of seconds")
    })
}

/// The platform settings from `deployment.local` (flags already applied).
pub fn platform_config(local: &LocalDeploymentConfig, cache_dir: &Path) -> Result<PlatformConfig> {
    let mut config = PlatformConfig::default();
    if let Some(k) = local.keep_alive {
        config.keep_alive = seconds(k, "keep-alive")?;
    }
    if let Some(c) = local.concurrency_limit {
        config.concurrency = c.max(1);
    }
    if let Some(q) = local.queue_size {
        config.queue = q;
    }
    if let Some(mode) = local.cold_start {
        config.cold_start = mode;
    }
    config.cpu_share = local.cpu_share.unwrap_or(false);
    config.cgroups = local.cgroups.unwrap_or(true);
    if let Some(p) = local.pids_limit {
        config.pids = Some(p);
    }
    config.namespaces = local.namespaces.unwrap_or(false);
    if config.namespaces {
        // Instance directories outside /tmp, so a private /tmp can be mounted over it.
        config.work_dir = Some(std::path::absolute(cache_dir)?.join("local").join("run"));
    }
    if let Some(us) = local.busy_poll_us {
        config.busy_poll = Duration::from_micros(us);
    }
    if let Some(kib) = local.output_cap_kib {
        config.output_cap = kib.saturating_mul(1024);
    }
    if let Some(s) = local.header_read_timeout {
        config.header_read_timeout = seconds(s, "header-read-timeout")?;
    }
    if let Some(s) = local.idle_timeout {
        config.idle_timeout = seconds(s, "idle-timeout")?;
    }
    if local.max_connections.is_some() {
        config.max_connections = local.max_connections;
    }
    config.metrics_log = Some(metrics_log(cache_dir));
    Ok(config)
}

/// Where the local platform appends its invocation records (its "CloudWatch Logs").
pub fn metrics_log(cache: &Path) -> PathBuf {
    let dir = std::path::absolute(cache).unwrap_or_else(|_| cache.to_owned());
    dir.join("local").join("metrics.jsonl")
}

/// The local FaaS platform behind the [`Platform`] seam. The gateway starts on first use, so
/// creating the backend (e.g. to read provider metrics while processing) costs nothing. Clones
/// share one platform (`local serve` keeps one to sample instances' memory).
#[derive(Clone)]
pub struct LocalBackend(Arc<Inner>);

struct Inner {
    local: LocalDeploymentConfig,
    cache_dir: PathBuf,
    port: u16,
    platform: tokio::sync::OnceCell<LocalPlatform>,
    created: Mutex<BTreeSet<String>>,
    /// The storage and queue triggers' servers, started with the first such trigger.
    triggers: tokio::sync::OnceCell<events::TriggerHub>,
}

impl LocalBackend {
    /// A backend for `deployment.local`, keeping its metrics log under `cache_dir`.
    pub fn new(local: LocalDeploymentConfig, cache_dir: &Path) -> LocalBackend {
        Self::on_port(local, cache_dir, 0)
    }

    /// Like [`LocalBackend::new`], with the gateway on `port` of 127.0.0.1 (0: any free port).
    pub fn on_port(local: LocalDeploymentConfig, cache_dir: &Path, port: u16) -> LocalBackend {
        LocalBackend(Arc::new(Inner {
            local,
            cache_dir: cache_dir.to_owned(),
            port,
            platform: tokio::sync::OnceCell::new(),
            created: Mutex::new(BTreeSet::new()),
            triggers: tokio::sync::OnceCell::new(),
        }))
    }

    /// The running platform, started on first call.
    pub async fn platform(&self) -> Result<&LocalPlatform> {
        self.0
            .platform
            .get_or_try_init(|| async {
                let mut config = platform_config(&self.0.local, &self.0.cache_dir)?;
                config.bind = std::net::SocketAddr::from(([127, 0, 0, 1], self.0.port));
                LocalPlatform::with_config(config).await.with_context(|| {
                    format!(
                        "failed to start the local platform on 127.0.0.1:{}",
                        self.0.port
                    )
                })
            })
            .await
    }

    /// The servers of the storage and queue triggers, started on first call.
    async fn trigger_hub(&self) -> Result<&events::TriggerHub> {
        self.0
            .triggers
            .get_or_try_init(|| {
                let dir = self.0.cache_dir.join("local").join("triggers");
                let settings = self.0.local.triggers.clone().unwrap_or_default();
                async move { events::TriggerHub::start(&dir, settings).await }
            })
            .await
    }

    /// The function as the local platform runs it: the package, its environment, and the
    /// per-function settings of `deployment.local.functions.<function name | benchmark id>`.
    pub fn function_spec(&self, function: &FunctionConfig) -> Result<FunctionSpec> {
        let timeout = Duration::from_secs(function.timeout_s);
        let code_dir = std::path::absolute(&function.code_dir)?;
        let interpreter = function.interpreter.clone();
        let mut spec = match function.language {
            Language::Nodejs => FunctionSpec::node(
                &function.name,
                code_dir,
                interpreter,
                function.memory_mb,
                timeout,
            ),
            Language::Python => FunctionSpec::python(
                &function.name,
                code_dir,
                interpreter,
                function.memory_mb,
                timeout,
            ),
        };
        spec.env = function.env.clone();
        spec.code_hash = function.code_hash.clone();
        spec.network = self.0.local.network.unwrap_or(true);
        let functions = &self.0.local.functions;
        if let Some(f) = functions
            .get(&function.name)
            .or_else(|| functions.get(&function.benchmark))
        {
            if let Some(k) = f.keep_alive {
                spec.keep_alive = Some(seconds(k, "keep-alive")?);
            }
            spec.concurrency = f.concurrency_limit;
            spec.cold_start = f.cold_start;
            if let Some(network) = f.network {
                spec.network = network;
            }
        }
        Ok(spec)
    }

    fn deployment_record(
        platform: &LocalPlatform,
        function: &FunctionConfig,
        spec: &FunctionSpec,
    ) -> Value {
        let config = platform.config();
        let requested: ColdStartMode = spec.cold_start.unwrap_or(config.cold_start);
        let cold_start = spec.effective_cold_start(config.cold_start);
        let mut record = deployment_record(
            "local",
            json!({
                "endpoint": platform.endpoint(),
                "interpreter": function.interpreter,
                "cold-start": cold_start.as_str(),
                "keep-alive": spec.keep_alive.unwrap_or(config.keep_alive).as_secs_f64(),
                "concurrency-limit": spec.concurrency.unwrap_or(config.concurrency),
                "limits": platform.limits().describe(),
                "isolation": platform.isolation().describe(),
                "network": spec.network,
                "cpu-share": config.cpu_share,
                "busy-poll-us": config.busy_poll.as_micros() as u64,
                "metrics-log": platform.metrics_log(),
            }),
        );
        if requested != cold_start {
            record["resources"]["cold-start-note"] = json!(format!(
                "{} cold starts were requested, but they are for Python functions only: {} instances start with {}",
                requested.as_str(),
                function.language,
                cold_start.as_str()
            ));
        }
        record
    }
}

#[async_trait]
impl Platform for LocalBackend {
    fn name(&self) -> &str {
        "local"
    }

    fn resources_id(&self) -> &str {
        "local"
    }

    fn package_target(&self, architecture: Architecture) -> PackageTarget {
        // Functions run on this machine: their packages are built for it, whatever was asked.
        match Architecture::host() {
            Some(host) if host != architecture => {
                tracing::warn!(
                    "`experiments.architecture` = {}: the local platform runs functions on this machine, so their packages are built for {}",
                    architecture.as_str(),
                    host.as_str()
                );
                PackageTarget::local(host)
            }
            _ => PackageTarget::local(architecture),
        }
    }

    async fn create_or_update(&self, function: &FunctionConfig) -> Result<Value> {
        let mut spec = self.function_spec(function)?;
        if self.0.local.triggers.is_some() {
            // Storage-triggered invocations read their input object from the triggers' store.
            spec.env.extend(self.trigger_hub().await?.function_env());
        }
        let platform = self.platform().await?;
        let record = Self::deployment_record(platform, function, &spec);
        platform.deploy(spec).await;
        self.0
            .created
            .lock()
            .expect("lock")
            .insert(function.name.clone());
        Ok(record)
    }

    async fn trigger(&self, function: &str, kind: TriggerKind) -> Result<Arc<dyn Trigger>> {
        let platform = self.platform().await?;
        Ok(match kind {
            TriggerKind::Http => Arc::new(HttpTrigger::http(platform.function_url(function))),
            TriggerKind::Library => {
                Arc::new(HttpTrigger::lambda_invoke(platform.invoke_url(function)))
            }
            TriggerKind::Storage | TriggerKind::Queue => {
                self.trigger_hub()
                    .await?
                    .trigger(function, kind, platform.invoke_url(function))
                    .await?
            }
        })
    }

    async fn instances_now(&self, function: &str) -> Result<Option<InstanceCount>> {
        let platform = self.platform().await?;
        let (busy, idle, queued) = platform.counts(function)?;
        Ok(Some(InstanceCount {
            live: (busy + idle) as u64,
            busy: busy as u64,
            queued: queued as u64,
        }))
    }

    async fn enforce_cold_start(&self, functions: &[String]) -> Result<()> {
        let platform = self.platform().await?;
        for name in functions {
            platform.enforce_cold_start(name)?;
        }
        Ok(())
    }

    async fn provider_metrics(
        &self,
        deployment: &Value,
        request_ids: &[String],
    ) -> Result<HashMap<String, ProviderMetrics>> {
        let log = deployment["resources"]["metrics-log"]
            .as_str()
            .map(PathBuf::from)
            .unwrap_or_else(|| metrics_log(&self.0.cache_dir));
        let reports = sebs_local::metrics::read_log(&log).with_context(|| {
            format!(
                "failed to read the local platform's metrics log {}; it is written while invoking (pass --cache if the run used another cache directory)",
                log.display()
            )
        })?;
        let wanted: std::collections::HashSet<&str> =
            request_ids.iter().map(String::as_str).collect();
        Ok(reports
            .iter()
            .filter(|r| wanted.contains(r.request_id.as_str()))
            .map(|r| (r.request_id.clone(), ProviderMetrics::from(r)))
            .collect())
    }

    async fn resources(&self) -> Result<Vec<Resource>> {
        Ok(self
            .0
            .created
            .lock()
            .expect("lock")
            .iter()
            .map(|name| Resource::function(name))
            .collect())
    }

    async fn remove(&self, functions: &[String]) -> Result<()> {
        let platform = self.platform().await?;
        for name in functions {
            platform.remove(name)?;
            self.0.created.lock().expect("lock").remove(name);
        }
        Ok(())
    }

    async fn shutdown(self: Box<Self>) {
        // With other clones alive, the last one to go stops the platform when it is dropped.
        if let Ok(inner) = Arc::try_unwrap(self.0)
            && let Some(platform) = inner.platform.into_inner()
        {
            platform.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_local_keys_reach_the_platform_config() {
        let config: LocalDeploymentConfig = serde_json::from_value(json!({
            "keep-alive": 2.5, "output-cap-kib": 16, "header-read-timeout": 5,
            "idle-timeout": 7.5, "max-connections": 40, "busy-poll-us": 0
        }))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let platform = platform_config(&config, dir.path()).unwrap();
        assert_eq!(platform.keep_alive, Duration::from_millis(2500));
        assert_eq!(platform.output_cap, 16 * 1024);
        assert_eq!(platform.header_read_timeout, Duration::from_secs(5));
        assert_eq!(platform.idle_timeout, Duration::from_millis(7500));
        assert_eq!(platform.max_connections, Some(40));
        assert_eq!(platform.busy_poll, Duration::ZERO);
        let defaults = platform_config(&LocalDeploymentConfig::default(), dir.path()).unwrap();
        assert_eq!(defaults.output_cap, PlatformConfig::default().output_cap);
    }
}
