//! `sebs benchmark process`: fill provider times, billing and memory from the platform's
//! invocation records, as SeBS does from CloudWatch for AWS.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sebs_core::fsutil::write_json_atomic;
use sebs_core::result::ExperimentResult;
use sebs_local::Report;

use crate::cli::ProcessArgs;

/// Fill `provider_times`, `billing` and `stats.memory_used` of every invocation that has a
/// record; returns `(filled, missing)`.
pub fn fill(
    experiment: &mut ExperimentResult,
    reports: &HashMap<String, Report>,
) -> (usize, usize) {
    let (mut filled, mut missing) = (0, 0);
    for invocations in experiment.invocations.values_mut() {
        for inv in invocations.values_mut() {
            let Some(report) = reports.get(&inv.request_id) else {
                missing += 1;
                continue;
            };
            inv.provider_times.execution = (report.duration_ms * 1000.0).round() as u64;
            inv.provider_times.initialization = report
                .init_duration_ms
                .map(|ms| (ms * 1000.0).round() as u64)
                .unwrap_or(0);
            inv.billing.billed_time = Some(report.billed_duration_ms);
            inv.billing.memory = Some(report.memory_size_mb);
            inv.billing.gb_seconds = report.gb_seconds();
            inv.stats.memory_used = report.max_memory_used_mb.map(|mb| mb as f64);
            filled += 1;
        }
    }
    (filled, missing)
}

/// The metrics log a result file points to, else the cache's.
pub fn metrics_log_of(experiment: &ExperimentResult, cache: &Path) -> PathBuf {
    experiment.config["deployment"]["resources"]["metrics-log"]
        .as_str()
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::local::metrics_log(cache))
}

/// Read the records of a metrics log, by request id.
pub fn read_reports(path: &Path) -> Result<HashMap<String, Report>> {
    let reports = sebs_local::metrics::read_log(path).with_context(|| {
        format!(
            "failed to read the local platform's metrics log {}; it is written while invoking (pass --cache if the run used another cache directory)",
            path.display()
        )
    })?;
    Ok(reports
        .into_iter()
        .map(|r| (r.request_id.clone(), r))
        .collect())
}

/// `sebs benchmark process`.
pub fn process(args: &ProcessArgs) -> Result<i32> {
    let input = args.output_dir.join("experiments.json");
    let mut experiment = ExperimentResult::load(&input)?;
    if experiment.config["deployment"]["name"]
        .as_str()
        .unwrap_or("local")
        != "local"
    {
        anyhow::bail!(
            "{} was measured on `{}`; this version of sebs processes local-platform results only",
            input.display(),
            experiment.config["deployment"]["name"]
        );
    }
    let log = metrics_log_of(&experiment, &args.cache);
    let reports = read_reports(&log)?;
    let (filled, missing) = fill(&mut experiment, &reports);
    if missing > 0 {
        tracing::warn!(
            "{missing} invocation(s) have no record in {} (failed before reaching the platform?)",
            log.display()
        );
    }
    let output = args.output_dir.join("results.json");
    write_json_atomic(&output, &experiment)
        .with_context(|| format!("failed to write {}", output.display()))?;
    println!(
        "{} ({filled} invocations with provider metrics, {missing} without)",
        output.display()
    );
    Ok(0)
}
