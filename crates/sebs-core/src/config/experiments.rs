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

/// `experiments.trigger-latency` (a sebs experiment): the time from sending to the function's
/// entry per trigger kind.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TriggerLatencyConfig {
    /// Trigger kinds measured (`http`, `library`, `storage`, `queue`; default all four).
    pub triggers: Option<Vec<String>>,
    /// Sequential invocations per kind.
    pub repetitions: Option<u64>,
    /// Concurrent invocations per kind after the sequential ones (0: none).
    pub burst: Option<u64>,
    /// Clock-synchronisation round trips that must not improve the minimum RTT (030's `N`).
    pub sync_repetitions: Option<u64>,
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

/// `experiments.scaling` (a sebs experiment): an open-loop load on one benchmark.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScalingConfig {
    /// Benchmark to run (default `010.sleep`).
    pub benchmark: Option<String>,
    /// Input size (default `test`).
    pub input_size: Option<String>,
    /// Keys merged over the generated input (e.g. `{"sleep": 0.1}` for `010.sleep`).
    pub payload: Option<serde_json::Map<String, serde_json::Value>>,
    /// Memory of the function in MB (default 256).
    pub memory: Option<u64>,
    /// `http` (default) or `library`.
    pub trigger: Option<String>,
    /// `reuse` (default: connections kept between requests, as load generators do) or
    /// `per-request` (a new connection per request, as `benchmark invoke` does).
    pub connections: Option<String>,
    /// The arrival process.
    pub load: Option<LoadConfig>,
    /// Spacing of arrivals under the load's rate: `uniform` (default: evenly spaced) or
    /// `poisson` (exponential gaps).
    pub arrivals: Option<String>,
    /// Seed of every random choice (Poisson gaps, trace sampling); default 1.
    pub seed: Option<u64>,
    /// Seconds between samples of the platform's instance count (default 1).
    pub sample_interval: Option<f64>,
    /// Seconds to keep sampling instances after the last request (the keep-alive seen from
    /// outside; default 0).
    pub cooldown: Option<f64>,
    /// Requests outstanding at once before the driver drops new ones, recording them as
    /// `dropped` (default 10,000): protects the driver's memory from a stalled platform.
    pub max_in_flight: Option<u64>,
    /// Seconds of schedule per checkpoint: `--resume` restarts at the first window not
    /// completed (default 10).
    pub window: Option<f64>,
}

/// `experiments.scaling.load`: the offered load over time (rates in requests per second, times
/// in seconds from the start of the run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case",
    deny_unknown_fields
)]
pub enum LoadConfig {
    /// A constant rate.
    Constant {
        /// Requests per second.
        rate: f64,
        /// Seconds.
        duration: f64,
    },
    /// A constant rate with exponential gaps (a Poisson process).
    Poisson {
        /// Requests per second.
        rate: f64,
        /// Seconds.
        duration: f64,
    },
    /// `from` until `at`, then `to`.
    Step {
        /// Rate before the step.
        from: f64,
        /// Rate after the step.
        to: f64,
        /// When the step happens.
        at: f64,
        /// Seconds.
        duration: f64,
    },
    /// A linear change from `from` to `to` over the whole duration.
    Ramp {
        /// Initial rate.
        from: f64,
        /// Final rate.
        to: f64,
        /// Seconds.
        duration: f64,
    },
    /// `base`, with `peak` for `length` seconds at the start of every `every` seconds.
    Burst {
        /// Rate between bursts.
        base: f64,
        /// Rate during a burst.
        peak: f64,
        /// Period of bursts.
        every: f64,
        /// Length of a burst.
        length: f64,
        /// Seconds.
        duration: f64,
    },
    /// `mean + amplitude * sin(2 pi t / period)` (a diurnal pattern compressed).
    Sinusoid {
        /// Mean rate.
        mean: f64,
        /// Amplitude (at most `mean`).
        amplitude: f64,
        /// Period in seconds.
        period: f64,
        /// Seconds.
        duration: f64,
    },
    /// Replay of a trace in the Azure Functions 2019 format (invocations per function per
    /// minute).
    Trace {
        /// The CSV file (`HashOwner,HashApp,HashFunction,Trigger,1,2,...,1440`).
        path: PathBuf,
        /// Functions sampled from the trace (default: all with invocations in the window).
        functions: Option<usize>,
        /// First minute replayed, 1-based as in the file (default 1).
        start_minute: Option<u32>,
        /// Minutes replayed (default: to the end of the file).
        minutes: Option<u32>,
        /// Seconds of experiment per trace minute (default 60).
        minute_seconds: Option<f64>,
        /// Factor on every count (default 1).
        rate_scale: Option<f64>,
        /// Arrivals within a minute: `equidistant` (default) or `random` (uniformly random
        /// times: a Poisson process given the minute's count).
        iat: Option<String>,
    },
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
    /// scaling settings (a sebs experiment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling: Option<ScalingConfig>,
    /// trigger-latency settings (a sebs experiment).
    #[serde(rename = "trigger-latency", skip_serializing_if = "Option::is_none")]
    pub trigger_latency: Option<TriggerLatencyConfig>,
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
