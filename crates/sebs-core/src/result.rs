//! The result model, in SeBS's JSON format (§7.5 of the contract): `ExecutionResult` per
//! invocation and `ExperimentResult` per run. Times are microseconds unless named otherwise;
//! `http_startup` and `http_first_byte_return` are seconds, as in SeBS.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Provider-side billing of one invocation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Billing {
    /// Billed duration in ms.
    #[serde(rename = "_billed_time")]
    pub billed_time: Option<u64>,
    /// GB-seconds.
    #[serde(rename = "_gb_seconds")]
    pub gb_seconds: f64,
    /// Configured memory in MB.
    #[serde(rename = "_memory")]
    pub memory: Option<u64>,
}

/// Provider-measured times (µs).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProviderTimes {
    /// Execution duration.
    pub execution: u64,
    /// Initialization (cold start) duration.
    pub initialization: u64,
}

/// Per-invocation flags.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    /// Whether the function reported a cold start.
    pub cold_start: bool,
    /// Whether the invocation failed.
    pub failure: bool,
    /// Peak memory in MB, if the provider reports it.
    pub memory_used: Option<f64>,
}

/// Client- and function-side times.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Times {
    /// Function time (µs): `end - begin` reported by the wrapper.
    pub benchmark: u64,
    /// Client time (µs): request sent to response received.
    pub client: u64,
    /// When the client started the request (`YYYY-mm-dd HH:MM:SS.ffffff`, local time).
    pub client_begin: String,
    /// When the client received the response.
    pub client_end: String,
    /// Connection set-up time (s), HTTP triggers only.
    #[serde(default)]
    pub http_startup: f64,
    /// Time to the first response byte (s), HTTP triggers only.
    #[serde(default)]
    pub http_first_byte_return: f64,
    /// Initialization time (µs) as seen by the client, if known.
    #[serde(default)]
    pub initialization: u64,
}

/// Why an invocation failed (sebs extension; SeBS only has `stats.failure`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InvocationError {
    /// Error class: the exception type, `Timeout`, `Crash`, `Transport`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable cause.
    pub message: String,
    /// Stack trace lines, when the function raised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traceback: Vec<String>,
}

/// Outcome of `validate_output` (sebs extension, present with `--validate`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Validation {
    /// Whether the output passed.
    pub passed: bool,
    /// What differed, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One invocation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ExecutionResult {
    /// Billing data.
    pub billing: Billing,
    /// The wrapper's response JSON (or the error payload of a failed invocation).
    pub output: Value,
    /// Provider-measured times.
    pub provider_times: ProviderTimes,
    /// Request id.
    pub request_id: String,
    /// Flags.
    pub stats: Stats,
    /// Times.
    pub times: Times,
    /// Cause of a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<InvocationError>,
    /// Validation outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
}

impl ExecutionResult {
    /// Whether the invocation succeeded (and passed validation, if validated).
    pub fn succeeded(&self) -> bool {
        !self.stats.failure && self.validation.as_ref().is_none_or(|v| v.passed)
    }

    /// A value from the benchmark's `measurement` dict (µs), if present.
    pub fn measurement(&self, key: &str) -> Option<f64> {
        self.output
            .get("result")?
            .get("measurement")?
            .get(key)?
            .as_f64()
    }
}

/// One run (SeBS's `ExperimentResult`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExperimentResult {
    /// function name → request id → invocation.
    #[serde(rename = "_invocations")]
    pub invocations: BTreeMap<String, BTreeMap<String, ExecutionResult>>,
    /// function name → provider metrics.
    #[serde(rename = "_metrics", default, alias = "metrics")]
    pub metrics: BTreeMap<String, Value>,
    /// Start of the run (epoch seconds).
    pub begin_time: f64,
    /// End of the run (epoch seconds).
    pub end_time: f64,
    /// The configuration used (`experiments` and non-secret `deployment` parts).
    pub config: Value,
    /// Bucket holding function-side results, if any.
    pub result_bucket: Option<String>,
}

