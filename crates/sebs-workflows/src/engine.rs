//! The workflow engine: runs a definition over a platform's functions, passing data between
//! states as Step Functions does, and records every state execution.
//!
//! Functions are reached through a [`FunctionInvoker`] (the platform's triggers in `sebs`, a
//! scripted double in tests) and timed with a [`Clock`] on tokio's clock, so tests on tokio's
//! paused clock get exact times.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sebs_core::result::ExecutionResult;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::data;
use crate::definition::{Definition, State};
use crate::run::{Failure, StateExecution, WorkflowRun};

/// Invokes the deployed function of a `func_name` once. Never fails: failures are recorded in
/// the result (`stats.failure`, `error`), as the platforms' triggers (`sebs_platforms::Trigger`)
/// do.
#[async_trait]
pub trait FunctionInvoker: Send + Sync {
    /// Invoke `func_name`'s function with `input`; the result's `output` is the SeBS wrapper's
    /// response (`begin`, `end`, `is_cold`, `container_id`, `result`, ...).
    async fn invoke(&self, func_name: &str, input: &Value) -> ExecutionResult;
}

/// Runs a deployed workflow once per call: this engine, or a platform's own orchestrator
/// (AWS Step Functions).
#[async_trait]
pub trait WorkflowRunner: Send + Sync {
    /// Run one request with `input`. Never fails: a failed request is a [`WorkflowRun`] with
    /// its `failure` set.
    async fn run(&self, input: &Value) -> WorkflowRun;
}

/// Limits of the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Function invocations in flight at once across the engine's requests (the platform's
    /// function concurrency limit): map and parallel fan-out waits beyond it.
    pub max_concurrency: usize,
    /// The largest state input or output in bytes (Step Functions: 256 KiB).
    pub payload_limit: usize,
    /// States entered per request before it is failed (a switch can loop); Step Functions
    /// stops an execution at 25,000 history events.
    pub max_transitions: u64,
    /// Memory of the functions (MB), for GB-seconds where the platform reports none.
    pub memory_mb: u64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_concurrency: 1000,
            payload_limit: data::PAYLOAD_LIMIT,
            max_transitions: 25_000,
            memory_mb: 128,
        }
    }
}

/// The engine: one definition over one set of functions.
pub struct Engine {
    name: String,
    definition: Arc<Definition>,
    invoker: Arc<dyn FunctionInvoker>,
    clock: Clock,
    options: EngineOptions,
    slots: Arc<Semaphore>,
}

impl Engine {
    /// An engine running `definition` (workflow `name`) over `invoker`.
    pub fn new(
        name: &str,
        definition: Definition,
        invoker: Arc<dyn FunctionInvoker>,
        clock: Clock,
        options: EngineOptions,
    ) -> Engine {
        let slots = Arc::new(Semaphore::new(options.max_concurrency.max(1)));
        Engine {
            name: name.to_string(),
            definition: Arc::new(definition),
            invoker,
            clock,
            options,
            slots,
        }
    }
}

#[async_trait]
impl WorkflowRunner for Engine {
    async fn run(&self, input: &Value) -> WorkflowRun {
        let ctx = Ctx {
            invoker: self.invoker.clone(),
            clock: self.clock,
            options: self.options.clone(),
            slots: self.slots.clone(),
            log: Mutex::new(Vec::new()),
            transitions: AtomicU64::new(0),
        };
        let begin = ctx.clock.now();
        let def = &self.definition;
        let result = match data::check_payload(input, self.options.payload_limit, "workflow input")
        {
            Err(cause) => Err(failure("(input)", "States.DataLimitExceeded", cause)),
            Ok(()) => {
                let scope = Scope::default();
                run_graph(
                    &ctx,
                    &def.root,
                    &def.states,
                    input.clone(),
                    Vec::new(),
                    scope,
                )
                .await
            }
        };
        let end = ctx.clock.now();
        let (output, failure) = match result {
            Ok(flow) => (flow.value, None),
            Err(f) => (Value::Null, Some(*f.failure)),
        };
        WorkflowRun {
            workflow: self.name.clone(),
            request_id: uuid::Uuid::new_v4().to_string(),
            begin,
            end,
            output,
            failure,
            executions: ctx.log.into_inner().unwrap_or_default(),
            transitions: ctx.transitions.load(Ordering::Relaxed),
        }
    }
}

