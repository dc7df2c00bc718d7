//! `sebs benchmark invoke`: one benchmark, N invocations through one trigger, SeBS's
//! `experiments.json`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use sebs_core::catalogue::Size;
use sebs_core::fsutil::write_json_atomic;
use sebs_core::result::{ExecutionResult, ExperimentResult};
use sebs_platforms::pipeline::find_benchmark;
use sebs_platforms::{PrepareRequest, RunOptions, Session, Settings, TriggerKind};

use crate::lock::DirLock;
use crate::signal::{Stop, StopSignals};

/// What `benchmark invoke` was asked for.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// Common options.
    pub options: RunOptions,
    /// Benchmark id, name or number.
    pub benchmark: String,
    /// Input size.
    pub size: String,
    /// Invocations.
    pub repetitions: u64,
    /// Trigger to invoke through.
    pub trigger: TriggerKind,
    /// Memory (MB); the benchmark's config.json if `None`.
    pub memory: Option<u64>,
    /// Timeout (s); the benchmark's config.json if `None`.
    pub timeout: Option<u64>,
    /// Function name; the platform's default name if `None`.
    pub function_name: Option<String>,
    /// Check every successful result with `validate_output`.
    pub validate: bool,
    /// `--storage-configuration` files.
    pub storage_configuration: Vec<PathBuf>,
}

/// What a `benchmark invoke` run produced.
#[derive(Debug)]
pub struct InvokeOutcome {
    /// The results (also written to `experiments.json`).
    pub experiment: ExperimentResult,
    /// Where they were written.
    pub path: PathBuf,
    /// The summary table for stdout.
    pub summary: String,
    /// Ctrl-C or SIGTERM stopped the run (the invocations completed so far are written).
    pub interrupted: Option<Stop>,
    /// Invocations that failed or did not validate.
    pub failed: usize,
}

fn check_function_name(name: &str) -> Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        anyhow::bail!(
            "invalid --function-name `{name}`: use letters, digits, `-`, `_` and `.` only"
        );
    }
    Ok(())
}

/// Prepare, deploy, invoke `repetitions` times, write `experiments.json`.
pub async fn invoke(request: &InvokeRequest) -> Result<InvokeOutcome> {
    if let Some(name) = &request.function_name {
        check_function_name(name)?;
    }
    // Everything cheap to check is checked before the output directory is created or locked, so a
    // rejected request writes nothing.
    let settings = Settings::resolve(&request.options)?;
    let _: Size = request.size.parse()?;
    find_benchmark(&settings, &request.benchmark)?;
    let platform = sebs_platforms::factory::create(&settings)?;
    // One run per output directory: a second one would overwrite this one's experiments.json.
    let _lock = DirLock::acquire(&request.options.output_dir, "--output-dir")?;
    let session = Session::start_on(
        settings,
        platform,
        &PrepareRequest {
            benchmark: &request.benchmark,
            size: &request.size,
            storage_configuration: &request.storage_configuration,
            shared_storage: None,
        },
    )
    .await?;
    let result = run(&session, request).await;
    session.shutdown().await;
    result
}

async fn run(session: &Session, request: &InvokeRequest) -> Result<InvokeOutcome> {
    let memory = request.memory.unwrap_or(session.benchmark.config.memory);
    let timeout = request.timeout.unwrap_or(session.benchmark.config.timeout);
    let name = request
        .function_name
        .clone()
        .unwrap_or_else(|| session.default_function_name());
    let function = session.function_config(&name, memory, timeout);
    // Caught from here on: a Ctrl-C or SIGTERM while deploying stops before the first invocation
    // and still writes experiments.json.
    let mut signals = StopSignals::new()?;
    let deployment = session.deploy_config(&function).await?;
    let trigger = session.trigger(&name, request.trigger).await?;
    tracing::info!(
        "deployed {name} ({memory} MB, {timeout} s timeout) on {}; invoking {} times through the {} trigger",
        session.platform.name(),
        request.repetitions,
        request.trigger.as_str()
    );
    let cold_start = deployment["resources"]["cold-start"]
        .as_str()
        .map(|mode| format!(", {mode} cold starts"))
        .unwrap_or_default();
    let mut experiment = ExperimentResult {
        begin_time: epoch_now(),
        config: session.result_config(deployment),
        ..Default::default()
    };
    let mut interrupted = None;
    for i in 0..request.repetitions {
        let invocation = async {
            let mut result = trigger.invoke(&session.generated.input).await;
            if request.validate {
                session.validate(&mut result).await;
            }
            result
        };
        let result = tokio::select! {
            r = invocation => r,
            stop = signals.recv() => { interrupted = Some(stop); break; }
        };
        log_invocation(i + 1, request.repetitions, &result);
        experiment.add(&name, result);
    }
    experiment.end_time = epoch_now();
    let path = request.options.output_dir.join("experiments.json");
    std::fs::create_dir_all(&request.options.output_dir).with_context(|| {
        format!(
            "failed to create the output directory {}",
            request.options.output_dir.display()
        )
    })?;
    write_json_atomic(&path, &experiment)
        .with_context(|| format!("failed to write {}", path.display()))?;
    let title = format!(
        "{} ({}) on {}, {} {}, {} trigger{cold_start}",
        session.benchmark.id,
        session.size,
        session.platform.name(),
        session.settings.language,
        session.settings.language_full_version(),
        request.trigger.as_str(),
    );
    let mut summary = sebs_report::summary::invocation_summary(&title, &experiment);
    if let Some(spec) = session.workflow_spec(&name) {
        summary.push_str(&write_workflow_results(request, &experiment, &spec)?);
    }
    let failed = experiment
        .ordered()
        .iter()
        .filter(|(_, r)| !r.succeeded())
        .count();
    Ok(InvokeOutcome {
        experiment,
        path,
        summary,
        interrupted,
        failed,
    })
}

/// `workflow.json` beside experiments.json, and the per-request breakdown to print.
fn write_workflow_results(
    request: &InvokeRequest,
    experiment: &ExperimentResult,
    spec: &sebs_platforms::workflow::WorkflowSpec,
) -> Result<String> {
    use sebs_workflows::summary::{FORMAT, Request, ResultsFile, breakdown};
    let requests: Vec<Request> = experiment
        .ordered()
        .iter()
        .filter_map(|(_, r)| Request::from_output(&r.output))
        .collect();
    let file = ResultsFile {
        format: FORMAT.into(),
        workflow: spec.benchmark.clone(),
        deployment: serde_json::json!({
            "name": spec.name,
            "functions": spec.functions,
            "definition": spec.definition,
            "concurrency-limit": spec.concurrency_limit,
            "memory": spec.memory_mb,
        }),
        requests,
    };
    let path = request.options.output_dir.join("workflow.json");
    write_json_atomic(&path, &file)
        .with_context(|| format!("failed to write {}", path.display()))?;
    Ok(format!(
        "\nworkflow {} ({} functions; per request, written to {}):\n{}",
        spec.benchmark,
        spec.functions.len(),
        path.display(),
        breakdown(&file.requests)
    ))
}

fn log_invocation(i: u64, n: u64, r: &ExecutionResult) {
    let client = sebs_report::summary::format_us(r.times.client as f64);
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
        sebs_report::summary::format_us(r.times.benchmark as f64)
    );
}

/// Seconds since the epoch.
pub fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
