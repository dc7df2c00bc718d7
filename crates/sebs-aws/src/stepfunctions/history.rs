//! An execution's history (`GetExecutionHistory`) as the engine's record of a request: one
//! state execution per function invocation and choice, with the executions it ran after.
//!
//! Step Functions links each event to the one before it in its thread (`previousEventId`);
//! a map iteration or a parallel branch is a thread of its own starting at the container's
//! `...Started` event, and the container's `...Succeeded` follows the branch that finished last.
//! So an execution runs after whatever the thread held before it, and after a map or parallel
//! state, after the last executions of every thread it contained.

use std::collections::{BTreeMap, HashMap};

use sebs_workflows::run::{Failure, FunctionExecution, StateExecution, WorkflowRun};
use serde_json::Value;

use super::asl::StateInfo;

/// One history event, in the fields the record needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// `id`.
    pub id: i64,
    /// `previousEventId` (0: none).
    pub previous: i64,
    /// The timestamp, epoch seconds.
    pub timestamp: f64,
    /// The event type, e.g. `TaskStateEntered`.
    pub kind: String,
    /// The state's name (state entered/exited, map iteration events).
    pub name: Option<String>,
    /// The iteration index (`MapIterationStarted`).
    pub index: Option<i64>,
    /// The output (Lambda function succeeded, execution succeeded).
    pub output: Option<String>,
    /// The error name (failures).
    pub error: Option<String>,
    /// The cause (failures).
    pub cause: Option<String>,
}

/// What a request's record needs besides the events.
pub struct Context<'a> {
    /// The workflow's name (benchmark).
    pub workflow: &'a str,
    /// The execution's name (the request id).
    pub request_id: &'a str,
    /// State names of the state machine and what they stand for.
    pub names: &'a BTreeMap<String, StateInfo>,
    /// Memory of the functions (MB), for GB-seconds.
    pub memory_mb: u64,
}

/// Per-event thread state.
#[derive(Clone, Default)]
struct Thread {
    iterations: Vec<i64>,
    frontier: Vec<usize>,
    current: Option<usize>,
}

/// The record of one execution from its history.
pub fn to_run(events: &[Event], ctx: &Context<'_>) -> WorkflowRun {
    let mut events: Vec<&Event> = events.iter().collect();
    events.sort_by_key(|e| e.id);
    let index: HashMap<i64, usize> = events.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); events.len()];
    for (i, e) in events.iter().enumerate() {
        if let Some(&p) = index.get(&e.previous) {
            children[p].push(i);
        }
    }
    let mut run = WorkflowRun {
        workflow: ctx.workflow.to_string(),
        request_id: ctx.request_id.to_string(),
        ..WorkflowRun::default()
    };
    let mut threads: Vec<Thread> = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let parent = index
            .get(&e.previous)
            .map(|&p| threads[p].clone())
            .unwrap_or_default();
        let thread = step(
            e, i, parent, &events, &index, &children, &threads, &mut run, ctx,
        );
        threads.push(thread);
    }
    run
}

#[allow(clippy::too_many_arguments)]
fn step(
    e: &Event,
    i: usize,
    mut t: Thread,
    events: &[&Event],
    index: &HashMap<i64, usize>,
    children: &[Vec<usize>],
    threads: &[Thread],
    run: &mut WorkflowRun,
    ctx: &Context<'_>,
) -> Thread {
    if e.kind.ends_with("StateEntered") {
        run.transitions += 1;
    }
    match e.kind.as_str() {
        "ExecutionStarted" => run.begin = e.timestamp,
        "ExecutionSucceeded" => {
            run.end = e.timestamp;
            run.output = e
                .output
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or(Value::Null);
        }
        "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted" => {
            run.end = e.timestamp;
            let state = run
                .executions
                .iter()
                .rev()
                .find(|x| x.function.as_ref().is_some_and(|f| f.failed))
                .map(|x| x.instance.clone())
                .unwrap_or_default();
            run.failure = Some(Failure {
                state,
                error: e.error.clone().unwrap_or_else(|| e.kind.clone()),
                cause: e.cause.clone().unwrap_or_default(),
            });
        }
        "TaskStateEntered" | "ChoiceStateEntered" => {
            let name = e.name.as_deref().unwrap_or_default();
            if let Some(info) = ctx.names.get(name) {
                let id = run.executions.len();
                run.executions
                    .push(execution(id, e, info, &t, ctx.memory_mb));
                t.frontier = vec![id];
                t.current = (e.kind == "TaskStateEntered").then_some(id);
            }
        }
        "ChoiceStateExited" => {
            if let Some(x) = t
                .frontier
                .first()
                .and_then(|&id| run.executions.get_mut(id))
            {
                x.end = e.timestamp;
                x.returned = e.timestamp;
            }
        }
        "MapIterationStarted" => t.iterations.push(e.index.unwrap_or(0)),
        kind if is_join(kind) => {
            if let Some(start) = container_start(i, events, index) {
                t.frontier = thread_ends(start, i, children, threads);
                t.iterations = threads[start].iterations.clone();
            }
            t.current = None;
        }
        kind if kind.starts_with("LambdaFunction") => {
            if let Some(x) = t.current.and_then(|id| run.executions.get_mut(id)) {
                lambda_event(x, e);
            }
        }
        _ => {}
    }
    t
}

