//! Reading one invocation's result: the function's output, its own start and end, cold start,
//! instance, GB-seconds, and storage bytes from its profile.

use sebs_core::result::ExecutionResult;
use serde_json::Value;

use crate::run::FunctionExecution;

/// A number or a numeric string (the SeBS wrapper writes `"%.6f"` strings).
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The function's own `begin` and `end` (epoch seconds), when its response has both.
pub fn function_times(result: &ExecutionResult) -> Option<(f64, f64)> {
    if result.stats.failure {
        return None;
    }
    let begin = number(result.output.get("begin"))?;
    let end = number(result.output.get("end"))?;
    (end >= begin).then_some((begin, end))
}

/// The function's return value (the wrapper's `result`), or the error name and cause.
pub fn output(result: &ExecutionResult) -> Result<Value, (String, String)> {
    if result.stats.failure {
        return Err(match &result.error {
            Some(e) => (e.kind.clone(), e.message.clone()),
            None => (
                "States.TaskFailed".into(),
                "the invocation failed without a cause".into(),
            ),
        });
    }
    match result.output.get("result") {
        Some(v) => Ok(v.clone()),
        None => Err((
            "States.Runtime".into(),
            "the function's response has no `result`: is it deployed with the SeBS wrapper?".into(),
        )),
    }
}

/// The record of one invocation; `observed` (s, dispatch to response) bills an invocation
/// whose function reported no times (a failed one).
pub fn describe(
    func_name: &str,
    result: &ExecutionResult,
    memory_mb: u64,
    observed: f64,
) -> FunctionExecution {
    let out = &result.output;
    let gb_seconds = if result.billing.gb_seconds > 0.0 {
        result.billing.gb_seconds
    } else {
        // Lambda bills the duration rounded up to 1 ms.
        let seconds = function_times(result)
            .map(|(b, e)| e - b)
            .unwrap_or(observed);
        let ms = (seconds * 1000.0 - 1e-9).ceil().max(1.0);
        ms / 1000.0 * memory_mb as f64 / 1024.0
    };
    let (read, written) = storage_bytes(out);
    FunctionExecution {
        func_name: func_name.to_string(),
        request_id: result.request_id.clone(),
        cold: result.stats.cold_start
            || out.get("is_cold").and_then(Value::as_bool).unwrap_or(false),
        container_id: out
            .get("container_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        failed: result.stats.failure,
        error: result
            .error
            .as_ref()
            .map(|e| format!("{}: {}", e.kind, e.message)),
        memory_mb,
        gb_seconds,
        storage_read_bytes: read,
        storage_written_bytes: written,
    }
}

/// Bytes the function downloaded and uploaded, summed from the storage captures of its profile
/// (`profile.captures`, `kind: "storage"`), when it was profiled.
fn storage_bytes(out: &Value) -> (Option<u64>, Option<u64>) {
    let Some(captures) = out.pointer("/profile/captures").and_then(Value::as_array) else {
        return (None, None);
    };
    let (mut read, mut written) = (0u64, 0u64);
    for c in captures.iter().filter(|c| c["kind"] == "storage") {
        let bytes = c["bytes"].as_u64().unwrap_or(0);
        match c["operation"].as_str().unwrap_or("") {
            op if op.starts_with("download") => read += bytes,
            op if op.starts_with("upload") => written += bytes,
            _ => {}
        }
    }
    (Some(read), Some(written))
}
