//! `sebs benchmark invoke`: input → package → deploy → invoke N times → `experiments.json`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sebs_build::BuildRequest;
use sebs_core::cache::Cache;
use sebs_core::catalogue::{
    Benchmark, Catalogue, DriverStorage, GeneratedInput, InputScript, Size,
};
use sebs_core::fsutil::{human_size, write_json_atomic};
use sebs_core::result::{ExecutionResult, ExperimentResult, Validation};
use sebs_local::LocalPlatform;
use serde_json::Value;

use crate::cli::{CommonArgs, InvokeArgs, LocalPlatformArgs, PackageArgs, Trigger};
use crate::local;
use crate::settings::Settings;
use crate::storage_setup::{self, RunStorage};
use crate::summary;
use crate::trigger::{self, Via};

/// Exit status when some invocations failed or did not validate.
pub const EXIT_FAILED_INVOCATIONS: i32 = 3;
/// Exit status after Ctrl-C (results so far are written).
pub const EXIT_INTERRUPTED: i32 = 130;

/// The benchmark, its input, its storage and its package: everything prepared before deploying.
pub(crate) struct Prepared {
    pub(crate) settings: Settings,
    pub(crate) benchmark: Benchmark,
    pub(crate) generated: GeneratedInput,
    pub(crate) package: sebs_build::Package,
    /// Storage the benchmark uses (embedded servers are stopped by `shutdown`).
    pub(crate) storage: Option<RunStorage>,
    /// The benchmarks-data directory, if the benchmark needs data.
    pub(crate) data_dir: Option<PathBuf>,
    /// Storage endpoints and credentials for the function (never logged or recorded).
    pub(crate) function_env: std::collections::BTreeMap<String, String>,
}

impl Prepared {
    /// Stop what `prepare` started (embedded storage servers).
    pub(crate) async fn shutdown(self) {
        if let Some(storage) = self.storage {
            storage.shutdown().await;
        }
    }
}