impl ExperimentResult {
    /// Record an invocation under `function`; failed invocations without a request id are keyed
    /// `failed-N` as in SeBS.
    pub fn add(&mut self, function: &str, result: ExecutionResult) {
        let entries = self.invocations.entry(function.to_owned()).or_default();
        let key = if result.request_id.is_empty() || entries.contains_key(&result.request_id) {
            format!("failed-{}", entries.len())
        } else {
            result.request_id.clone()
        };
        entries.insert(key, result);
    }

    /// All invocations in the order they were started (by `client_begin`).
    pub fn ordered(&self) -> Vec<(&str, &ExecutionResult)> {
        let mut all: Vec<_> = self
            .invocations
            .iter()
            .flat_map(|(f, m)| m.values().map(move |r| (f.as_str(), r)))
            .collect();
        all.sort_by(|a, b| a.1.times.client_begin.cmp(&b.1.times.client_begin));
        all
    }

    /// Read a result file.
    pub fn load(path: &Path) -> Result<ExperimentResult> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read result file {}", path.display()))?;
        let mut de = serde_json::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a SeBS result file (at `{}`: {}); expected experiments.json written by `sebs benchmark invoke`",
                path.display(),
                e.path(),
                e.inner()
            )
        })
    }
}

/// The experiment sections SeBS's `Config` keeps under `experiments` (its `serialize`) and reads
/// back from the top level (its `deserialize`).
const EXPERIMENT_SECTIONS: [&str; 4] = [
    "perf-cost",
    "network-ping-pong",
    "invocation-overhead",
    "eviction-model",
];

/// `config.experiments` of a result file: every field SeBS 1.2.0's `ExperimentConfig.serialize`
/// writes (`update_code`, `update_storage`, `download_results`, `runtime`, `flags`,
/// `experiments`, `architecture`, `container_deployment`), the newer `system_variant` and
/// `runtime.language-variant`, plus the config's own keys (the experiment sections also at the
/// top level, where SeBS's `deserialize` reads them).
///
/// `language` and `version` are the runtime actually used, which command-line flags may have
/// changed from the config's; the variant is `default`, the only one sebs builds.
pub fn sebs_experiments_block(
    experiments: &crate::config::ExperimentsConfig,
    language: &str,
    version: &str,
) -> Value {
    let mut block = match serde_json::to_value(experiments) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    // The runtime that ran: sebs builds the default variant of every language.
    block.insert(
        "runtime".into(),
        serde_json::json!({"language": language, "version": version, "language-variant": "default"}),
    );
    let system_variant = experiments.system_variant.clone().unwrap_or_else(|| {
        if experiments.container_deployment == Some(true) {
            "container".to_owned()
        } else {
            "package".to_owned()
        }
    });
    block.insert(
        "container_deployment".into(),
        Value::Bool(system_variant == "container"),
    );
    block.insert("system_variant".into(), Value::String(system_variant));
    let sections: serde_json::Map<String, Value> = EXPERIMENT_SECTIONS
        .iter()
        .filter_map(|name| block.get(*name).map(|v| ((*name).to_owned(), v.clone())))
        .collect();
    block.insert("experiments".into(), Value::Object(sections));
    Value::Object(block)
}

/// The `config` block of a result file, as SeBS writes it: `experiments` (see
/// [`sebs_experiments_block`]) and the non-secret `deployment` (`name`, `region`, `credentials`,
/// `resources` always present).
pub fn sebs_config_block(
    experiments: &crate::config::ExperimentsConfig,
    language: &str,
    version: &str,
    mut deployment: Value,
) -> Value {
    if !deployment.is_object() {
        deployment = serde_json::json!({});
    }
    for (key, default) in [
        ("name", serde_json::json!("local")),
        ("region", serde_json::json!("")),
        ("credentials", serde_json::json!({})),
        ("resources", serde_json::json!({})),
    ] {
        if deployment.get(key).is_none() {
            deployment[key] = default;
        }
    }
    serde_json::json!({
        "experiments": sebs_experiments_block(experiments, language, version),
        "deployment": deployment,
    })
}

