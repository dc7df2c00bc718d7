//! The one pipeline every command runs: settings → benchmark → storage and input → the package
//! for the platform's target → create or update the function → a trigger. Only the
//! [`Platform`] varies.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use sebs_core::cache::Cache;
use sebs_core::catalogue::{Benchmark, Catalogue, GeneratedInput, InputScript, Size};
use sebs_core::fsutil::human_size;
use sebs_core::result::{ExecutionResult, Validation};
use serde_json::Value;

use crate::platform::{FunctionConfig, PackageTarget, Platform, Trigger, TriggerKind};
use crate::settings::{RunOptions, Settings};
use crate::storage::{self, RunStorage};

/// What to prepare: a benchmark at an input size, and where its storage is.
#[derive(Debug, Clone, Default)]
pub struct PrepareRequest<'a> {
    /// Benchmark id, name or number.
    pub benchmark: &'a str,
    /// Input size (`test`, `small`, `large`).
    pub size: &'a str,
    /// `--storage-configuration` files.
    pub storage_configuration: &'a [PathBuf],
    /// Storage already running for several runs (the regression's); replaces configured
    /// sections.
    pub shared_storage: Option<&'a sebs_storage::StorageConfig>,
}

/// A benchmark prepared on a platform: its input generated (and uploaded), its package built for
/// the platform's target, its storage running. Functions are deployed from it.
pub struct Session {
    /// The effective settings.
    pub settings: Settings,
    /// The benchmark.
    pub benchmark: Benchmark,
    /// The input size.
    pub size: Size,
    /// The generated input (`.input` is what functions are invoked with).
    pub generated: GeneratedInput,
    /// The code package.
    pub package: sebs_build::Package,
    /// The architecture the package was built for.
    pub package_architecture: sebs_core::config::Architecture,
    /// The platform functions are deployed on.
    pub platform: Box<dyn Platform>,
    storage: Option<RunStorage>,
    data_dir: Option<PathBuf>,
    function_env: BTreeMap<String, String>,
    /// Whether `input.py` defines `validate_output` (SeBS 1.2.0's benchmarks do not).
    has_validator: bool,
    /// Said once per session that outputs are not validated.
    warned_no_validator: std::sync::atomic::AtomicBool,
    /// A workflow benchmark's definition.
    workflow: Option<sebs_workflows::Definition>,
    /// Workflows deployed so far, by name: `trigger` and `enforce_cold_start` reach their
    /// functions through them.
    workflows: std::sync::Mutex<BTreeMap<String, crate::workflow::WorkflowSpec>>,
}

impl Session {
    /// Resolve the settings, create the platform, set up storage, generate (and upload) the
    /// input and build the package. Everything that can be wrong with the request is checked
    /// before anything is built or written.
    pub async fn start(options: &RunOptions, request: &PrepareRequest<'_>) -> Result<Session> {
        let settings = Settings::resolve(options)?;
        let platform = crate::factory::create(&settings)?;
        Self::start_on(settings, platform, request).await
    }

