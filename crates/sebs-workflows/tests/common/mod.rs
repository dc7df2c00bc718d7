//! A scripted function invoker on tokio's paused clock: each function takes exact times and
//! computes its output with a closure, so engine tests check data passing and timings exactly.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sebs_core::result::{ExecutionResult, InvocationError};
use sebs_workflows::{Clock, FunctionInvoker};
use serde_json::{Value, json};

/// What a function computes: its output, or an error message.
pub type Body = Arc<dyn Fn(&Value) -> Result<Value, String> + Send + Sync>;

/// One scripted function.
#[derive(Clone)]
pub struct Script {
    /// Dispatch to the function's start (ms).
    pub before_ms: u64,
    /// In the function (ms).
    pub run_ms: u64,
    /// The function's end to the response (ms).
    pub after_ms: u64,
    pub body: Body,
}

pub fn script(
    before_ms: u64,
    run_ms: u64,
    after_ms: u64,
    body: impl Fn(&Value) -> Result<Value, String> + Send + Sync + 'static,
) -> Script {
    Script {
        before_ms,
        run_ms,
        after_ms,
        body: Arc::new(body),
    }
}

/// Functions by `func_name`; records the inputs each got and the most in flight at once.
pub struct Scripted {
    pub clock: Clock,
    pub functions: BTreeMap<String, Script>,
    pub inputs: Mutex<Vec<(String, Value)>>,
    in_flight: AtomicUsize,
    pub peak: AtomicUsize,
    warm: Mutex<HashSet<String>>,
}

impl Scripted {
    pub fn new(clock: Clock, functions: Vec<(&str, Script)>) -> Arc<Scripted> {
        Arc::new(Scripted {
            clock,
            functions: functions
                .into_iter()
                .map(|(n, s)| (n.to_string(), s))
                .collect(),
            inputs: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            warm: Mutex::new(HashSet::new()),
        })
    }

    pub fn inputs_of(&self, name: &str) -> Vec<Value> {
        self.inputs
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

#[async_trait]
impl FunctionInvoker for Scripted {
    async fn invoke(&self, func_name: &str, input: &Value) -> ExecutionResult {
        let s = self
            .functions
            .get(func_name)
            .unwrap_or_else(|| panic!("no script for {func_name}"))
            .clone();
        self.inputs
            .lock()
            .unwrap()
            .push((func_name.to_string(), input.clone()));
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(s.before_ms)).await;
        let begin = self.clock.now();
        tokio::time::sleep(Duration::from_millis(s.run_ms)).await;
        let end = self.clock.now();
        tokio::time::sleep(Duration::from_millis(s.after_ms)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let cold = self.warm.lock().unwrap().insert(func_name.to_string());
        let mut result = ExecutionResult {
            request_id: format!("req-{func_name}-{begin:.3}"),
            ..Default::default()
        };
        result.stats.cold_start = cold;
        match (s.body)(input) {
            Ok(out) => {
                result.output = json!({"begin": format!("{begin:.6}"), "end": format!("{end:.6}"), "is_cold": cold, "container_id": format!("c-{func_name}"), "result": out});
            }
            Err(message) => {
                result.stats.failure = true;
                result.error = Some(InvocationError {
                    kind: "ValueError".into(),
                    message,
                    traceback: vec![],
                });
            }
        }
        result
    }
}

/// Asserts two times are equal to a nanosecond.
#[track_caller]
pub fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "expected {expected}, got {actual}"
    );
}
