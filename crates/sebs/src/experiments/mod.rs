//! Experiments (SeBS contract §7): perf-cost, invocation-overhead, network-ping-pong and
//! eviction-model on the local platform, with crash-safe journals, resumable runs, processing and
//! statistics.

mod eviction_model;
mod histogram;
mod invocation_overhead;
mod journal;
mod network_ping_pong;
mod perf_cost;
mod progress;
mod udp;

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};
use sebs_core::result::{ExecutionResult, ExperimentResult};
use sebs_core::stats::{Summary, median_interval, t_interval};
use sebs_local::LocalPlatform;
use serde_json::{Value, json};

use crate::cli::{
    CommonArgs, ExperimentInvokeArgs, ExperimentKind, ExperimentProcessArgs,
    ExperimentStatisticsArgs, LocalPlatformArgs, OutputFormat,
};
use crate::invoke::{Prepared, function_name, prepare};
use crate::local;

pub use journal::Journal;

/// Exit status of an interrupted experiment.
pub const EXIT_INTERRUPTED: i32 = 130;

/// `sebs experiment invoke`.
pub async fn invoke(args: &ExperimentInvokeArgs) -> Result<i32> {
    match args.experiment {
        ExperimentKind::PerfCost => perf_cost::run(args).await,
        ExperimentKind::InvocationOverhead => invocation_overhead::run(args).await,
        ExperimentKind::NetworkPingPong => network_ping_pong::run(args).await,
        ExperimentKind::EvictionModel => eviction_model::run(args).await,
    }
}

/// `sebs experiment process`.
pub fn process(args: &ExperimentProcessArgs) -> Result<i32> {
    match args.experiment {
        ExperimentKind::PerfCost => perf_cost::process(args),
        ExperimentKind::InvocationOverhead => invocation_overhead::process(args),
        ExperimentKind::NetworkPingPong => network_ping_pong::process(args),
        ExperimentKind::EvictionModel => eviction_model::process(args),
    }
}

/// A benchmark deployed on a local platform for an experiment.
pub(crate) struct Deployed {
    pub(crate) prepared: Prepared,
    pub(crate) platform: LocalPlatform,
    pub(crate) base_name: String,
    pub(crate) local_args: LocalPlatformArgs,
}

impl Deployed {
    /// Prepare `benchmark` at `size` and start a platform (functions are deployed separately).
    pub(crate) async fn start(
        common: &CommonArgs,
        local_args: &LocalPlatformArgs,
        storage: &[std::path::PathBuf],
        benchmark: &str,
        size: &str,
    ) -> Result<Deployed> {
        let (prepared, _) = prepare(common, benchmark, size, None, storage, None).await?;
        let platform =
            LocalPlatform::with_config(local::platform_config(&prepared.settings, local_args)?)
                .await
                .context("failed to start the local platform")?;
        let base_name = function_name(&prepared);
        Ok(Deployed {
            prepared,
            platform,
            base_name,
            local_args: local_args.clone(),
        })
    }

    /// Deploy (or redeploy) function `name` with `memory` MB; returns its deployment record.
    pub(crate) async fn deploy(
        &self,
        name: &str,
        memory: u64,
        keep_alive: Option<f64>,
    ) -> Result<Value> {
        self.deploy_code(name, memory, keep_alive, None).await
    }

    /// Like `deploy`, from another code directory (`(directory, content hash)`), e.g. a copy of
    /// the package with extra files.
    pub(crate) async fn deploy_code(
        &self,
        name: &str,
        memory: u64,
        keep_alive: Option<f64>,
        code: Option<(&Path, &str)>,
    ) -> Result<Value> {
        let timeout = self.prepared.benchmark.config.timeout;
        let mut spec = local::function_spec(&self.prepared, name, memory, timeout)?;
        if let Some((dir, hash)) = code {
            spec.code_dir = std::path::absolute(dir)?;
            spec.code_hash = hash.to_owned();
        }
        if let Some(k) = keep_alive.or(self.local_args.keep_alive) {
            spec.keep_alive =
                Some(std::time::Duration::try_from_secs_f64(k).context("invalid keep-alive")?);
        }
        let record = local::deployment_record(&self.prepared.settings, &self.platform, &spec);
        self.platform.deploy(spec).await;
        Ok(record)
    }

    /// The `config` recorded in results.
    pub(crate) fn result_config(&self, deployment: Value) -> Value {
        crate::invoke::result_config(&self.prepared.settings, deployment)
    }