    /// Like [`Session::start`], on a platform the caller created (the tests' fake platform).
    pub async fn start_on(
        settings: Settings,
        platform: Box<dyn Platform>,
        request: &PrepareRequest<'_>,
    ) -> Result<Session> {
        let size: Size = request.size.parse()?;
        let benchmark = find_benchmark(&settings, request.benchmark)?;
        let resources_id = platform.resources_id().to_owned();
        let storage = RunStorage::prepare(
            &settings,
            &benchmark,
            request.storage_configuration,
            request.shared_storage,
            platform.as_ref(),
        )
        .await?;
        let data_dir = storage::data_dir(&settings, &benchmark).await?;
        let bucket = storage::benchmarks_bucket(&resources_id);
        let generated = run_blocking(|| {
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
        if storage.is_none()
            && (!generated.uploads.is_empty() || !generated.nosql_writes.is_empty())
        {
            anyhow::bail!(
                "benchmark {} uploads inputs or writes NoSQL items but its config.json lists no `modules`; add \"storage\" and/or \"nosql\" to `modules`",
                benchmark.id
            );
        }
        log_uploads(&generated, &bucket);
        let function_env = storage
            .as_ref()
            .map(|s| s.function_env(&generated.nosql_table_names))
            .unwrap_or_default();
        let workflow = load_workflow(&benchmark)?;
        let has_validator = defines_validate_output(&benchmark);
        let target = platform.package_target(settings.config.experiments.architecture);
        let package = run_blocking(|| build_package(&settings, &benchmark, &target))?;
        Ok(Session {
            settings,
            benchmark,
            size,
            generated,
            package,
            package_architecture: target.architecture,
            platform,
            storage,
            data_dir,
            function_env,
            has_validator,
            warned_no_validator: Default::default(),
            workflow,
            workflows: Default::default(),
        })
    }

    /// The default function name (SeBS: `sebs-<resources id>-<benchmark>-<language>-<version>`,
    /// in the characters the platform allows).
    pub fn default_function_name(&self) -> String {
        self.platform.format_function_name(&format!(
            "sebs-{}-{}-{}-{}",
            self.platform.resources_id(),
            self.benchmark.id,
            self.settings.language,
            self.settings.language_version()
        ))
    }

    /// The prepared package as function `name` with `memory_mb` and `timeout_s`.
    pub fn function_config(&self, name: &str, memory_mb: u64, timeout_s: u64) -> FunctionConfig {
        FunctionConfig {
            name: name.to_owned(),
            benchmark: self.benchmark.id.clone(),
            language: self.settings.language,
            language_version: self.settings.language_version().to_owned(),
            interpreter: self.settings.function_interpreter().to_owned(),
            architecture: self.package_architecture,
            code_dir: self.package.dir.clone(),
            code_hash: self.package.hash.clone(),
            code_size: self.package.size,
            memory_mb,
            timeout_s,
            env: self.function_env.clone(),
        }
    }

    /// Create or update function `name` with `memory_mb` (the benchmark's timeout); returns its
    /// deployment record.
    pub async fn deploy(&self, name: &str, memory_mb: u64) -> Result<Value> {
        let function = self.function_config(name, memory_mb, self.benchmark.config.timeout);
        self.deploy_config(&function).await
    }

    /// Create or update a function described in full (e.g. another code directory). For a
    /// workflow benchmark, `function` names the workflow: each of its functions is deployed as
    /// `<name>-<func_name>` with `function`'s settings, and [`Session::trigger`] of `name` then
    /// runs whole requests.
    pub async fn deploy_config(&self, function: &FunctionConfig) -> Result<Value> {
        if let Some(definition) = &self.workflow {
            let (spec, record) = crate::workflow::deploy(
                self.platform.as_ref(),
                &self.settings,
                definition,
                function,
            )
            .await
            .with_context(|| {
                format!(
                    "failed to deploy workflow {} on {}",
                    function.name,
                    self.platform.name()
                )
            })?;
            self.workflows
                .lock()
                .expect("the workflows lock is never poisoned")
                .insert(function.name.clone(), spec);
            return Ok(record);
        }
        self.platform
            .create_or_update(function)
            .await
            .with_context(|| {
                format!(
                    "failed to deploy {} on {}",
                    function.name,
                    self.platform.name()
                )
            })
    }

    /// A trigger of a deployed function, or of a deployed workflow (one invocation: one
    /// request of the whole workflow, see [`crate::workflow`]).
    pub async fn trigger(&self, name: &str, kind: TriggerKind) -> Result<Arc<dyn Trigger>> {
        let spec = self.workflow_spec(name);
        match spec {
            Some(spec) => crate::workflow::trigger(self.platform.as_ref(), &spec, kind).await,
            None => self.platform.trigger(name, kind).await,
        }
    }

    /// The deployed workflow named `name`, if it is one.
    pub fn workflow_spec(&self, name: &str) -> Option<crate::workflow::WorkflowSpec> {
        self.workflows
            .lock()
            .expect("the workflows lock is never poisoned")
            .get(name)
            .cloned()
    }

    /// Make the next invocation of each function cold; a workflow's name stands for all of
    /// its functions.
    pub async fn enforce_cold_start(&self, names: &[String]) -> Result<()> {
        let mut all = Vec::new();
        for name in names {
            match self.workflow_spec(name) {
                Some(spec) => all.extend(spec.functions.into_values()),
                None => all.push(name.clone()),
            }
        }
        self.platform.enforce_cold_start(&all).await
    }

    /// Check a successful result with the benchmark's `validate_output` and record the verdict
    /// in `result.validation`; failed invocations are left as they are.
    ///
    /// A benchmark whose `input.py` has no `validate_output` (SeBS 1.2.0's: SeBS added it later)
    /// cannot be validated: that is said once, and its results are left without a verdict.
    pub async fn validate(&self, result: &mut ExecutionResult) {
        if result.stats.failure {
            return;
        }
        if !self.has_validator {
            if !self
                .warned_no_validator
                .swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::warn!(
                    "{}: input.py has no validate_output() (SeBS's benchmarks have one since after SeBS 1.2.0), so outputs are not validated; add one to check them",
                    self.benchmark.id
                );
            }
            return;
        }
        let validator = InputScript {
            benchmark: &self.benchmark,
            python: &self.settings.python,
            data_dir: self.data_dir.as_deref(),
            cache_dir: Some(&self.settings.cache_dir),
        };
        let storage = self.storage.as_ref().map(RunStorage::driver);
        let verdict = run_blocking(|| {
            validator.validate_with_storage(
                &self.generated.input,
                &result.output,
                self.settings.language,
                storage.as_ref(),
            )
        });
        result.validation = Some(match verdict {
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
        });
    }

    /// The `config` block of result files: the experiments settings and the deployment record.
    pub fn result_config(&self, deployment: Value) -> Value {
        self.settings.result_config(deployment)
    }

    /// Stop the platform's local parts and the storage servers this session started.
    pub async fn shutdown(self) {
        self.platform.shutdown().await;
        if let Some(storage) = self.storage {
            storage.shutdown().await;
        }
    }
}

/// Run blocking work (input scripts, package builds, file copies) from async code: through
/// `block_in_place` on a multi-threaded runtime, so other tasks keep running; inline on a
/// current-thread runtime (where `block_in_place` panics), e.g. a test on tokio's paused clock.
pub fn run_blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// A workflow benchmark's definition, checked, with a source file for every function.
fn load_workflow(benchmark: &Benchmark) -> Result<Option<sebs_workflows::Definition>> {
    if !benchmark.is_workflow() {
        return Ok(None);
    }
    let definition = sebs_workflows::Definition::load(&benchmark.definition_path())?;
    for func_name in definition.functions() {
        let file = benchmark.dir.join("python").join(format!("{func_name}.py"));
        if !file.is_file() {
            anyhow::bail!(
                "workflow {}: definition.json invokes function `{func_name}` but {} does not exist; add it with a handler(event)",
                benchmark.id,
                file.display()
            );
        }
    }
    Ok(Some(definition))
}

/// Whether the benchmark's `input.py` defines `validate_output` at module level.
fn defines_validate_output(benchmark: &Benchmark) -> bool {
    std::fs::read_to_string(benchmark.dir.join("input.py")).is_ok_and(|text| {
        text.lines().any(|line| {
            line.starts_with("def validate_output(")
                || line.starts_with("async def validate_output(")
        })
    })
}

fn log_uploads(generated: &GeneratedInput, bucket: &str) {
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
}

/// Build the package of `benchmark` for `target`, or reuse the cached one.
pub fn build_package(
    settings: &Settings,
    benchmark: &Benchmark,
    target: &PackageTarget,
) -> Result<sebs_build::Package> {
    let cache = Cache::new(&settings.cache_dir);
    let package = sebs_build::build(
        &cache,
        &sebs_build::BuildRequest {
            benchmark,
            language: settings.language,
            python: &settings.python,
            node: settings.node.as_ref(),
            platform: &target.layout,
            architecture: target.architecture,
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

/// Find `name` in the catalogue and check it has the settings' language.
pub fn find_benchmark(settings: &Settings, name: &str) -> Result<Benchmark> {
    let catalogue = Catalogue::open(&settings.benchmarks_dir)?;
    let benchmark = catalogue.find(name)?;
    benchmark.language_dir(settings.language)?;
    Ok(benchmark)
}

/// `sebs benchmark package`: build the package for the configured platform; returns it.
pub fn package(options: &RunOptions, benchmark: &str) -> Result<sebs_build::Package> {
    Ok(package_for_upload(options, benchmark)?.0)
}

/// [`package`], and for a platform that uploads zips (every layout but `local`) the zip too.
pub fn package_for_upload(
    options: &RunOptions,
    benchmark: &str,
) -> Result<(sebs_build::Package, Option<sebs_build::ZipArchive>)> {
    let settings = Settings::resolve(options)?;
    let platform = crate::factory::create(&settings)?;
    let benchmark = find_benchmark(&settings, benchmark)?;
    let target = platform.package_target(settings.config.experiments.architecture);
    let package = build_package(&settings, &benchmark, &target)?;
    let zip = if target.layout == "local" {
        None
    } else {
        Some(sebs_build::zip_package(&package)?)
    };
    Ok((package, zip))
}

impl Settings {
    /// The `config` recorded in results: the experiments settings (with the effective runtime)
    /// and the non-secret deployment record.
    pub fn result_config(&self, deployment: Value) -> Value {
        sebs_core::result::sebs_config_block(
            &self.config.experiments,
            self.language.as_str(),
            self.language_version(),
            deployment,
        )
    }
}