/// The running value and the executions that produced it.
struct Flow {
    value: Value,
    frontier: Vec<usize>,
}

/// A failure on its way up; `catchable` is false for errors a `failure` route cannot catch
/// (Step Functions' `States.DataLimitExceeded` and runtime errors are terminal).
struct Failed {
    failure: Box<Failure>,
    catchable: bool,
    input: Box<Value>,
    /// The execution that failed, when one was recorded.
    node: Option<usize>,
}

type Step = Result<Flow, Failed>;
type BoxStep<'a> = Pin<Box<dyn Future<Output = Step> + Send + 'a>>;

fn failure(state: &str, error: &str, cause: String) -> Failed {
    Failed {
        failure: Box::new(Failure {
            state: state.to_string(),
            error: error.to_string(),
            cause,
        }),
        catchable: false,
        input: Box::new(Value::Null),
        node: None,
    }
}

/// Where a sub-workflow sits: its state-path prefix and its instance-path prefix.
#[derive(Clone, Default)]
struct Scope {
    path: String,
    instance: String,
}

impl Scope {
    fn child(&self, state: &str, index: usize) -> Scope {
        Scope {
            path: format!("{}{state}/", self.path),
            instance: format!("{}{state}[{index}]/", self.instance),
        }
    }
}

/// Per-request state shared by all of its branches.
struct Ctx {
    invoker: Arc<dyn FunctionInvoker>,
    clock: Clock,
    options: EngineOptions,
    slots: Arc<Semaphore>,
    log: Mutex<Vec<StateExecution>>,
    transitions: AtomicU64,
}

/// One node to record.
struct Node<'a> {
    state: String,
    instance: String,
    kind: &'a str,
    after: Vec<usize>,
}

impl Ctx {
    /// Count `n` states entered; fails the request past the limit.
    fn enter(&self, n: u64, instance: &str) -> Result<(), Failed> {
        let total = self.transitions.fetch_add(n, Ordering::Relaxed) + n;
        if total > self.options.max_transitions {
            return Err(failure(
                instance,
                "States.Runtime",
                format!(
                    "more than {} states entered: a switch loops without end? (Step Functions stops an execution at 25,000 history events)",
                    self.options.max_transitions
                ),
            ));
        }
        Ok(())
    }

    fn record(&self, mut execution: StateExecution) -> usize {
        let mut log = self.log.lock().expect("the log lock is never poisoned");
        execution.id = log.len();
        log.push(execution);
        log.len() - 1
    }

    /// Invoke `func_name` on `input` as the state `node`; the function's result on success.
    async fn invoke(
        &self,
        func_name: &str,
        input: &Value,
        node: Node<'_>,
    ) -> Result<(Value, usize), Failed> {
        let limit = self.options.payload_limit;
        if let Err(cause) =
            data::check_payload(input, limit, &format!("input of state {}", node.instance))
        {
            return Err(failure(&node.instance, "States.DataLimitExceeded", cause));
        }
        let (result, dispatched, returned) = {
            let _slot = self
                .slots
                .acquire()
                .await
                .expect("the semaphore is never closed");
            let dispatched = self.clock.now();
            let result = self.invoker.invoke(func_name, input).await;
            (result, dispatched, self.clock.now())
        };
        let observed = returned - dispatched;
        let execution =
            crate::invocation::describe(func_name, &result, self.options.memory_mb, observed);
        let times = crate::invocation::function_times(&result);
        let (begin, end) = times.unwrap_or((dispatched, returned));
        let id = self.record(StateExecution {
            id: 0,
            state: node.state,
            instance: node.instance.clone(),
            kind: node.kind.to_string(),
            after: node.after,
            begin,
            end,
            function_time: times.map(|(b, e)| (e - b).max(0.0)).unwrap_or(0.0),
            dispatched,
            returned,
            function: Some(execution),
        });
        let output = crate::invocation::output(&result).map_err(|(error, cause)| Failed {
            failure: Box::new(Failure {
                state: node.instance.clone(),
                error,
                cause,
            }),
            catchable: true,
            input: Box::new(input.clone()),
            node: Some(id),
        })?;
        let what = format!("output of state {}", node.instance);
        data::check_payload(&output, limit, &what)
            .map_err(|cause| failure(&node.instance, "States.DataLimitExceeded", cause))?;
        Ok((output, id))
    }

