//! `sebs benchmark regression SIZE`: every benchmark × language of the catalogue, validated.
//!
//! The matrix comes from the catalogue: each benchmark's config.json `languages`, filtered by
//! `--benchmark-name` (substring of the id) and `--language`. Each test runs the same flow as
//! `benchmark invoke --validate` (prepare input and package, deploy on a local platform of its
//! own, invoke, validate) and records its outcome in
//! `<output-dir>/regression_<platform>_<benchmark>_<language>_<arch>.json`. A test that cannot
//! even be prepared (a language this build cannot run, a broken input.py, a failing pip install)
//! is a failed test with that reason, never a skipped one. Storage and the benchmark data are
//! set up once and shared by all tests; tests run `--jobs` at a time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use sebs_core::catalogue::{Benchmark, Catalogue};
use sebs_core::config::Language;
use sebs_core::fsutil::write_json_atomic;
use sebs_core::result::ExecutionResult;
use sebs_platforms::{PrepareRequest, RunOptions, Session, Settings, TriggerKind};
use sebs_storage::{EmbeddedOptions, EmbeddedStorage, Services, StorageConfig};
use serde::Serialize;
use serde_json::Value;

/// The cache SeBS's regression uses when `--cache` is left at its default.
pub const REGRESSION_CACHE: &str = "regression-cache";

/// One cell of the matrix.
#[derive(Debug, Clone)]
struct Test {
    benchmark: String,
    /// The name in config.json (may be one this build does not know).
    language: String,
    uses_storage: bool,
    uses_nosql: bool,
}

/// What one test wrote and printed.
#[derive(Debug, Serialize)]
struct Outcome {
    test: String,
    benchmark: String,
    language: String,
    language_version: Option<String>,
    architecture: String,
    deployment: String,
    size: String,
    trigger: &'static str,
    passed: bool,
    /// Why the test failed (None when it passed).
    reason: Option<String>,
    /// Wall time of the whole test (prepare, build, deploy, invoke, validate), seconds.
    seconds: f64,
    /// The function's input.
    input: Value,
    /// Every invocation with its output and validation.
    invocations: Vec<ExecutionResult>,
}

/// What `benchmark regression` was asked for.
#[derive(Debug, Clone)]
pub struct RegressionRequest {
    /// Common options (`cache_dir` `cache` becomes [`REGRESSION_CACHE`]; `language` restricts
    /// the matrix).
    pub options: RunOptions,
    /// Input size of every test.
    pub size: String,
    /// Only benchmarks whose id contains this.
    pub benchmark_name: Option<String>,
    /// Tests at a time.
    pub jobs: u64,
    /// Invocations per test.
    pub repetitions: u64,
    /// Trigger.
    pub trigger: TriggerKind,
    /// `--storage-configuration` files.
    pub storage_configuration: Vec<PathBuf>,
}

/// The regression's result.
#[derive(Debug, Clone)]
pub struct RegressionReport {
    /// The pass/fail table and the closing line, for stdout.
    pub text: String,
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
}