/// Local time as SeBS prints `client_begin`/`client_end`.
pub fn timestamp(t: chrono::DateTime<chrono::Local>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_sebs_field_names() {
        let mut exp = ExperimentResult::default();
        exp.add(
            "f",
            ExecutionResult {
                request_id: "r1".into(),
                ..Default::default()
            },
        );
        exp.add("f", ExecutionResult::default());
        let v = serde_json::to_value(&exp).unwrap();
        let inv = &v["_invocations"]["f"];
        assert!(inv["r1"]["billing"].get("_billed_time").is_some());
        assert!(inv["r1"]["times"].get("http_first_byte_return").is_some());
        assert!(inv.get("failed-1").is_some());
        assert!(v.get("_metrics").is_some() && v.get("result_bucket").is_some());
        let back: ExperimentResult = serde_json::from_value(v).unwrap();
        assert_eq!(back.invocations["f"].len(), 2);
    }

    #[test]
    fn config_block_has_every_field_sebs_reads_and_writes() {
        let mut experiments = crate::config::ExperimentsConfig {
            perf_cost: Some(crate::config::PerfCostConfig {
                repetitions: Some(3),
                ..Default::default()
            }),
            ..Default::default()
        };
        let block = sebs_config_block(&experiments, "python", "3.11", Value::Null);
        let e = &block["experiments"];
        for key in [
            "update_code",
            "update_storage",
            "download_results",
            "runtime",
            "flags",
            "experiments",
            "architecture",
            "container_deployment",
            "system_variant",
        ] {
            assert!(e.get(key).is_some(), "missing {key} in {e}");
        }
        assert_eq!(e["container_deployment"], false);
        assert_eq!(e["system_variant"], "package");
        assert_eq!(e["architecture"], "x64");
        assert_eq!(e["runtime"]["language-variant"], "default");
        assert_eq!(e["experiments"]["perf-cost"]["repetitions"], 3);
        assert_eq!(e["perf-cost"]["repetitions"], 3, "also where SeBS reads it");
        assert_eq!(block["deployment"]["name"], "local");
        assert!(block["deployment"]["resources"].is_object());

        experiments.container_deployment = Some(true);
        let e = sebs_experiments_block(&experiments, "nodejs", "20");
        assert_eq!(e["container_deployment"], true);
        assert_eq!(e["system_variant"], "container");
        assert_eq!(e["runtime"]["language"], "nodejs");
    }

    #[test]
    fn success_accounts_for_validation() {
        let mut r = ExecutionResult::default();
        assert!(r.succeeded());
        r.validation = Some(Validation {
            passed: false,
            message: Some("x".into()),
        });
        assert!(!r.succeeded());
    }
}

/// What a provider measured for one invocation: the fields of AWS Lambda's `REPORT` log line
/// (the local platform writes the same record to its metrics log). Every platform's
/// `provider_metrics` returns these, so processing is the same whatever the platform.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProviderMetrics {
    /// Execution duration (µs).
    pub execution_us: u64,
    /// Initialization duration (µs) of a cold start; `None` for warm invocations.
    pub initialization_us: Option<u64>,
    /// Billed duration (ms).
    pub billed_ms: u64,
    /// Configured memory (MB).
    pub memory_mb: u64,
    /// Peak memory used (MB), if the provider reports it.
    pub max_memory_used_mb: Option<u64>,
}

impl ProviderMetrics {
    /// GB-seconds billed: billed duration × configured memory.
    pub fn gb_seconds(&self) -> f64 {
        self.billed_ms as f64 / 1000.0 * self.memory_mb as f64 / 1024.0
    }

    /// Write these metrics into `result`: `provider_times`, `billing` and
    /// `stats.memory_used` (a warm invocation gets an initialization time of 0).
    pub fn apply_to(&self, result: &mut ExecutionResult) {
        result.provider_times.execution = self.execution_us;
        result.provider_times.initialization = self.initialization_us.unwrap_or(0);
        result.billing.billed_time = Some(self.billed_ms);
        result.billing.memory = Some(self.memory_mb);
        result.billing.gb_seconds = self.gb_seconds();
        result.stats.memory_used = self.max_memory_used_mb.map(|mb| mb as f64);
    }
}
