//! The user configuration: SeBS's config JSON (accepted unchanged), merged with command-line
//! overrides.
//!
//! Every deployment section SeBS's config has is typed: `local`, `aws`, `azure`, `gcp`,
//! `openwhisk`, plus `knative`. Loading reports a malformed file with its line and column, a
//! wrong type or a value out of range with the JSON path and how to fix it, and an unknown key
//! (in any section) as a warning: returned, not printed, so the caller decides how to show it.
//!
//! Credentials are [`Secret`]s: `Debug` prints them as `<redacted>` and they are never
//! serialized.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ConfigError;

mod cloud;
mod cluster;
mod experiments;
mod keys;
mod local;
mod secret;
mod validate;

pub use cloud::{
    AwsConfig, AwsCredentials, AwsFunctionUrl, AwsHttpApi, AwsResources, AzureConfig,
    AzureCredentials, AzureResources, AzureStorageAccount, FunctionUrlAuthType, GcpConfig,
    GcpCredentials, GcpDeploymentConfiguration, GcpExecutionEnvironment, GcpPackageDeploymentType,
    GcpResources, GcpRuntimeSettings, GcpScaling, WorkflowOrchestrator,
};
pub use cluster::{ClusterResources, KnativeConfig, OpenWhiskConfig};
pub use experiments::{
    EvictionModelConfig, ExperimentsConfig, InvocationOverheadConfig, LoadConfig,
    NetworkPingPongConfig, PerfCostConfig, RuntimeConfig, ScalingConfig, TriggerLatencyConfig,
};
pub use local::{ColdStartMode, LocalDeploymentConfig, LocalFunctionConfig, TriggerConfig};
pub use secret::{DockerRegistry, Secret, StorageSection};

/// A programming language benchmarks are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase", try_from = "String")]
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
            // SeBS's other languages: known, but this build has no runtime for them.
            "java" | "cpp" => Err(format!(
                "language `{s}` is one of SeBS's, but this build of sebs cannot run it yet; supported languages: python, nodejs"
            )),
            other => Err(format!(
                "unknown language `{other}`: expected `python` or `nodejs`"
            )),
        }
    }
}

impl TryFrom<String> for Language {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
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
    /// Knative Serving.
    Knative,
}

impl DeploymentName {
    /// Every deployment a config can name, in the order help texts list them.
    pub const ALL: [DeploymentName; 6] = [
        DeploymentName::Local,
        DeploymentName::Aws,
        DeploymentName::Azure,
        DeploymentName::Gcp,
        DeploymentName::Openwhisk,
        DeploymentName::Knative,
    ];

    /// The name used in configs and cache files.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentName::Local => "local",
            DeploymentName::Aws => "aws",
            DeploymentName::Azure => "azure",
            DeploymentName::Gcp => "gcp",
            DeploymentName::Openwhisk => "openwhisk",
            DeploymentName::Knative => "knative",
        }
    }
}

impl FromStr for DeploymentName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DeploymentName::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = DeploymentName::ALL.iter().map(|d| d.as_str()).collect();
                format!(
                    "unknown deployment `{s}`: expected one of {}",
                    names.join(", ")
                )
            })
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
    /// The architecture of this machine, if it is one of SeBS's.
    pub fn host() -> Option<Architecture> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Architecture::X64),
            "aarch64" => Some(Architecture::Arm64),
            _ => None,
        }
    }

    /// The name used in configs and cache paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X64 => "x64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// The `deployment` section of a SeBS config: the platform to use and a section per platform.
/// Only `local` has a backend in this build; the others are parsed and validated so SeBS configs
/// load unchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    /// The platform to deploy to.
    pub name: DeploymentName,
    /// Local platform settings.
    #[serde(default)]
    pub local: LocalDeploymentConfig,
    /// AWS Lambda settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsConfig>,
    /// Azure Functions settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureConfig>,
    /// Google Cloud settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<GcpConfig>,
    /// OpenWhisk settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openwhisk: Option<OpenWhiskConfig>,
    /// Knative settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knative: Option<KnativeConfig>,
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
            knative: None,
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
    /// The results store every run is recorded in (a SQLite file or a `postgres://` URL; see
    /// docs/db.md); `--store` and `SEBS_STORE` take precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
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
        let value = keys::strip_unknown(value, &mut unknown);
        unknown.sort();
        let config: UserConfig =
            serde_path_to_error::deserialize(value).map_err(|e| ConfigError::Invalid {
                path: path.to_owned(),
                json_path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        validate::validate(&config).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            json_path: e.json_path,
            message: e.message,
        })?;
        Ok(LoadedConfig {
            config,
            unknown_keys: unknown,
        })
    }

    /// Options set in this config that this build does not act on, each as
    /// "`json.path` = value: reason", for the caller to print once as warnings:
    /// `experiments.system_variant` other than `default`/`package`,
    /// `experiments.container_deployment` = true, `experiments.download_results` = true, each
    /// `experiments.flags` entry, and `experiments.runtime.language-variant` other than
    /// `default`.
    pub fn ignored_settings(&self) -> Vec<String> {
        self.experiments.ignored_settings()
    }
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
    fn gateway_timeouts_and_connection_limit_are_checked() {
        for (text, path) in [
            (
                r#"{"deployment": {"name": "local", "local": {"idle-timeout": 0}}}"#,
                "deployment.local.idle-timeout",
            ),
            (
                r#"{"deployment": {"name": "local", "local": {"header-read-timeout": -1}}}"#,
                "deployment.local.header-read-timeout",
            ),
            (
                r#"{"deployment": {"name": "local", "local": {"max-connections": 0}}}"#,
                "deployment.local.max-connections",
            ),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(path), "{error}");
        }
        let ok = parse(r#"{"deployment": {"name": "local", "local": {"idle-timeout": 1.5, "output-cap-kib": 8}}}"#)
            .unwrap();
        assert!(ok.unknown_keys.is_empty(), "{:?}", ok.unknown_keys);
        assert_eq!(ok.config.deployment.local.output_cap_kib, Some(8));
    }

    #[test]
    fn sebs_languages_this_build_cannot_run_get_one_clear_error() {
        for language in ["java", "cpp"] {
            let text = format!(r#"{{"experiments": {{"runtime": {{"language": "{language}"}}}}}}"#);
            let error = parse(&text).unwrap_err().to_string();
            assert!(
                error.contains(&format!(
                    "language `{language}` is one of SeBS's, but this build of sebs cannot run it yet; supported languages: python, nodejs"
                )),
                "{error}"
            );
            assert!(error.contains("experiments.runtime.language"), "{error}");
        }
        let error = "rust".parse::<Language>().unwrap_err();
        assert_eq!(
            error,
            "unknown language `rust`: expected `python` or `nodejs`"
        );
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