/// A new execution for a task or choice entered.
fn execution(id: usize, e: &Event, info: &StateInfo, t: &Thread, memory_mb: u64) -> StateExecution {
    let mut instance = String::new();
    let mut iterations = t.iterations.iter();
    for (k, part) in info.instance.split("{}").enumerate() {
        if k > 0 {
            match iterations.next() {
                Some(n) => instance.push_str(&n.to_string()),
                None => instance.push('?'),
            }
        }
        instance.push_str(part);
    }
    StateExecution {
        id,
        state: info.state.clone(),
        instance,
        kind: info.kind.to_string(),
        after: t.frontier.clone(),
        begin: e.timestamp,
        end: e.timestamp,
        function_time: 0.0,
        dispatched: e.timestamp,
        returned: e.timestamp,
        function: info.func_name.as_ref().map(|f| FunctionExecution {
            func_name: f.clone(),
            memory_mb,
            ..FunctionExecution::default()
        }),
    }
}

/// Fill an execution from a `LambdaFunction*` event.
fn lambda_event(x: &mut StateExecution, e: &Event) {
    match e.kind.as_str() {
        "LambdaFunctionScheduled" => {
            x.dispatched = e.timestamp;
            x.begin = e.timestamp;
            x.end = e.timestamp;
        }
        "LambdaFunctionSucceeded" => {
            x.returned = e.timestamp;
            x.begin = x.dispatched;
            x.end = e.timestamp;
            let body = e.output.as_deref().and_then(wrapper_body);
            if let (Some(body), Some(f)) = (body, x.function.as_mut()) {
                f.request_id = body["request_id"].as_str().unwrap_or_default().to_string();
                f.cold = body["is_cold"].as_bool().unwrap_or(false);
                f.container_id = body["container_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if let (Some(b), Some(en)) = (number(&body["begin"]), number(&body["end"]))
                    && en >= b
                {
                    x.begin = b;
                    x.end = en;
                    x.function_time = en - b;
                    // Lambda bills the duration rounded up to 1 ms.
                    f.gb_seconds =
                        ((en - b) * 1000.0).ceil() / 1000.0 * f.memory_mb as f64 / 1024.0;
                }
            }
        }
        kind if kind.ends_with("Failed") || kind.ends_with("TimedOut") => {
            x.returned = e.timestamp;
            x.begin = x.dispatched;
            x.end = e.timestamp;
            if let Some(f) = x.function.as_mut() {
                f.failed = true;
                let error = e.error.clone().unwrap_or_else(|| kind.to_string());
                f.error = Some(format!("{error}: {}", e.cause.clone().unwrap_or_default()));
            }
        }
        _ => {}
    }
}

/// The SeBS wrapper's response inside a Lambda output: `{"statusCode", "body": "<JSON>"}`.
fn wrapper_body(output: &str) -> Option<Value> {
    let outer: Value = serde_json::from_str(output).ok()?;
    match &outer["body"] {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Object(_) => Some(outer["body"].clone()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Events after which a map or parallel state's threads have joined. Step Functions follows
/// `...Succeeded` with `...Exited`; other implementations (LocalStack's, in moto) link
/// `...Exited` to the last thread instead, so both count.
fn is_join(kind: &str) -> bool {
    matches!(
        kind,
        "MapStateSucceeded"
            | "MapStateFailed"
            | "MapStateAborted"
            | "MapStateExited"
            | "ParallelStateSucceeded"
            | "ParallelStateFailed"
            | "ParallelStateAborted"
            | "ParallelStateExited"
    )
}

/// The `...Started` event of the map or parallel state that event `join` ends: the nearest
/// ancestor start that is not inside a container entered and exited in between.
fn container_start(join: usize, events: &[&Event], index: &HashMap<i64, usize>) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = index.get(&events[join].previous).copied();
    while let Some(i) = at {
        match events[i].kind.as_str() {
            "MapStateExited" | "ParallelStateExited" => depth += 1,
            "MapStateEntered" | "ParallelStateEntered" => depth = depth.saturating_sub(1),
            "MapStateStarted" | "ParallelStateStarted" if depth == 0 => return Some(i),
            _ => {}
        }
        at = index.get(&events[i].previous).copied();
    }
    None
}

/// The union of the frontiers of every thread that ends between `start` and `join`. An inner
/// container's other threads count too: what they add is already before the inner join, so
/// the critical path does not change.
fn thread_ends(
    start: usize,
    join: usize,
    children: &[Vec<usize>],
    threads: &[Thread],
) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![start];
    while let Some(i) = stack.pop() {
        // Events after the join (its `...Exited`, what follows) are not the container's.
        let next: Vec<usize> = children[i].iter().copied().filter(|&c| c < join).collect();
        if next.is_empty() && i != start {
            out.extend(threads[i].frontier.iter().copied());
        }
        stack.extend(next);
    }
    if out.is_empty() {
        // No thread ran (a map over an empty array): what came before the container.
        return threads[start].frontier.clone();
    }
    out.sort_unstable();
    out.dedup();
    out
}
