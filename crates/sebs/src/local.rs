//! Glue between the settings and the local platform: platform and function configuration from
//! `deployment.local` and flags, and what results record about the deployment.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use sebs_core::config::ColdStartMode;
use sebs_local::{FunctionSpec, LocalPlatform, PlatformConfig};
use serde_json::{Value, json};

use crate::cli::LocalPlatformArgs;
use crate::invoke::Prepared;
use crate::settings::Settings;

fn seconds(value: f64, what: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        anyhow::anyhow!("invalid {what} `{value}`: expected a non-negative number of seconds")
    })
}

/// The platform settings: `deployment.local`, then flags.
pub fn platform_config(settings: &Settings, args: &LocalPlatformArgs) -> Result<PlatformConfig> {
    let local = &settings.config.deployment.local;
    let mut config = PlatformConfig::default();
    if let Some(k) = args.keep_alive.or(local.keep_alive) {
        config.keep_alive = seconds(k, "keep-alive")?;
    }
    if let Some(c) = args.concurrency_limit.or(local.concurrency_limit) {
        config.concurrency = c.max(1);
    }
    if let Some(q) = local.queue_size {
        config.queue = q;
    }
    if let Some(mode) = args.cold_start.or(local.cold_start) {
        config.cold_start = mode;
    }
    config.cpu_share = args.cpu_share || local.cpu_share.unwrap_or(false);
    config.cgroups = local.cgroups.unwrap_or(true);
    if let Some(p) = local.pids_limit {
        config.pids = Some(p);
    }
    config.namespaces = args.namespaces || local.namespaces.unwrap_or(false);
    if config.namespaces {
        // Instance directories outside /tmp, so a private /tmp can be mounted over it.
        config.work_dir = Some(
            std::path::absolute(&settings.cache_dir)?
                .join("local")
                .join("run"),
        );
    }
    if let Some(us) = args.busy_poll_us.or(local.busy_poll_us) {
        config.busy_poll = Duration::from_micros(us);
    }
    config.metrics_log = Some(metrics_log(&settings.cache_dir));
    Ok(config)
}

/// Where the local platform appends its invocation records (its "CloudWatch Logs").
pub fn metrics_log(cache: &Path) -> std::path::PathBuf {
    let dir = std::path::absolute(cache).unwrap_or_else(|_| cache.to_owned());
    dir.join("local").join("metrics.jsonl")
}

/// The function as deployed: the package, its storage environment, and per-function overrides
/// from `deployment.local.functions.<function name | benchmark id>`.
pub(crate) fn function_spec(
    prepared: &Prepared,
    name: &str,
    memory: u64,
    timeout: u64,
) -> Result<FunctionSpec> {
    let settings = &prepared.settings;
    let benchmark_id = prepared.benchmark.id.as_str();
    let hash = prepared.package.hash.as_str();
    let code_dir = std::path::absolute(&prepared.package.dir)?;
    let mut spec = match &settings.node {
        Some(node) => FunctionSpec::node(
            name,
            code_dir,
            node.path.clone(),
            memory,
            Duration::from_secs(timeout),
        ),
        None => FunctionSpec::python(
            name,
            code_dir,
            settings.python.path.clone(),
            memory,
            Duration::from_secs(timeout),
        ),
    };
    spec.env = prepared.function_env.clone();
    spec.code_hash = hash.to_owned();
    spec.network = settings.config.deployment.local.network.unwrap_or(true);
    let functions = &settings.config.deployment.local.functions;
    if let Some(f) = functions.get(name).or_else(|| functions.get(benchmark_id)) {
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

/// `config.deployment` recorded in results: what describes the platform, never secrets.
pub fn deployment_record(
    settings: &Settings,
    platform: &LocalPlatform,
    spec: &FunctionSpec,
) -> Value {
    let config = platform.config();
    let requested: ColdStartMode = spec.cold_start.unwrap_or(config.cold_start);
    let cold_start = spec.effective_cold_start(config.cold_start);
    let mut record = json!({
        "name": "local",
        "region": "",
        "credentials": {},
        "resources": {
            "endpoint": platform.endpoint(),
            "interpreter": settings.function_interpreter(),
            "cold-start": cold_start.as_str(),
            "keep-alive": spec.keep_alive.unwrap_or(config.keep_alive).as_secs_f64(),
            "concurrency-limit": spec.concurrency.unwrap_or(config.concurrency),
            "limits": platform.limits().describe(),
            "isolation": platform.isolation().describe(),
            "network": spec.network,
            "cpu-share": config.cpu_share,
            "busy-poll-us": config.busy_poll.as_micros() as u64,
            "metrics-log": platform.metrics_log(),
        },
    });
    if requested != cold_start {
        record["resources"]["cold-start-note"] = json!(format!(
            "{} cold starts were requested, but they are for Python functions only: {} instances start with {}",
            requested.as_str(),
            settings.language,
            cold_start.as_str()
        ));
    }
    record
}
