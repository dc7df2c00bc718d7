//! Per-request metrics of a [`WorkflowRun`]: total time, the critical path through the executed
//! DAG, orchestration overhead, the latency of every transition, per-state times and cost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cost::{Cost, Prices};
use crate::run::WorkflowRun;

/// The metrics of one request (seconds unless named otherwise).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// End minus begin of the request.
    pub total: f64,
    /// The longest path through the executed DAG, weighing each execution by its function
    /// time (`StateExecution::function_time`).
    pub critical_path: f64,
    /// `total - critical_path`: time not spent in a function on the critical path
    /// (invocation latency, cold-start initialisation, data passing, orchestration).
    pub overhead: f64,
    /// The executions on the critical path, first to last.
    pub critical_states: Vec<usize>,
    /// Every edge of the executed DAG with its latency; `from: None` is the request's start,
    /// `to: None` its end.
    pub transitions: Vec<Transition>,
    /// Per state (its definition path): executions, function time and span.
    pub states: BTreeMap<String, StateTimes>,
    /// Function invocations.
    pub invocations: u64,
    /// Of those, cold starts.
    pub cold_starts: u64,
    /// Billed GB-seconds of all invocations.
    pub gb_seconds: f64,
    /// Bytes read from and written to storage, summed over invocations that report them.
    pub storage_read_bytes: u64,
    /// See `storage_read_bytes`.
    pub storage_written_bytes: u64,
    /// The request's cost at `prices`.
    pub cost: Cost,
    /// The prices used.
    pub prices: Prices,
}

/// One edge of the executed DAG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// The execution whose output was handed on (`None`: the request's start).
    pub from: Option<usize>,
    /// The execution that received it (`None`: the request's end).
    pub to: Option<usize>,
    /// The gap between `from`'s end and `to`'s start.
    pub latency: f64,
}

/// The executions of one state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateTimes {
    /// How many times it ran.
    pub executions: u64,
    /// Function time summed over them.
    pub function_time: f64,
    /// First start to last end, relative to the request's begin.
    pub first_begin: f64,
    /// See `first_begin`.
    pub last_end: f64,
}

/// The metrics of `run` at `prices`.
pub fn analyse(run: &WorkflowRun, prices: &Prices) -> Metrics {
    let execs = &run.executions;
    let (critical_path, critical_states) = critical_path(run);
    let total = (run.end - run.begin).max(0.0);
    let mut m = Metrics {
        total,
        critical_path,
        overhead: total - critical_path,
        critical_states,
        transitions: transitions(run),
        prices: prices.clone(),
        ..Default::default()
    };
    for e in execs {
        let s = m.states.entry(e.state.clone()).or_default();
        let (b, en) = (e.begin - run.begin, e.end - run.begin);
        if s.executions == 0 || b < s.first_begin {
            s.first_begin = b;
        }
        s.last_end = s.last_end.max(en);
        s.executions += 1;
        s.function_time += e.function_time;
        if let Some(f) = &e.function {
            m.invocations += 1;
            m.cold_starts += u64::from(f.cold);
            m.gb_seconds += f.gb_seconds;
            m.storage_read_bytes += f.storage_read_bytes.unwrap_or(0);
            m.storage_written_bytes += f.storage_written_bytes.unwrap_or(0);
        }
    }
    m.cost = Cost::of(prices, m.gb_seconds, m.invocations, run.transitions);
    m
}

/// The heaviest path and its executions. Predecessors always have smaller ids (an execution
/// is recorded after those it consumed), so one pass in id order suffices.
fn critical_path(run: &WorkflowRun) -> (f64, Vec<usize>) {
    let execs = &run.executions;
    let mut best = vec![0.0f64; execs.len()];
    let mut via: Vec<Option<usize>> = vec![None; execs.len()];
    for (i, e) in execs.iter().enumerate() {
        let prev = e
            .after
            .iter()
            .filter(|&&p| p < i)
            .max_by(|&&a, &&b| best[a].total_cmp(&best[b]).then(b.cmp(&a)));
        best[i] = e.function_time + prev.map_or(0.0, |&p| best[p]);
        via[i] = prev.copied();
    }
    let Some(last) = (0..execs.len()).max_by(|&a, &b| best[a].total_cmp(&best[b]).then(b.cmp(&a)))
    else {
        return (0.0, Vec::new());
    };
    let mut path = vec![last];
    while let Some(p) = via[*path.last().expect("never empty")] {
        path.push(p);
    }
    path.reverse();
    (best[last], path)
}

/// Every edge with its gap: start → first executions, predecessors → each execution, last
/// executions (those nothing consumed) → end.
fn transitions(run: &WorkflowRun) -> Vec<Transition> {
    let execs = &run.executions;
    let mut consumed = vec![false; execs.len()];
    let mut out = Vec::new();
    for e in execs {
        if e.after.is_empty() {
            out.push(Transition {
                from: None,
                to: Some(e.id),
                latency: e.begin - run.begin,
            });
        }
        for &p in &e.after {
            consumed[p] = true;
            out.push(Transition {
                from: Some(p),
                to: Some(e.id),
                latency: e.begin - execs[p].end,
            });
        }
    }
    for e in execs.iter().filter(|e| !consumed[e.id]) {
        out.push(Transition {
            from: Some(e.id),
            to: None,
            latency: run.end - e.end,
        });
    }
    out
}