/// `sebs benchmark regression`: every benchmark × language, validated.
pub async fn regression(request: &RegressionRequest) -> Result<RegressionReport> {
    let started = Instant::now();
    let mut options = request.options.clone();
    if options.cache_dir == Path::new("cache") {
        options.cache_dir = PathBuf::from(REGRESSION_CACHE);
    }
    // The catalogue and defaults, resolved as Python (the language of each test is applied per
    // test, so a language this build cannot run fails its tests instead of the whole run).
    let base = Settings::resolve(&RunOptions {
        language: None,
        ..options.clone()
    })?;
    let size: sebs_core::catalogue::Size = request.size.parse()?;
    let tests = matrix(
        &base.benchmarks_dir,
        request.benchmark_name.as_deref(),
        options.language,
    )?;
    if tests.is_empty() {
        anyhow::bail!(
            "no benchmark in {} matches --benchmark-name {:?}{}; see `sebs benchmark list`",
            base.benchmarks_dir.display(),
            request.benchmark_name.as_deref().unwrap_or(""),
            options
                .language
                .map(|l| format!(" with language {l}"))
                .unwrap_or_default()
        );
    }
    tracing::info!(
        "regression: {} tests, size {size}, {} at a time, cache {}",
        tests.len(),
        request.jobs,
        options.cache_dir.display()
    );
    std::fs::create_dir_all(&options.output_dir).with_context(|| {
        format!(
            "failed to create the output directory {}",
            options.output_dir.display()
        )
    })?;

    // Shared set-up: the data tree and storage, once for all tests.
    if options.data_dir.is_none() && tests.iter().any(|t| t.uses_storage) {
        sebs_platforms::storage::ensure_generated(
            &options.cache_dir.join("benchmarks-data"),
            sebs_data::DEFAULT_SEED,
        )
        .await?;
    }
    let embedded = shared_storage(&base, request, &options, &tests).await?;
    let shared = embedded.as_ref().map(|e| e.config().clone());

    let semaphore = Arc::new(tokio::sync::Semaphore::new(request.jobs as usize));
    let args = Arc::new(RunArgs {
        options,
        size: request.size.clone(),
        repetitions: request.repetitions,
        trigger: request.trigger,
        files: request.storage_configuration.clone(),
        shared,
        architecture: base.config.experiments.architecture.as_str().to_owned(),
        deployment: base.config.deployment.name.as_str().to_owned(),
    });
    let mut handles = Vec::new();
    for test in tests {
        let semaphore = semaphore.clone();
        let args = args.clone();
        handles.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            run_test(&test, &args).await
        }));
    }
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.context("a regression test panicked")?);
    }
    if let Some(embedded) = embedded {
        embedded.shutdown().await;
    }

    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let passed = outcomes.len() - failed;
    let text = format!(
        "{}{passed} passed, {failed} failed in {:.1} s; results in {}\n",
        table(&outcomes),
        started.elapsed().as_secs_f64(),
        args.options.output_dir.display()
    );
    Ok(RegressionReport {
        text,
        passed,
        failed,
    })
}

/// What every test needs from the command line and the shared set-up.
struct RunArgs {
    options: RunOptions,
    size: String,
    repetitions: u64,
    trigger: TriggerKind,
    files: Vec<PathBuf>,
    shared: Option<StorageConfig>,
    architecture: String,
    deployment: String,
}

/// SeBS's internal microbenchmarks: they need the driver of their experiment (a UDP or TCP
/// server) and are exercised by the experiments' tests, not by the regression (as in SeBS).
const INTERNAL: [&str; 3] = [
    "020.network-benchmark",
    "030.clock-synchronization",
    "040.server-reply",
];

/// The benchmark × language matrix, in catalogue order.
fn matrix(root: &Path, name: Option<&str>, language: Option<Language>) -> Result<Vec<Test>> {
    let catalogue = Catalogue::open(root)?;
    let mut tests = Vec::new();
    for (id, dir) in catalogue.entries() {
        if name.is_some_and(|n| !id.contains(n)) || INTERNAL.contains(&id.as_str()) {
            continue;
        }
        let benchmark = Benchmark::load(dir)
            .with_context(|| format!("failed to load benchmark {id} from {}", dir.display()))?;
        for lang in benchmark.languages() {
            if language.is_some_and(|l| l.as_str() != lang) {
                continue;
            }
            tests.push(Test {
                benchmark: id.clone(),
                language: lang.to_owned(),
                uses_storage: benchmark.uses_module("storage"),
                uses_nosql: benchmark.uses_module("nosql"),
            });
        }
    }
    Ok(tests)
}

