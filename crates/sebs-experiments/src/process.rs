//! Processing: provider metrics (billing, provider times, memory) filled into result files by
//! the platform that measured them, whatever the platform.

use std::path::{Path, PathBuf};

use anyhow::Result;
use sebs_core::config::{DeploymentConfig, UserConfig};
use sebs_core::fsutil::write_json_atomic;
use sebs_core::result::ExperimentResult;

/// Where processing reads from and what it may need to reach the provider.
#[derive(Debug, Clone)]
pub struct ProcessContext {
    /// The run's `--output-dir`.
    pub output_dir: PathBuf,
    /// The run's cache directory (the local platform's metrics log is there unless the results
    /// name it).
    pub cache_dir: PathBuf,
    /// The deployment section of `--config` (credentials and regions of cloud platforms);
    /// defaults when no config was given.
    pub deployment: DeploymentConfig,
}

impl ProcessContext {
    /// A context from the command's options; `config` is the SeBS user config, if given.
    pub fn new(output_dir: &Path, cache_dir: &Path, config: Option<&Path>) -> Result<Self> {
        let deployment = match config {
            Some(path) => sebs_platforms::settings::load_config(Some(path))?.deployment,
            None => UserConfig::default().deployment,
        };
        Ok(ProcessContext {
            output_dir: output_dir.to_owned(),
            cache_dir: cache_dir.to_owned(),
            deployment,
        })
    }
}

/// Fill the provider metrics of every invocation of `experiment` from the platform named in its
/// deployment record; returns `(filled, missing)`.
pub async fn fill_provider_metrics(
    experiment: &mut ExperimentResult,
    ctx: &ProcessContext,
) -> Result<(usize, usize)> {
    let record = experiment.config["deployment"].clone();
    let name = record["name"].as_str().unwrap_or("local");
    let platform = sebs_platforms::factory::create_named(name, &ctx.deployment, &ctx.cache_dir)?;
    let ids = sebs_report::request_ids(experiment);
    let metrics = platform.provider_metrics(&record, &ids).await?;
    platform.shutdown().await;
    Ok(sebs_report::fill(experiment, &metrics))
}

/// `sebs benchmark process`: `<output-dir>/experiments.json` → `<output-dir>/results.json` with
/// provider metrics; returns the written path and `(filled, missing)`.
pub async fn process_benchmark(ctx: &ProcessContext) -> Result<(PathBuf, usize, usize)> {
    let input = ctx.output_dir.join("experiments.json");
    let mut experiment = ExperimentResult::load(&input)?;
    let (filled, missing) = fill_provider_metrics(&mut experiment, ctx).await?;
    if missing > 0 {
        tracing::warn!(
            "{missing} invocation(s) have no provider record (failed before reaching the platform?)"
        );
    }
    let output = ctx.output_dir.join("results.json");
    write_json_atomic(&output, &experiment)
        .map_err(|e| anyhow::anyhow!("failed to write {}: {e}", output.display()))?;
    Ok((output, filled, missing))
}
