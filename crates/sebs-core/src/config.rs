//! The user configuration: SeBS's config JSON (accepted unchanged), merged with command-line
//! overrides.
//!
//! Loading reports a malformed file with its line and column, a wrong type or value with the JSON
//! path and what was expected, and an unknown key as a warning (returned, not printed, so the
//! caller decides how to show it).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ConfigError;

/// A programming language benchmarks are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// CPython.
    Python,
    /// Node.js.
    Nodejs,
}

impl Language {
    /// The name used in SeBS configs and directory names.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Nodejs => "nodejs",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Language {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "python" => Ok(Language::Python),
            "nodejs" => Ok(Language::Nodejs),
            other => Err(format!(
                "unknown language `{other}`: expected `python` or `nodejs`"
            )),
        }
    }
}

/// A FaaS platform a benchmark can be deployed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentName {
    /// The embedded local platform.
    Local,
    /// AWS Lambda.
    Aws,
    /// Azure Functions.
    Azure,
    /// Google Cloud Functions / Run.
    Gcp,
    /// Apache OpenWhisk.
    Openwhisk,
}

impl DeploymentName {
    /// The name used in configs and cache files.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentName::Local => "local",
            DeploymentName::Aws => "aws",
            DeploymentName::Azure => "azure",
            DeploymentName::Gcp => "gcp",
            DeploymentName::Openwhisk => "openwhisk",
        }
    }
}

impl fmt::Display for DeploymentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// CPU architecture of the deployed functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// x86-64.
    #[default]
    X64,
    /// 64-bit ARM.
    Arm64,
}

impl Architecture {
    /// The name used in configs and cache paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X64 => "x64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// `experiments.runtime`: the language and its version.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// `python` or `nodejs`.
    pub language: Option<Language>,
    /// The language version, e.g. `3.11`.
    pub version: Option<String>,
    /// A language variant (`default`, `pypy`, `bun`, ...).
    #[serde(rename = "language-variant", skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// `experiments.perf-cost`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PerfCostConfig {
    /// Benchmark to run.
    pub benchmark: Option<String>,
    /// Experiment types: cold, warm, burst, sequential.
    pub experiments: Option<Vec<String>>,
    /// Input size.
    pub input_size: Option<String>,
    /// Samples per configuration.
    pub repetitions: Option<u64>,
    /// Invocations per batch.
    pub concurrent_invocations: Option<u64>,
    /// Memory sizes to sweep (MB).
    pub memory_sizes: Option<Vec<u64>>,
}

/// `experiments.network-ping-pong`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkPingPongConfig {
    /// Concurrent invocations.
    pub invocations: Option<u64>,
    /// Round trips per invocation.
    pub repetitions: Option<u64>,
    /// Driver threads.
    pub threads: Option<u64>,
}

/// `experiments.invocation-overhead` (both SeBS's documented `code_*` keys and the
/// `code_package_*` keys its code reads are accepted).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvocationOverheadConfig {
    /// Samples per size.
    pub repetitions: Option<u64>,
    /// Clock-synchronisation round trips.
    #[serde(rename = "N")]
    pub n: Option<u64>,
    /// `payload` or `code`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// First payload size (bytes).
    pub payload_begin: Option<u64>,
    /// Last payload size (bytes).
    pub payload_end: Option<u64>,
    /// Number of payload sizes.
    pub payload_points: Option<u64>,
    /// First code package size (bytes).
    #[serde(alias = "code_package_begin")]
    pub code_begin: Option<u64>,
    /// Last code package size (bytes).
    #[serde(alias = "code_package_end")]
    pub code_end: Option<u64>,
    /// Number of code package sizes.
    #[serde(alias = "code_package_points")]
    pub code_points: Option<u64>,
}

/// `experiments.eviction-model`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvictionModelConfig {
    /// Invocations per interval.
    pub invocations: Option<u64>,
    /// Which function copy to use.
    pub function_copy_idx: Option<u64>,
    /// Repetitions.
    pub repetitions: Option<u64>,
    /// Sleep between phases (s).
    pub sleep: Option<f64>,
    /// TCP base port of the driver.
    #[serde(rename = "client-port")]
    pub client_port: Option<u16>,
    /// Idle times to probe, in seconds (sebs extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<Vec<f64>>,
    /// Benchmark to probe with (sebs extension; default 040.server-reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<String>,
}

