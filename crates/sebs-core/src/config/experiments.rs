//! The `experiments` section: what to run and with which language.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Architecture, Language};

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
    /// In older versions of SeBS's example config; read neither by SeBS nor by sebs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocations: Option<u64>,
    /// In older versions of SeBS's example config; read neither by SeBS nor by sebs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u64>,
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

impl ExperimentsConfig {
    /// Settings present in the config that this build does not act on, each with the reason
    /// (see [`super::UserConfig::ignored_settings`]).
    pub(crate) fn ignored_settings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(variant) = &self.system_variant {
            // `package` is what every deployment of this build is.
            if variant != "default" && variant != "package" {
                out.push(format!(
                    "`experiments.system_variant` = \"{variant}\": this build deploys code packages only; the variant is not applied"
                ));
            }
        }
        if self.container_deployment == Some(true) {
            out.push(
                "`experiments.container_deployment` = true: container images are not built; functions are deployed as code packages"
                    .to_owned(),
            );
        }
        if self.download_results {
            out.push(
                "`experiments.download_results` = true: results are not downloaded from the platform (SeBS stores this flag unused too)"
                    .to_owned(),
            );
        }
        for (name, value) in &self.flags {
            out.push(format!(
                "`experiments.flags.{name}` = {value}: this build implements no feature flags"
            ));
        }
        if let Some(variant) = &self.runtime.variant
            && variant != "default"
        {
            out.push(format!(
                "`experiments.runtime.language-variant` = \"{variant}\": only the default interpreter is supported; functions run on it"
            ));
        }
        out
    }
}
