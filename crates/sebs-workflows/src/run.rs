//! The record of one workflow request: every state execution (a node of the executed DAG, with
//! the nodes it ran after), the function invocation behind it, the output or the failure.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One workflow request, as run by the engine or by a platform's own orchestrator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRun {
    /// The workflow (benchmark id).
    pub workflow: String,
    /// The request's id.
    pub request_id: String,
    /// When the request started (epoch seconds).
    pub begin: f64,
    /// When it ended (epoch seconds).
    pub end: f64,
    /// The last state's output (null when the request failed).
    pub output: Value,
    /// Why the request failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The state executions, in the order they started (ids count from 0).
    pub executions: Vec<StateExecution>,
    /// States entered, as Step Functions bills them (a map or parallel state, and every state
    /// in each of its iterations or branches).
    pub transitions: u64,
}

/// Why a workflow request failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The state that failed (its instance path, e.g. `map-state[2]/map`).
    pub state: String,
    /// The error name: the function's exception type, or Step Functions' name for an
    /// orchestration error (`States.DataLimitExceeded`, `States.NoChoiceMatched`,
    /// `States.Runtime`).
    pub error: String,
    /// What happened.
    pub cause: String,
}

/// One executed state: a function invocation (task, loop element, repeat step) or a switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateExecution {
    /// The node's id in the executed DAG (its index in `executions`).
    pub id: usize,
    /// The state's path in the definition, e.g. `map-state/map` (per-state statistics group by
    /// it).
    pub state: String,
    /// This execution's path with iteration indices, e.g. `map-state[2]/map`, `chain#3`.
    pub instance: String,
    /// The state's type (`task`, `switch`, `loop`, `repeat`).
    pub kind: String,
    /// The executions whose output this one consumed (empty: the workflow's input).
    pub after: Vec<usize>,
    /// When it started: the function's own start (`begin` of its response) for invocations
    /// that report one, else when the engine dispatched it.
    pub begin: f64,
    /// When it ended (the function's own end, else when the engine got the result).
    pub end: f64,
    /// Time spent in the function: `end - begin` when the function reported both, else 0
    /// (a switch, a failed invocation without times).
    pub function_time: f64,
    /// When the engine sent the request (epoch seconds).
    pub dispatched: f64,
    /// When the engine had the response.
    pub returned: f64,
    /// The invocation, for states that invoke a function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionExecution>,
}

/// What one function invocation reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionExecution {
    /// `func_name` in the definition.
    pub func_name: String,
    /// The platform's request id.
    pub request_id: String,
    /// Whether it was a cold start.
    pub cold: bool,
    /// The instance (container) that ran it.
    pub container_id: String,
    /// Whether it failed.
    pub failed: bool,
    /// The error, when it failed: `<type>: <message>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Configured memory (MB).
    pub memory_mb: u64,
    /// Billed GB-seconds: the provider's, else memory × the function time rounded up to 1 ms.
    pub gb_seconds: f64,
    /// Bytes downloaded from object storage, where the function's profile reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_read_bytes: Option<u64>,
    /// Bytes uploaded to object storage, where the function's profile reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_written_bytes: Option<u64>,
}

impl WorkflowRun {
    /// Whether the request succeeded.
    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
    }
}
