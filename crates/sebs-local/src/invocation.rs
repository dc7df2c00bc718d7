//! What one invocation produced, as the platform's API returns it.

use bytes::Bytes;

use crate::metrics::Report;

/// What an invocation produced.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The handler returned this JSON.
    Response(Bytes),
    /// The handler raised: a Lambda error JSON (`errorMessage`, `errorType`, `stackTrace`).
    FunctionError(Bytes),
    /// The platform could not complete the invocation (timeout, crash, OOM, init error).
    Failed {
        /// Error class: `Sandbox.Timedout`, `Runtime.OutOfMemory`, `Runtime.ExitError`, ...
        kind: String,
        /// Human-readable cause.
        message: String,
    },
}

impl Outcome {
    /// Lambda-style error JSON for `Failed` outcomes.
    pub fn error_body(kind: &str, message: &str) -> Bytes {
        Bytes::from(
            serde_json::to_vec(&serde_json::json!({"errorMessage": message, "errorType": kind}))
                .expect("serializes"),
        )
    }

    pub(crate) fn status(&self) -> &'static str {
        match self {
            Outcome::Response(_) => "success",
            Outcome::FunctionError(_) => "error",
            Outcome::Failed { kind, .. } => match kind.as_str() {
                "Sandbox.Timedout" => "timeout",
                "Runtime.OutOfMemory" => "oom",
                "Runtime.InitError" => "init_error",
                _ => "crash",
            },
        }
    }
}

/// The result of one invocation on the platform.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Request id given to the function.
    pub request_id: String,
    /// The instance that served it.
    pub instance_id: String,
    /// Whether the instance was started for this request.
    pub cold: bool,
    /// What happened.
    pub outcome: Outcome,
    /// The platform's record (duration, billing, memory, init).
    pub report: Report,
}
