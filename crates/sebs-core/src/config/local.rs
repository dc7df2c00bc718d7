//! `deployment.local`: the embedded local platform.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// Storage configuration (the output of `sebs storage start`; never serialized: it holds
    /// access keys).
    #[serde(default, skip_serializing)]
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
    /// KiB of what an instance prints that are kept (the last ones; default 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_cap_kib: Option<u64>,
    /// Seconds a client may take to send a request's headers to the gateway (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_read_timeout: Option<f64>,
    /// Seconds an idle client connection to the gateway is kept open (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<f64>,
    /// Client connections the gateway serves at once; more get 503 (default: half the file
    /// descriptor limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
    /// Per-function overrides.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, LocalFunctionConfig>,
    /// Storage and queue triggers' event source settings (docs/triggers.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<TriggerConfig>,
}

/// `deployment.local.triggers` and `deployment.aws.triggers`: how event sources deliver storage
/// and queue events, with Lambda's defaults where unset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TriggerConfig {
    /// Most queue messages per invocation (1-10; default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Seconds to gather a batch before invoking with fewer messages (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batching_window: Option<f64>,
    /// Deliveries of a failing message before it is dead-lettered (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_receive_count: Option<i64>,
    /// Seconds a delivered message stays hidden: the retry delay after a failure (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_timeout: Option<i64>,
    /// Seconds an invocation through a trigger waits for its result (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_timeout: Option<f64>,
}
