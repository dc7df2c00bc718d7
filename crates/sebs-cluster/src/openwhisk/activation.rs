//! Activation records: the result of a blocking invocation and the metrics `process` reads.
//!
//! OpenWhisk's published API description (`apiv1swagger.json`) gives an activation `start` and
//! `end` as strings and its outcome as `result: {status, value}`; the controller sends numbers
//! (epoch milliseconds), `duration`, `annotations` (`initTime`, `waitTime`, `limits`) and the
//! outcome as `response: {status, success, result}`. Both shapes are read.

use sebs_core::result::ProviderMetrics;
use serde_json::Value;

/// The outcome of an activation.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `success`, `application error`, `action developer error`, `whisk internal error`.
    pub status: String,
    /// The action's result (its return value, or `{"error": ...}`).
    pub result: Value,
}

impl Outcome {
    /// Whether the action succeeded.
    pub fn success(&self) -> bool {
        self.status == "success"
    }

    /// The error message of a failed activation.
    pub fn error_message(&self) -> String {
        match &self.result["error"] {
            Value::String(s) => s.clone(),
            Value::Null => format!("the activation ended with status `{}`", self.status),
            other => other.to_string(),
        }
    }
}

/// The outcome of `activation`.
pub fn outcome(activation: &Value) -> Outcome {
    let (record, result) = if activation["response"].is_object() {
        (&activation["response"], &activation["response"]["result"])
    } else {
        (&activation["result"], &activation["result"]["value"])
    };
    let status = record["status"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| match record["success"].as_bool() {
            Some(true) => "success".into(),
            _ => "unknown".into(),
        });
    Outcome {
        status,
        result: result.clone(),
    }
}

/// A number given as a JSON number or a numeric string.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The value of annotation `key`.
pub fn annotation<'a>(activation: &'a Value, key: &str) -> Option<&'a Value> {
    activation["annotations"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

/// Provider metrics of one activation record: execution time (`duration`, else `end - start`),
/// initialization (`initTime`, cold starts only), memory (`limits.memory`); OpenWhisk bills
/// nothing, so the billed time is the duration rounded up to a millisecond.
pub fn metrics(activation: &Value, memory_mb: u64) -> Option<ProviderMetrics> {
    let duration_ms = number(&activation["duration"])
        .or_else(|| Some(number(&activation["end"])? - number(&activation["start"])?))?;
    let init_ms = annotation(activation, "initTime").and_then(number);
    let memory = annotation(activation, "limits")
        .and_then(|l| l["memory"].as_u64())
        .unwrap_or(memory_mb);
    Some(ProviderMetrics {
        execution_us: (duration_ms * 1000.0).round().max(0.0) as u64,
        initialization_us: init_ms.map(|ms| (ms * 1000.0).round().max(0.0) as u64),
        billed_ms: duration_ms.ceil().max(0.0) as u64,
        memory_mb: memory,
        max_memory_used_mb: None,
    })
}

/// The time the activation waited in OpenWhisk before running (`waitTime`, ms), if recorded.
pub fn wait_ms(activation: &Value) -> Option<f64> {
    annotation(activation, "waitTime").and_then(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_controllers_shape_is_read() {
        let a = json!({
            "activationId": "a1", "start": 1700000000000u64, "end": 1700000000250u64,
            "duration": 250,
            "response": {"status": "success", "success": true, "result": {"begin": "1"}},
            "annotations": [{"key": "initTime", "value": 120}, {"key": "waitTime", "value": 7},
                            {"key": "limits", "value": {"memory": 512, "timeout": 60000}}]
        });
        assert!(outcome(&a).success());
        assert_eq!(outcome(&a).result["begin"], "1");
        let m = metrics(&a, 256).unwrap();
        assert_eq!(
            (
                m.execution_us,
                m.initialization_us,
                m.billed_ms,
                m.memory_mb
            ),
            (250_000, Some(120_000), 250, 512)
        );
        assert_eq!(wait_ms(&a), Some(7.0));
    }

    #[test]
    fn the_published_shape_is_read() {
        let a = json!({
            "activationId": "a2", "start": "1700000000000", "end": "1700000000010.5",
            "result": {"status": "application error", "value": {"error": "boom"}}, "logs": ""
        });
        let o = outcome(&a);
        assert!(!o.success());
        assert_eq!(o.error_message(), "boom");
        let m = metrics(&a, 128).unwrap();
        assert_eq!(
            (
                m.execution_us,
                m.initialization_us,
                m.billed_ms,
                m.memory_mb
            ),
            (10_500, None, 11, 128)
        );
    }
}