    pub(crate) async fn shutdown(self) {
        self.platform.shutdown().await;
        self.prepared.shutdown().await;
    }
}

/// Seconds since the epoch.
pub(crate) fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Client-time statistics with both confidence intervals, as a report and as text (ms).
pub(crate) fn client_statistics(samples: &[&ExecutionResult]) -> (Value, String) {
    let ms: Vec<f64> = samples
        .iter()
        .map(|r| r.times.client as f64 / 1000.0)
        .collect();
    let Some(s) = Summary::of(&ms) else {
        return (json!({"n": 0}), "no samples\n".into());
    };
    let mut text = format!(
        "n={} mean {:.3} ms, median {:.3} ms, std {:.3} ms, CV {:.1}%\n",
        s.n, s.mean, s.median, s.std, s.cv
    );
    let mut report = json!({"n": s.n, "mean_ms": s.mean, "median_ms": s.median, "std_ms": s.std, "cv_percent": s.cv});
    for level in [0.95, 0.99] {
        let key = format!("{}", (level * 100.0) as u32);
        if let Some(ci) = t_interval(&ms, level) {
            let _ = writeln!(
                text,
                "  Student-t CI {key}%: [{:.3}, {:.3}] ms (±{:.2}% of the mean)",
                ci.low, ci.high, ci.half_width_percent
            );
            report[format!("t_interval_{key}")] = json!(ci);
        }
        if let Some(ci) = median_interval(&ms, level) {
            let _ = writeln!(
                text,
                "  non-parametric CI {key}%: [{:.3}, {:.3}] ms (±{:.2}% of the median)",
                ci.low, ci.high, ci.half_width_percent
            );
            report[format!("median_interval_{key}")] = json!(ci);
        }
    }
    (report, text)
}

/// `sebs experiment statistics DIR`: for each `*processed*.json`, SeBS's statistics per
/// (type, memory) plus client-time confidence intervals.
pub fn statistics(args: &ExperimentStatisticsArgs) -> Result<i32> {
    let files = result_files(&args.dir, "experiment", |n| {
        n.ends_with(".json") && n.contains("processed")
    })?;
    if files.is_empty() {
        anyhow::bail!(
            "no processed results in {}; run `sebs experiment process` first",
            args.dir.display()
        );
    }
    let mut report = serde_json::Map::new();
    let mut text = String::new();
    for file in files {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let experiment = ExperimentResult::load(&file)?;
        let ok: Vec<&ExecutionResult> = experiment
            .invocations
            .values()
            .flat_map(|m| m.values())
            .filter(|r| !r.stats.failure)
            .collect();
        let (stats, lines) = client_statistics(&ok);
        let _ = writeln!(text, "{name}: {lines}");
        let provider: Vec<f64> = ok
            .iter()
            .map(|r| r.provider_times.execution as f64 / 1000.0)
            .collect();
        let function: Vec<f64> = ok
            .iter()
            .map(|r| r.times.benchmark as f64 / 1000.0)
            .collect();
        let mut entry = json!({"client": stats});
        for (label, values) in [("function_exec", function), ("provider_exec", provider)] {
            if let Some(s) = Summary::of(&values).filter(|s| s.max > 0.0) {
                let _ = writeln!(
                    text,
                    "  {label}: mean {:.3} ms, median {:.3} ms, std {:.3} ms, CV {:.1}%",
                    s.mean, s.median, s.std, s.cv
                );
                entry[label] = json!({"mean_ms": s.mean, "median_ms": s.median, "std_ms": s.std, "cv_percent": s.cv});
            }
        }
        report.insert(name, entry);
    }
    match args.output_format {
        OutputFormat::Text => print!("{text}"),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&Value::Object(report))?),
    }
    Ok(0)
}

/// Files of an experiment's directory whose names satisfy `keep`, sorted; the error says which
/// run to point at when the directory is missing.
pub(crate) fn result_files(
    dir: &Path,
    what: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| {
            format!(
                "failed to read {}; pass the --output-dir of the {what} run",
                dir.display()
            )
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| keep(&n.to_string_lossy())))
        .collect();
    files.sort();
    Ok(files)
}

/// Write `value` as SeBS JSON (sorted keys) atomically.
pub(crate) fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    sebs_core::fsutil::write_json_atomic(path, value)
        .with_context(|| format!("failed to write {}", path.display()))
}
