//! Workflow requests in results: reading them back from an invocation's `output.workflow`,
//! the per-request breakdown `benchmark invoke` prints, and `workflow.json`.

use std::fmt::Write;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::metrics::Metrics;
use crate::run::WorkflowRun;

/// One request as recorded under `output.workflow` of its invocation in experiments.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// `sebs-engine`, or the platform whose orchestrator ran it (`aws`).
    pub orchestrator: String,
    /// What ran.
    pub run: WorkflowRun,
    /// Its metrics.
    pub metrics: Metrics,
}

impl Request {
    /// The request recorded in an invocation's `output`, if it is a workflow request.
    pub fn from_output(output: &Value) -> Option<Request> {
        serde_json::from_value(output.get("workflow")?.clone()).ok()
    }
}

/// `workflow.json`: the deployed workflow and every request's record and metrics
/// (docs/workflows.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResultsFile {
    /// `sebs-workflow/1`.
    pub format: String,
    /// The benchmark.
    pub workflow: String,
    /// `func_name` → deployed function, and the definition: the `workflow` block of the
    /// deployment record.
    pub deployment: Value,
    /// The requests, in the order they ran.
    pub requests: Vec<Request>,
}

/// The format tag of `workflow.json`.
pub const FORMAT: &str = "sebs-workflow/1";

fn ms(s: f64) -> String {
    format!("{:.2} ms", s * 1e3)
}

/// The breakdown of each request: total, critical path, overhead, invocations, transitions,
/// cost, and per state its executions, function time and span within the request.
pub fn breakdown(requests: &[Request]) -> String {
    let mut out = String::new();
    let n = requests.len();
    for (i, r) in requests.iter().enumerate() {
        let m = &r.metrics;
        let share = if m.total > 0.0 {
            m.overhead / m.total * 100.0
        } else {
            0.0
        };
        let status = match &r.run.failure {
            None => "ok".to_string(),
            Some(f) => format!("FAILED in {}: {}: {}", f.state, f.error, f.cause),
        };
        let _ = writeln!(
            out,
            "request {}/{n} {} ({}): {status}\n  total {}, critical path {}, overhead {} ({share:.1}%); {} invocations ({} cold), {} transitions, ${:.9}",
            i + 1,
            r.run.request_id,
            r.orchestrator,
            ms(m.total),
            ms(m.critical_path),
            ms(m.overhead),
            m.invocations,
            m.cold_starts,
            r.run.transitions,
            m.cost.total_usd
        );
        let _ = writeln!(
            out,
            "  {:<32} {:>5} {:>12} {:>24}",
            "state", "runs", "function", "span in request"
        );
        for (state, t) in &m.states {
            let _ = writeln!(
                out,
                "  {state:<32} {:>5} {:>12} {:>24}",
                t.executions,
                ms(t.function_time),
                format!("{} – {}", ms(t.first_begin), ms(t.last_end))
            );
        }
        if let Some(worst) = m
            .transitions
            .iter()
            .max_by(|a, b| a.latency.total_cmp(&b.latency))
        {
            let name = |id: Option<usize>, edge: &str| {
                id.and_then(|i| r.run.executions.get(i))
                    .map(|e| e.instance.clone())
                    .unwrap_or_else(|| edge.to_string())
            };
            let _ = writeln!(
                out,
                "  slowest transition: {} → {} {}",
                name(worst.from, "(start)"),
                name(worst.to, "(end)"),
                ms(worst.latency)
            );
        }
    }
    out
}