/// Embedded storage for the services the tests need and nothing configured provides.
async fn shared_storage(
    base: &Settings,
    request: &RegressionRequest,
    options: &RunOptions,
    tests: &[Test],
) -> Result<Option<EmbeddedStorage>> {
    let mut configured = StorageConfig::default();
    if let Some(value) = &base.config.deployment.local.storage
        && value.as_object().is_some_and(|o| !o.is_empty())
    {
        configured = StorageConfig::from_value(value)
            .context("invalid deployment.local.storage in the config file")?;
    }
    for file in &request.storage_configuration {
        configured.merge(StorageConfig::load(file)?);
    }
    let needs = Services {
        object: tests.iter().any(|t| t.uses_storage) && configured.object_endpoint()?.is_none(),
        nosql: tests.iter().any(|t| t.uses_nosql) && configured.nosql_endpoint()?.is_none(),
    };
    if !needs.object && !needs.nosql {
        return Ok(None);
    }
    let root = options.cache_dir.join("storage");
    let storage = EmbeddedStorage::start(needs, &EmbeddedOptions::under(&root))
        .await
        .context("failed to start the embedded storage for the regression; or start it with `sebs storage start all --output-json s.json` and pass `--storage-configuration s.json`")?;
    tracing::info!("embedded storage for all tests, data in {}", root.display());
    Ok(Some(storage))
}

fn file_name(platform: &str, benchmark: &str, language: &str, arch: &str) -> String {
    format!("regression_{platform}_{benchmark}_{language}_{arch}.json")
}

async fn run_test(test: &Test, args: &RunArgs) -> Outcome {
    let started = Instant::now();
    let name = format!("{}-{}", test.benchmark, test.language);
    tracing::info!("{name}: started");
    let mut outcome = Outcome {
        test: name.clone(),
        benchmark: test.benchmark.clone(),
        language: test.language.clone(),
        language_version: args.options.language_version.clone(),
        architecture: args.architecture.clone(),
        deployment: args.deployment.clone(),
        size: args.size.clone(),
        trigger: args.trigger.as_str(),
        passed: false,
        reason: None,
        seconds: 0.0,
        input: Value::Null,
        invocations: Vec::new(),
    };
    match execute(test, args, &mut outcome).await {
        Ok(()) => {}
        Err(e) => outcome.reason = Some(format!("{e:#}")),
    }
    outcome.passed = outcome.reason.is_none();
    outcome.seconds = started.elapsed().as_secs_f64();
    let path = args.options.output_dir.join(file_name(
        &args.deployment,
        &test.benchmark,
        &test.language,
        &args.architecture,
    ));
    if let Err(e) = write_json_atomic(&path, &outcome) {
        tracing::warn!("{name}: failed to write {}: {e:#}", path.display());
    }
    match &outcome.reason {
        None => tracing::info!("{name}: passed in {:.1} s", outcome.seconds),
        Some(reason) => tracing::warn!(
            "{name}: FAILED in {:.1} s: {}",
            outcome.seconds,
            first_line(reason)
        ),
    }
    outcome
}

/// Prepare, deploy, invoke and validate; sets `outcome.reason` for a failed invocation and
/// returns an error for a test that could not run.
async fn execute(test: &Test, args: &RunArgs, outcome: &mut Outcome) -> Result<()> {
    let language: Language = test
        .language
        .parse()
        .map_err(|e: String| anyhow::anyhow!("config.json of {} lists {e}", test.benchmark))?;
    let options = RunOptions {
        language: Some(language),
        ..args.options.clone()
    };
    let session = Session::start(
        &options,
        &PrepareRequest {
            benchmark: &test.benchmark,
            size: &args.size,
            storage_configuration: &args.files,
            shared_storage: args.shared.as_ref(),
        },
    )
    .await?;
    outcome.input = session.generated.input.clone();
    outcome.language_version = Some(session.settings.language_version().to_owned());
    let result = invoke_all(&session, args, outcome).await;
    session.shutdown().await;
    result
}