/// The `experiments` section of a SeBS config.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentsConfig {
    /// Informational in SeBS (the deployment comes from `deployment.name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// Force a rebuild of code packages.
    #[serde(default)]
    pub update_code: bool,
    /// Re-upload benchmark inputs.
    #[serde(default)]
    pub update_storage: bool,
    /// Stored, unused (as in SeBS).
    #[serde(default)]
    pub download_results: bool,
    /// Target architecture.
    #[serde(default)]
    pub architecture: Architecture,
    /// Deployment variant (`package`, `container`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_variant: Option<String>,
    /// Legacy SeBS flag equivalent to `system_variant: container`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_deployment: Option<bool>,
    /// Language and version.
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// Informational experiment type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Boolean feature flags.
    #[serde(default)]
    pub flags: BTreeMap<String, bool>,
    /// A benchmark catalogue other than the built-in one (sebs extension).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub benchmarks_dir: Option<PathBuf>,
    /// perf-cost settings.
    #[serde(rename = "perf-cost", skip_serializing_if = "Option::is_none")]
    pub perf_cost: Option<PerfCostConfig>,
    /// network-ping-pong settings.
    #[serde(rename = "network-ping-pong", skip_serializing_if = "Option::is_none")]
    pub network_ping_pong: Option<NetworkPingPongConfig>,
    /// invocation-overhead settings.
    #[serde(
        rename = "invocation-overhead",
        skip_serializing_if = "Option::is_none"
    )]
    pub invocation_overhead: Option<InvocationOverheadConfig>,
    /// eviction-model settings.
    #[serde(rename = "eviction-model", skip_serializing_if = "Option::is_none")]
    pub eviction_model: Option<EvictionModelConfig>,
}

/// How the local platform creates an instance on a cold start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColdStartMode {
    /// A fresh interpreter per instance: what a cloud cold start is.
    #[default]
    Exec,
    /// Fork from a per-function zygote that has imported the function.
    Fork,
}

impl ColdStartMode {
    /// `exec` or `fork`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColdStartMode::Exec => "exec",
            ColdStartMode::Fork => "fork",
        }
    }
}

impl fmt::Display for ColdStartMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ColdStartMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "exec" => Ok(ColdStartMode::Exec),
            "fork" => Ok(ColdStartMode::Fork),
            other => Err(format!(
                "unknown cold-start mode `{other}`: expected `exec` or `fork`"
            )),
        }
    }
}

/// Per-function overrides of the local platform's settings (`deployment.local.functions.<name>`,
/// where the name is a function name or a benchmark id).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LocalFunctionConfig {
    /// Keep-alive of idle instances in seconds (0: never reuse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<f64>,
    /// Concurrency limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<usize>,
    /// Cold-start mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_start: Option<ColdStartMode>,
    /// Whether the function may use the network (matters with `namespaces`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<bool>,
}

/// `deployment.local`: the local platform.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LocalDeploymentConfig {
    /// Storage configuration (the output of `sebs storage start`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Value>,
    /// Keep-alive of idle instances in seconds (default 600; 0: never reuse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<f64>,
    /// Concurrency limit per function (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<usize>,
    /// Requests that may wait beyond the concurrency limit before throttling (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_size: Option<usize>,
    /// Cold-start mode (default `exec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_start: Option<ColdStartMode>,
    /// CPU share proportional to memory, 1 vCPU at 1769 MB (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_share: Option<bool>,
    /// Use cgroups for limits where writable (default true; false: rlimits only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroups: Option<bool>,
    /// Maximum processes/threads per instance (default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<u64>,
    /// Isolate instances in mount (private /tmp) and network namespaces where the host allows
    /// (default false: costs 1–2 ms per cold start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<bool>,
    /// Whether functions may use the network (default true; false needs `namespaces`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<bool>,
    /// Microseconds the gateway and instances busy-poll for the next message before sleeping,
    /// while at most half of the CPUs are busy with invocations (default 200; 0: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy_poll_us: Option<u64>,
    /// Per-function overrides.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, LocalFunctionConfig>,
}

/// The `deployment` section of a SeBS config. Cloud sections are kept verbatim until their
/// backends read them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    /// The platform to deploy to.
    pub name: DeploymentName,
    /// Local platform settings.
    #[serde(default)]
    pub local: LocalDeploymentConfig,
    /// AWS settings (verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<Value>,
    /// Azure settings (verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<Value>,
    /// GCP settings (verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<Value>,
    /// OpenWhisk settings (verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openwhisk: Option<Value>,
}

impl Default for DeploymentConfig {
    fn default() -> Self {
        DeploymentConfig {
            name: DeploymentName::Local,
            local: LocalDeploymentConfig::default(),
            aws: None,
            azure: None,
            gcp: None,
            openwhisk: None,
        }
    }
}

/// A whole SeBS user config.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Experiment settings.
    #[serde(default)]
    pub experiments: ExperimentsConfig,
    /// Deployment settings.
    #[serde(default)]
    pub deployment: DeploymentConfig,
}

/// A config file and what loading it noticed.
#[derive(Debug)]
pub struct LoadedConfig {
    /// The parsed config.
    pub config: UserConfig,
    /// Keys the config has but sebs does not use, as JSON paths.
    pub unknown_keys: Vec<String>,
}