    /// Record a switch's decision (no function: a node of zero function time).
    fn record_switch(&self, node: Node<'_>) -> usize {
        let now = self.clock.now();
        self.record(StateExecution {
            id: 0,
            state: node.state,
            instance: node.instance,
            kind: node.kind.to_string(),
            after: node.after,
            begin: now,
            end: now,
            function_time: 0.0,
            dispatched: now,
            returned: now,
            function: None,
        })
    }
}

/// Run a (sub-)workflow from `root` until a state without `next`.
fn run_graph<'a>(
    ctx: &'a Ctx,
    root: &'a str,
    states: &'a BTreeMap<String, State>,
    input: Value,
    frontier: Vec<usize>,
    scope: Scope,
) -> BoxStep<'a> {
    Box::pin(async move {
        let mut flow = Flow {
            value: input,
            frontier,
        };
        let mut current = root;
        loop {
            let state = &states[current];
            let node = |kind| Node {
                state: format!("{}{current}", scope.path),
                instance: format!("{}{current}", scope.instance),
                kind,
                after: flow.frontier.clone(),
            };
            let step = match state {
                State::Task(t) => {
                    ctx.enter(1, &node("task").instance)?;
                    match ctx.invoke(&t.func_name, &flow.value, node("task")).await {
                        Ok((value, id)) => Ok((
                            Flow {
                                value,
                                frontier: vec![id],
                            },
                            t.next.as_deref(),
                        )),
                        Err(f) => match (&t.failure, f.catchable) {
                            (Some(target), true) => {
                                let (error, cause) = (&f.failure.error, &f.failure.cause);
                                let value = data::with_error(&f.input, error, cause);
                                let frontier = f.node.map(|id| vec![id]).unwrap_or_default();
                                Ok((Flow { value, frontier }, Some(target.as_str())))
                            }
                            _ => Err(f),
                        },
                    }
                }
                State::Switch(s) => {
                    let n = node("switch");
                    ctx.enter(1, &n.instance)?;
                    let instance = n.instance.clone();
                    let target = crate::switch::choose(s, &flow.value)
                        .map_err(|(e, c)| failure(&instance, e, c))?;
                    let id = ctx.record_switch(n);
                    Ok((
                        Flow {
                            value: flow.value,
                            frontier: vec![id],
                        },
                        Some(target),
                    ))
                }
                State::Map(m) => {
                    let f = run_map(ctx, current, m, flow, &scope).await?;
                    Ok((f, m.next.as_deref()))
                }
                State::Loop(l) => {
                    let f = run_loop(ctx, current, l, flow, &scope).await?;
                    Ok((f, l.next.as_deref()))
                }
                State::Repeat(r) => {
                    let f = run_repeat(ctx, current, r, flow, &scope).await?;
                    Ok((f, r.next.as_deref()))
                }
                State::Parallel(p) => {
                    let f = run_parallel(ctx, current, p, flow, &scope).await?;
                    Ok((f, p.next.as_deref()))
                }
            };
            let (next_flow, next) = step?;
            flow = next_flow;
            match next {
                Some(n) => current = n,
                None => return Ok(flow),
            }
        }
    })
}