/// Resolve settings, benchmark and size, set up storage, generate (and upload) the input and
/// build the package. Everything that can be wrong with the request is checked before anything
/// is built or written.
pub(crate) async fn prepare(
    common: &CommonArgs,
    benchmark: &str,
    size: &str,
    function_name: Option<&str>,
    storage_configuration: &[PathBuf],
    shared_storage: Option<&sebs_storage::StorageConfig>,
) -> Result<(Prepared, Size)> {
    let settings = Settings::resolve(common)?;
    let size: Size = size.parse()?;
    let benchmark = find_benchmark(&settings, benchmark)?;
    if let Some(name) = function_name
        && (name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
    {
        anyhow::bail!(
            "invalid --function-name `{name}`: use letters, digits, `-`, `_` and `.` only"
        );
    }
    let storage =
        RunStorage::prepare(&settings, &benchmark, storage_configuration, shared_storage).await?;
    let data_dir = storage_setup::data_dir(&settings, &benchmark).await?;
    let bucket = storage_setup::benchmarks_bucket();
    let generated = tokio::task::block_in_place(|| {
        InputScript {
            benchmark: &benchmark,
            python: &settings.python,
            data_dir: data_dir.as_deref(),
            cache_dir: Some(&settings.cache_dir),
        }
        .generate_with_storage(
            size,
            Some(&bucket),
            storage.as_ref().map(RunStorage::driver).as_ref(),
        )
    })?;
    if storage.is_none() && (!generated.uploads.is_empty() || !generated.nosql_writes.is_empty()) {
        anyhow::bail!(
            "benchmark {} uploads inputs or writes NoSQL items but its config.json lists no `modules`; add \"storage\" and/or \"nosql\" to `modules`",
            benchmark.id
        );
    }
    if generated.uploaded + generated.skipped > 0 {
        tracing::info!(
            "inputs in bucket {bucket}: {} uploaded, {} already present{}",
            generated.uploaded,
            generated.skipped,
            if generated.skipped > 0 {
                " (pass --update-storage to upload them again)"
            } else {
                ""
            }
        );
    }
    let function_env = storage
        .as_ref()
        .map(|s| s.function_env(&generated.nosql_table_names))
        .unwrap_or_default();
    let package = tokio::task::block_in_place(|| build_package(&settings, &benchmark))?;
    Ok((
        Prepared {
            settings,
            benchmark,
            generated,
            package,
            storage,
            data_dir,
            function_env,
        },
        size,
    ))
}

fn build_package(settings: &Settings, benchmark: &Benchmark) -> Result<sebs_build::Package> {
    let cache = Cache::new(&settings.cache_dir);
    let package = sebs_build::build(
        &cache,
        &BuildRequest {
            benchmark,
            language: settings.language,
            python: &settings.python,
            node: settings.node.as_ref(),
            platform: "local",
            architecture: settings.config.experiments.architecture,
            force: settings.config.experiments.update_code,
        },
    )
    .with_context(|| format!("failed to build the code package of {}", benchmark.id))?;
    if package.reused {
        tracing::info!(
            "reusing the cached code package of {} (hash {}, {}): sources unchanged; pass --update-code to rebuild",
            benchmark.id,
            &package.hash[..8],
            human_size(package.size)
        );
    } else {
        tracing::info!(
            "built the code package of {} (hash {}, {}) in {}",
            benchmark.id,
            &package.hash[..8],
            human_size(package.size),
            package.dir.display()
        );
    }
    Ok(package)
}

fn find_benchmark(settings: &Settings, name: &str) -> Result<Benchmark> {
    let catalogue = Catalogue::open(&settings.benchmarks_dir)?;
    let benchmark = catalogue.find(name)?;
    benchmark.language_dir(settings.language)?;
    Ok(benchmark)
}

/// `sebs benchmark package`.
pub fn package(args: &PackageArgs) -> Result<i32> {
    let settings = Settings::resolve(&args.common)?;
    let benchmark = find_benchmark(&settings, &args.benchmark)?;
    let package = build_package(&settings, &benchmark)?;
    println!("{}\t{}", package.dir.display(), human_size(package.size));
    Ok(0)
}

/// Default function name on the local platform (SeBS: `sebs-<rid>-<benchmark>-<lang>-<ver>`).
pub(crate) fn function_name(prepared: &Prepared) -> String {
    format!(
        "sebs-local-{}-{}-{}",
        prepared.benchmark.id,
        prepared.settings.language,
        prepared.settings.language_version()
    )
}

/// `sebs benchmark invoke`.
pub async fn invoke(args: &InvokeArgs) -> Result<i32> {
    let (prepared, size) = prepare(
        &args.common,
        &args.benchmark,
        &args.size,
        args.function_name.as_deref(),
        &args.storage_configuration,
        None,
    )
    .await?;
    let memory = args.memory.unwrap_or(prepared.benchmark.config.memory);
    let timeout = args.timeout.unwrap_or(prepared.benchmark.config.timeout);
    let name = args
        .function_name
        .clone()
        .unwrap_or_else(|| function_name(&prepared));
    let deployed = deploy(&prepared, &args.local, &name, memory, timeout, args.trigger).await?;
    tracing::info!(
        "deployed {name} ({memory} MB, {timeout} s timeout) on the local platform; invoking {} times through the {} trigger",
        args.repetitions,
        args.trigger.as_str()
    );

    let mut experiment = ExperimentResult {
        begin_time: epoch_now(),
        config: result_config(&prepared.settings, deployed.deployment.clone()),
        ..Default::default()
    };
    let mut interrupted = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    for i in 0..args.repetitions {
        let result = tokio::select! {
            r = invoke_once(&prepared, &deployed, args.validate) => r,
            _ = &mut ctrl_c => { interrupted = true; break; }
        };
        log_invocation(i + 1, args.repetitions, &result);
        experiment.add(&name, result);
    }
    let platform = deployed.platform;
    experiment.end_time = epoch_now();
    platform.shutdown().await;
    let settings_output = prepared.settings.output_dir.clone();
    let (benchmark_id, language, full_version) = (
        prepared.benchmark.id.clone(),
        prepared.settings.language,
        prepared.settings.language_full_version().to_owned(),
    );
    prepared.shutdown().await;
    let path = write_results(&settings_output, &experiment)?;
    let title = format!(
        "{} ({size}) on local, {} {}, {} trigger, {} cold starts",
        benchmark_id,
        language,
        full_version,
        args.trigger.as_str(),
        experiment.config["deployment"]["resources"]["cold-start"]
            .as_str()
            .unwrap_or("exec"),
    );
    print!("{}", summary::invocation_summary(&title, &experiment));
    println!("results: {}", path.display());
    if interrupted {
        tracing::warn!(
            "interrupted: the invocations completed so far are saved in {}",
            path.display()
        );
        return Ok(EXIT_INTERRUPTED);
    }
    let failed = experiment
        .ordered()
        .iter()
        .filter(|(_, r)| !r.succeeded())
        .count();
    if failed > 0 {
        tracing::warn!(
            "{failed} of {} invocations failed; see `error` in {}",
            args.repetitions,
            path.display()
        );
        return Ok(EXIT_FAILED_INVOCATIONS);
    }
    Ok(0)
}

/// A function deployed on a local platform started for this run.
pub(crate) struct Deployed {
    /// The platform (shut it down when done).
    pub(crate) platform: LocalPlatform,
    /// The function's name.
    pub(crate) name: String,
    url: String,
    via: Via,
    /// `config.deployment` for results.
    pub(crate) deployment: Value,
}

/// Start a local platform and deploy the prepared package on it as `name`.
pub(crate) async fn deploy(
    prepared: &Prepared,
    local: &LocalPlatformArgs,
    name: &str,
    memory: u64,
    timeout: u64,
    trigger: Trigger,
) -> Result<Deployed> {
    let platform = LocalPlatform::with_config(local::platform_config(&prepared.settings, local)?)
        .await
        .context("failed to start the local platform")?;
    let spec = local::function_spec(prepared, name, memory, timeout)?;
    let deployment = local::deployment_record(&prepared.settings, &platform, &spec);
    platform.deploy(spec).await;
    let (url, via) = match trigger {
        Trigger::Http => (platform.function_url(name), Via::Http),
        Trigger::Library => (platform.invoke_url(name), Via::Library),
    };
    Ok(Deployed {
        platform,
        name: name.to_owned(),
        url,
        via,
        deployment,
    })
}

/// Invoke the deployed function once with the prepared input; with `validate`, check a
/// successful result with the benchmark's `validate_output`. Failures are recorded, not raised.
pub(crate) async fn invoke_once(
    prepared: &Prepared,
    deployed: &Deployed,
    validate: bool,
) -> ExecutionResult {
    let mut result = trigger::invoke(&deployed.url, deployed.via, &prepared.generated.input).await;
    if validate && !result.stats.failure {
        let validator = InputScript {
            benchmark: &prepared.benchmark,
            python: &prepared.settings.python,
            data_dir: prepared.data_dir.as_deref(),
            cache_dir: Some(&prepared.settings.cache_dir),
        };
        let storage = prepared.storage.as_ref().map(RunStorage::driver);
        result.validation = Some(tokio::task::block_in_place(|| {
            check(
                &validator,
                storage.as_ref(),
                &prepared.generated.input,
                &result,
                prepared.settings.language,
            )
        }));
    }
    result
}

fn check(
    validator: &InputScript<'_>,
    storage: Option<&DriverStorage<'_>>,
    input: &Value,
    result: &ExecutionResult,
    language: sebs_core::config::Language,
) -> Validation {
    match validator.validate_with_storage(input, &result.output, language, storage) {
        Ok(None) => Validation {
            passed: true,
            message: None,
        },
        Ok(Some(reason)) => Validation {
            passed: false,
            message: Some(reason),
        },
        Err(e) => Validation {
            passed: false,
            message: Some(e.to_string()),
        },
    }
}

fn log_invocation(i: u64, n: u64, r: &ExecutionResult) {
    let client = summary::format_us(r.times.client as f64);
    if let Some(error) = &r.error {
        let first = error.message.lines().next().unwrap_or("");
        tracing::warn!(
            "invocation {i}/{n} failed after {client}: {}: {first}",
            error.kind
        );
        return;
    }
    let kind = if r.stats.cold_start { "cold" } else { "warm" };
    let validation = match &r.validation {
        Some(v) if v.passed => ", valid".to_owned(),
        Some(v) => format!(", INVALID: {}", v.message.as_deref().unwrap_or("")),
        None => String::new(),
    };
    tracing::info!(
        "invocation {i}/{n}: {kind}, client {client}, function {}{validation}",
        summary::format_us(r.times.benchmark as f64)
    );
}

pub(crate) fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The `config` recorded in results: experiments settings and the non-secret deployment.
pub(crate) fn result_config(settings: &Settings, deployment: Value) -> Value {
    sebs_core::result::sebs_config_block(
        &settings.config.experiments,
        settings.language.as_str(),
        settings.language_version(),
        deployment,
    )
}

fn write_results(dir: &Path, experiment: &ExperimentResult) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("failed to create the output directory {}", dir.display()))?;
    let path = dir.join("experiments.json");
    write_json_atomic(&path, experiment)
        .with_context(|| format!("failed to write {}", path.display()))?;
    Ok(path)
}
