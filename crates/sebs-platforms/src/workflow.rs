//! Workflow benchmarks on a platform: every `func_name` of the definition deployed as a
//! function of its own, requests run by the platform's own orchestrator
//! ([`Platform::workflow_runner`], e.g. AWS Step Functions) or else by sebs's engine over the
//! functions' triggers, and each request turned into one [`ExecutionResult`] so `benchmark
//! invoke`, the experiments and the reports treat a workflow like a function.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use async_trait::async_trait;
use sebs_core::result::{ExecutionResult, InvocationError};
use sebs_workflows::{
    Clock, Definition, Engine, EngineOptions, FunctionInvoker, Metrics, Prices, WorkflowRun,
    WorkflowRunner,
};
use serde_json::{Value, json};

use crate::platform::{FunctionConfig, Platform, Trigger, TriggerKind};
use crate::settings::Settings;

/// A deployed workflow, as a platform's orchestrator needs it.
#[derive(Debug, Clone)]
pub struct WorkflowSpec {
    /// The workflow's name on the platform (what `benchmark invoke` and the experiments call
    /// the "function"); its functions are named `<name>-<func_name>`.
    pub name: String,
    /// The benchmark id.
    pub benchmark: String,
    /// The definition.
    pub definition: Definition,
    /// `func_name` → the deployed function's name.
    pub functions: BTreeMap<String, String>,
    /// Memory of every function (MB).
    pub memory_mb: u64,
    /// Timeout of every function (s).
    pub timeout_s: u64,
    /// The concurrency limit of the functions (the engine bounds map and parallel fan-out by
    /// it).
    pub concurrency_limit: usize,
    /// What a request costs is reckoned at these prices.
    pub prices: Prices,
}

/// Deploy every function of `definition` from the package in `template` (each named
/// `<template.name>-<func_name>`, told its `func_name` in `SEBS_WORKFLOW_FUNCTION`); returns
/// the spec and the deployment record: the first function's, with a `workflow` block.
pub async fn deploy(
    platform: &dyn Platform,
    settings: &Settings,
    definition: &Definition,
    template: &FunctionConfig,
) -> Result<(WorkflowSpec, Value)> {
    let mut functions = BTreeMap::new();
    let mut record = Value::Null;
    for func_name in definition.functions() {
        let name = platform.format_function_name(&format!("{}-{func_name}", template.name));
        let mut config = template.clone();
        config.name = name.clone();
        config
            .env
            .insert(sebs_build::WORKFLOW_FUNCTION_VAR.into(), func_name.clone());
        let deployed = platform
            .create_or_update(&config)
            .await
            .with_context(|| format!("failed to deploy workflow function {func_name} as {name}"))?;
        if record.is_null() {
            record = deployed;
        }
        functions.insert(func_name, name);
    }
    let spec = WorkflowSpec {
        name: template.name.clone(),
        benchmark: template.benchmark.clone(),
        definition: definition.clone(),
        functions,
        memory_mb: template.memory_mb,
        timeout_s: template.timeout_s,
        concurrency_limit: concurrency_limit(settings, &template.benchmark),
        prices: Prices::aws(&pricing_region(settings)),
    };
    if let Some(resources) = record.get_mut("resources").and_then(Value::as_object_mut) {
        resources.insert(
            "workflow".into(),
            json!({
                "name": spec.name,
                "functions": spec.functions,
                "definition": spec.definition,
                "concurrency-limit": spec.concurrency_limit,
            }),
        );
    }
    Ok((spec, record))
}

/// The local platform's limit for the benchmark (`deployment.local.functions.<id>`, then
/// `deployment.local`, default 1000); elsewhere 1000, AWS Lambda's default account limit.
fn concurrency_limit(settings: &Settings, benchmark: &str) -> usize {
    let local = &settings.config.deployment.local;
    if settings.config.deployment.name.as_str() != "local" {
        return 1000;
    }
    local
        .functions
        .get(benchmark)
        .and_then(|f| f.concurrency_limit)
        .or(local.concurrency_limit)
        .unwrap_or(1000)
        .max(1)
}

/// The AWS region whose prices apply: the configured one, else us-east-1 (what a local run
/// would cost there).
fn pricing_region(settings: &Settings) -> String {
    settings
        .config
        .deployment
        .aws
        .as_ref()
        .and_then(|a| a.region.clone())
        .unwrap_or_else(|| "us-east-1".into())
}