/// The array a map or loop iterates over.
fn array_of<'v>(value: &'v Value, path: &str, instance: &str) -> Result<&'v Vec<Value>, Failed> {
    match data::get_path(value, path) {
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(failure(
            instance,
            "States.Runtime",
            format!(
                "`array` path `{path}` is a {} in the state's input, not an array",
                kind_of(other)
            ),
        )),
        None => Err(failure(
            instance,
            "States.Runtime",
            format!("`array` path `{path}` is not in the state's input"),
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The map's output: its input with the array replaced by the per-element results.
fn write_back(
    ctx: &Ctx,
    flow: &Flow,
    path: &str,
    results: Vec<Value>,
    instance: &str,
) -> Result<Value, Failed> {
    let out = data::set_path(&flow.value, path, Value::Array(results))
        .map_err(|cause| failure(instance, "States.Runtime", cause))?;
    data::check_payload(
        &out,
        ctx.options.payload_limit,
        &format!("output of state {instance}"),
    )
    .map_err(|cause| failure(instance, "States.DataLimitExceeded", cause))?;
    Ok(out)
}

async fn run_map(
    ctx: &Ctx,
    name: &str,
    m: &crate::definition::Map,
    flow: Flow,
    scope: &Scope,
) -> Step {
    let instance = format!("{}{name}", scope.instance);
    ctx.enter(1, &instance)?;
    let items = array_of(&flow.value, &m.array, &instance)?;
    let common = m.common_params();
    let branches = items.iter().enumerate().map(|(i, item)| {
        let input = data::element_input(&flow.value, item, &common);
        run_graph(
            ctx,
            &m.root,
            &m.states,
            input,
            flow.frontier.clone(),
            scope.child(name, i),
        )
    });
    let outcomes = futures_util::future::join_all(branches).await;
    let (results, frontier) = gather(outcomes, &flow.frontier)?;
    let value = write_back(ctx, &flow, &m.array, results, &instance)?;
    Ok(Flow { value, frontier })
}

/// The outputs in order and the union of the branches' last executions; the first failure
/// (in branch order) fails the whole state.
fn gather(outcomes: Vec<Step>, before: &[usize]) -> Result<(Vec<Value>, Vec<usize>), Failed> {
    let mut results = Vec::with_capacity(outcomes.len());
    let mut frontier = Vec::new();
    for outcome in outcomes {
        let f = outcome?;
        results.push(f.value);
        frontier.extend(f.frontier);
    }
    if results.is_empty() {
        frontier = before.to_vec();
    }
    frontier.sort_unstable();
    frontier.dedup();
    Ok((results, frontier))
}

async fn run_loop(
    ctx: &Ctx,
    name: &str,
    l: &crate::definition::Loop,
    flow: Flow,
    scope: &Scope,
) -> Step {
    let instance = format!("{}{name}", scope.instance);
    ctx.enter(1, &instance)?;
    let items = array_of(&flow.value, &l.array, &instance)?.clone();
    let mut frontier = flow.frontier.clone();
    let mut results = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let node = Node {
            state: format!("{}{name}", scope.path),
            instance: format!("{instance}[{i}]"),
            kind: "loop",
            after: frontier.clone(),
        };
        ctx.enter(1, &node.instance)?;
        let (out, id) = ctx.invoke(&l.func_name, item, node).await?;
        results.push(out);
        frontier = vec![id];
    }
    let value = write_back(ctx, &flow, &l.array, results, &instance)?;
    Ok(Flow { value, frontier })
}

async fn run_repeat(
    ctx: &Ctx,
    name: &str,
    r: &crate::definition::Repeat,
    flow: Flow,
    scope: &Scope,
) -> Step {
    let mut flow = flow;
    for i in 0..r.count {
        let node = Node {
            state: format!("{}{name}", scope.path),
            instance: format!("{}{name}#{i}", scope.instance),
            kind: "repeat",
            after: flow.frontier.clone(),
        };
        ctx.enter(1, &node.instance)?;
        let (value, id) = ctx.invoke(&r.func_name, &flow.value, node).await?;
        flow = Flow {
            value,
            frontier: vec![id],
        };
    }
    Ok(flow)
}

async fn run_parallel(
    ctx: &Ctx,
    name: &str,
    p: &crate::definition::Parallel,
    flow: Flow,
    scope: &Scope,
) -> Step {
    let instance = format!("{}{name}", scope.instance);
    ctx.enter(1, &instance)?;
    let branches = p.parallel_functions.iter().enumerate().map(|(i, b)| {
        run_graph(
            ctx,
            &b.root,
            &b.states,
            flow.value.clone(),
            flow.frontier.clone(),
            scope.child(name, i),
        )
    });
    let outcomes = futures_util::future::join_all(branches).await;
    let (results, frontier) = gather(outcomes, &flow.frontier)?;
    // SeBS-Flow merges the branches' outputs: each under its branch's root state name.
    let merged: serde_json::Map<String, Value> = p
        .parallel_functions
        .iter()
        .zip(results)
        .map(|(b, v)| (b.root.clone(), v))
        .collect();
    let value = Value::Object(merged);
    data::check_payload(
        &value,
        ctx.options.payload_limit,
        &format!("output of state {instance}"),
    )
    .map_err(|cause| failure(&instance, "States.DataLimitExceeded", cause))?;
    Ok(Flow { value, frontier })
}