impl UserConfig {
    /// Load a SeBS config file.
    pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<LoadedConfig, ConfigError> {
        // First pass: syntax, so a malformed file is reported with line and column.
        let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        let mut unknown = Vec::new();
        let value = strip_unknown(value, &mut unknown);
        let config: UserConfig =
            serde_path_to_error::deserialize(value).map_err(|e| ConfigError::Invalid {
                path: path.to_owned(),
                json_path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        Ok(LoadedConfig {
            config,
            unknown_keys: unknown,
        })
    }
}

/// Remove keys sebs does not know (recording their paths) so strict deserialization only fails on
/// real type or value errors. The known-key table mirrors the structs above.
fn strip_unknown(value: Value, unknown: &mut Vec<String>) -> Value {
    fn known(path: &str) -> Option<&'static [&'static str]> {
        Some(match path {
            "" => &["experiments", "deployment"],
            "experiments" => &[
                "deployment",
                "update_code",
                "update_storage",
                "download_results",
                "architecture",
                "system_variant",
                "container_deployment",
                "runtime",
                "type",
                "flags",
                "benchmarks_dir",
                "perf-cost",
                "network-ping-pong",
                "invocation-overhead",
                "eviction-model",
            ],
            "experiments.runtime" => &["language", "version", "language-variant"],
            "experiments.perf-cost" => &[
                "benchmark",
                "experiments",
                "input-size",
                "repetitions",
                "concurrent-invocations",
                "memory-sizes",
            ],
            "experiments.network-ping-pong" => &["invocations", "repetitions", "threads"],
            "experiments.invocation-overhead" => &[
                "repetitions",
                "N",
                "type",
                "payload_begin",
                "payload_end",
                "payload_points",
                "code_begin",
                "code_end",
                "code_points",
                "code_package_begin",
                "code_package_end",
                "code_package_points",
            ],
            "experiments.eviction-model" => &[
                "invocations",
                "function_copy_idx",
                "repetitions",
                "sleep",
                "client-port",
                "times",
                "benchmark",
            ],
            "deployment" => &["name", "local", "aws", "azure", "gcp", "openwhisk"],
            "deployment.local" => &[
                "storage",
                "keep-alive",
                "concurrency-limit",
                "queue-size",
                "cold-start",
                "cpu-share",
                "cgroups",
                "pids-limit",
                "namespaces",
                "network",
                "functions",
            ],
            _ => return None,
        })
    }
    fn walk(value: Value, path: &str, unknown: &mut Vec<String>) -> Value {
        let Some(keys) = known(path) else {
            return value;
        };
        match value {
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    let child = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    if keys.contains(&k.as_str()) {
                        let v = walk(v, &child, unknown);
                        out.insert(k, v);
                    } else {
                        unknown.push(child);
                    }
                }
                Value::Object(out)
            }
            other => other,
        }
    }
    walk(value, "", unknown)
}

/// serde_json appends " at line L column C"; we print the position ourselves.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LoadedConfig, ConfigError> {
        UserConfig::parse(text, Path::new("c.json"))
    }

    #[test]
    fn accepts_sebs_example_config() {
        let text = r#"{
          "experiments": {
            "deployment": "aws", "update_code": false, "update_storage": false,
            "download_results": false, "architecture": "x64", "container_deployment": false,
            "runtime": {"language": "python", "version": "3.11"}, "type": "invocation-overhead",
            "perf-cost": {"benchmark": "110.dynamic-html", "experiments": ["cold", "warm", "burst", "sequential"],
              "input-size": "test", "repetitions": 50, "concurrent-invocations": 50, "memory-sizes": [128, 256]},
            "network-ping-pong": {"invocations": 50, "repetitions": 1000, "threads": 1},
            "invocation-overhead": {"repetitions": 5, "N": 20, "type": "payload", "payload_begin": 1024,
              "payload_end": 6251000, "payload_points": 20, "code_begin": 1048576, "code_end": 261619712, "code_points": 20},
            "eviction-model": {"invocations": 1, "function_copy_idx": 0, "repetitions": 5, "sleep": 1}
          },
          "deployment": {"name": "aws", "aws": {"region": "us-east-1", "lambda-role": ""},
            "local": {"storage": {}}}
        }"#;
        let loaded = parse(text).unwrap();
        assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
        let c = loaded.config;
        assert_eq!(c.deployment.name, DeploymentName::Aws);
        assert_eq!(c.experiments.runtime.language, Some(Language::Python));
        assert_eq!(
            c.experiments.perf_cost.unwrap().memory_sizes,
            Some(vec![128, 256])
        );
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = parse("{\n  \"experiments\": {,\n}").unwrap_err();
        match err {
            ConfigError::Syntax { line, column, .. } => {
                assert_eq!(line, 2);
                assert_eq!(column, 19);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn type_error_names_json_path() {
        let err = parse(r#"{"experiments": {"runtime": {"language": "cobol"}}}"#).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("experiments.runtime.language"), "{text}");
        assert!(text.contains("python"), "{text}");
        let err = parse(r#"{"experiments": {"update_code": "yes"}}"#).unwrap_err();
        assert!(err.to_string().contains("experiments.update_code"), "{err}");
    }

    #[test]
    fn unknown_keys_are_reported_not_fatal() {
        let loaded = parse(
            r#"{"experiments": {"runtime": {"language": "python", "flavour": 1}}, "extra": 2}"#,
        )
        .unwrap();
        assert_eq!(
            loaded.unknown_keys,
            vec!["experiments.runtime.flavour".to_owned(), "extra".to_owned()]
        );
    }
}