/// The trigger of a deployed workflow: the platform's orchestrator if it has one, else the
/// engine over the functions' `kind` triggers.
pub async fn trigger(
    platform: &dyn Platform,
    spec: &WorkflowSpec,
    kind: TriggerKind,
) -> Result<Arc<dyn Trigger>> {
    let (runner, orchestrator) = match platform.workflow_runner(spec, kind).await? {
        Some(runner) => (runner, platform.name().to_string()),
        None => {
            let mut triggers = BTreeMap::new();
            for (func_name, name) in &spec.functions {
                triggers.insert(func_name.clone(), platform.trigger(name, kind).await?);
            }
            let options = EngineOptions {
                max_concurrency: spec.concurrency_limit,
                memory_mb: spec.memory_mb,
                ..Default::default()
            };
            let invoker = Arc::new(TriggerInvoker(triggers));
            let engine = Engine::new(
                &spec.benchmark,
                spec.definition.clone(),
                invoker,
                Clock::system(),
                options,
            );
            let runner: Arc<dyn WorkflowRunner> = Arc::new(engine);
            (runner, "sebs-engine".to_string())
        }
    };
    Ok(Arc::new(WorkflowTrigger {
        runner,
        kind,
        orchestrator,
        prices: spec.prices.clone(),
    }))
}

/// The engine's way to the functions: their triggers by `func_name`.
struct TriggerInvoker(BTreeMap<String, Arc<dyn Trigger>>);

#[async_trait]
impl FunctionInvoker for TriggerInvoker {
    async fn invoke(&self, func_name: &str, input: &Value) -> ExecutionResult {
        match self.0.get(func_name) {
            Some(trigger) => trigger.invoke(input).await,
            None => {
                let mut result = ExecutionResult::default();
                result.stats.failure = true;
                result.error = Some(InvocationError {
                    kind: "ResourceNotFound".into(),
                    message: format!("workflow function {func_name} was not deployed"),
                    traceback: vec![],
                });
                result
            }
        }
    }
}

/// A workflow as a [`Trigger`]: one invocation is one request of the whole workflow.
struct WorkflowTrigger {
    runner: Arc<dyn WorkflowRunner>,
    kind: TriggerKind,
    orchestrator: String,
    prices: Prices,
}

#[async_trait]
impl Trigger for WorkflowTrigger {
    fn kind(&self) -> TriggerKind {
        self.kind
    }

    fn url(&self) -> Option<String> {
        None
    }

    async fn invoke(&self, input: &Value) -> ExecutionResult {
        let run = self.runner.run(input).await;
        let metrics = sebs_workflows::analyse(&run, &self.prices);
        execution_result(&run, &metrics, &self.orchestrator)
    }
}

/// One request as an invocation: client time = the request's total, function time = its
/// critical path, cold = any function cold, GB-seconds summed; `output` as the SeBS wrapper's
/// response with the workflow's output as `result` and the request's record and metrics as
/// `workflow` (docs/workflows.md).
pub fn execution_result(
    run: &WorkflowRun,
    metrics: &Metrics,
    orchestrator: &str,
) -> ExecutionResult {
    let local = |t: f64| {
        let dt = chrono::DateTime::from_timestamp_micros((t * 1e6) as i64).unwrap_or_default();
        sebs_core::result::timestamp(dt.with_timezone(&chrono::Local))
    };
    let mut result = ExecutionResult {
        request_id: run.request_id.clone(),
        ..Default::default()
    };
    result.times.client = (metrics.total * 1e6).round() as u64;
    result.times.benchmark = (metrics.critical_path * 1e6).round() as u64;
    result.times.client_begin = local(run.begin);
    result.times.client_end = local(run.end);
    result.stats.cold_start = metrics.cold_starts > 0;
    result.billing.gb_seconds = metrics.gb_seconds;
    result.billing.memory = run
        .executions
        .iter()
        .find_map(|e| e.function.as_ref().map(|f| f.memory_mb));
    if let Some(f) = &run.failure {
        result.stats.failure = true;
        result.error = Some(InvocationError {
            kind: f.error.clone(),
            message: format!("state {}: {}", f.state, f.cause),
            traceback: vec![],
        });
    }
    result.output = json!({
        "begin": format!("{:.6}", run.begin),
        "end": format!("{:.6}", run.end),
        "is_cold": result.stats.cold_start,
        "request_id": run.request_id,
        "container_id": "",
        "result": run.output,
        "workflow": {
            "orchestrator": orchestrator,
            "run": run,
            "metrics": metrics,
        },
    });
    result
}
