//! What one invocation produced, as the platform's API returns it.

use bytes::Bytes;

use crate::metrics::Report;

/// Lambda's error type for a response over the payload limit.
const RESPONSE_TOO_LARGE: &str = "Function.ResponseSizeTooLarge";

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

    /// A response of `size` bytes was over [`crate::MAX_PAYLOAD`]: Lambda's
    /// `Function.ResponseSizeTooLarge`.
    pub(crate) fn too_large(size: usize) -> Outcome {
        Outcome::Failed {
            kind: RESPONSE_TOO_LARGE.into(),
            message: format!(
                "Response payload size ({size} bytes) exceeded maximum allowed payload size ({} bytes)",
                crate::MAX_PAYLOAD
            ),
        }
    }

    /// Whether the instance that produced this outcome may serve the next request: it answered
    /// (a response, a function error, or a response it knew was too large and did not send).
    pub(crate) fn keeps_instance(&self) -> bool {
        match self {
            Outcome::Response(_) | Outcome::FunctionError(_) => true,
            Outcome::Failed { kind, .. } => kind == RESPONSE_TOO_LARGE,
        }
    }

    pub(crate) fn status(&self) -> &'static str {
        match self {
            Outcome::Response(_) => "success",
            Outcome::FunctionError(_) => "error",
            Outcome::Failed { kind, .. } => match kind.as_str() {
                "Sandbox.Timedout" => "timeout",
                "Runtime.OutOfMemory" => "oom",
                "Runtime.InitError" => "init_error",
                // The function ran and answered; its answer broke a limit, as a raise would.
                RESPONSE_TOO_LARGE => "error",
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