async fn invoke_all(session: &Session, args: &RunArgs, outcome: &mut Outcome) -> Result<()> {
    let name = session.default_function_name();
    session
        .deploy_config(&session.function_config(
            &name,
            session.benchmark.config.memory,
            session.benchmark.config.timeout,
        ))
        .await?;
    let trigger = session.trigger(&name, args.trigger).await?;
    for i in 0..args.repetitions {
        let mut result = trigger.invoke(&session.generated.input).await;
        session.validate(&mut result).await;
        if outcome.reason.is_none() {
            outcome.reason = failure(&result).map(|r| {
                if args.repetitions > 1 {
                    format!("invocation {}: {r}", i + 1)
                } else {
                    r
                }
            });
        }
        outcome.invocations.push(result);
    }
    Ok(())
}

/// Why an invocation does not pass: its error, or its failed validation.
fn failure(result: &ExecutionResult) -> Option<String> {
    if let Some(error) = &result.error {
        return Some(format!(
            "invocation failed: {}: {}",
            error.kind, error.message
        ));
    }
    match &result.validation {
        Some(v) if v.passed => None,
        Some(v) => Some(format!(
            "validation failed: {}",
            v.message.as_deref().unwrap_or("no reason given")
        )),
        None => Some("the invocation was not validated".to_owned()),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// The pass/fail table (stdout).
fn table(outcomes: &[Outcome]) -> String {
    let width = |f: &dyn Fn(&Outcome) -> usize, min: usize| {
        outcomes.iter().map(f).max().unwrap_or(0).max(min)
    };
    let wb = width(&|o| o.benchmark.len(), "benchmark".len());
    let wl = width(&|o| o.language.len(), "language".len());
    let mut out = format!(
        "{:<wb$}  {:<wl$}  {:<6}  {:>8}  reason\n",
        "benchmark", "language", "result", "time"
    );
    for o in outcomes {
        let reason = o
            .reason
            .as_deref()
            .map(|r| first_line(r).chars().take(160).collect::<String>())
            .unwrap_or_default();
        out.push_str(&format!(
            "{:<wb$}  {:<wl$}  {:<6}  {:>7.1}s  {}\n",
            o.benchmark,
            o.language,
            if o.passed { "PASS" } else { "FAIL" },
            o.seconds,
            reason
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(benchmark: &str, reason: Option<&str>) -> Outcome {
        Outcome {
            test: benchmark.into(),
            benchmark: benchmark.into(),
            language: "python".into(),
            language_version: None,
            architecture: "x64".into(),
            deployment: "local".into(),
            size: "test".into(),
            trigger: "http",
            passed: reason.is_none(),
            reason: reason.map(str::to_owned),
            seconds: 1.25,
            input: Value::Null,
            invocations: Vec::new(),
        }
    }

    #[test]
    fn table_shows_result_and_first_line_of_reason() {
        let text = table(&[
            outcome("010.sleep", None),
            outcome("999.broken", Some("validation failed: wrong\nmore")),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("010.sleep   python    PASS"), "{text}");
        assert!(lines[2].contains("FAIL"), "{text}");
        assert!(lines[2].ends_with("validation failed: wrong"), "{text}");
    }

    #[test]
    fn failure_reasons() {
        let mut r = ExecutionResult::default();
        assert_eq!(
            failure(&r).as_deref(),
            Some("the invocation was not validated")
        );
        r.validation = Some(sebs_core::result::Validation {
            passed: false,
            message: Some("bad".into()),
        });
        assert_eq!(failure(&r).as_deref(), Some("validation failed: bad"));
        r.validation = Some(sebs_core::result::Validation {
            passed: true,
            message: None,
        });
        assert_eq!(failure(&r), None);
    }

    #[test]
    fn json_file_names_follow_sebs() {
        assert_eq!(
            file_name("local", "501.graph-pagerank", "python", "x64"),
            "regression_local_501.graph-pagerank_python_x64.json"
        );
    }
}
