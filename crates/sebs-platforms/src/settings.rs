//! The effective settings of a run: the SeBS config file (if any) with command-line overrides.
//!
//! Precedence: built-in defaults, then the config file, then flags. Everything is checked here,
//! before anything is built or written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use sebs_core::config::{Language, UserConfig};
use sebs_core::node::NodeInterpreter;
use sebs_core::python::PythonInterpreter;
use serde_json::Value;

use crate::local::LocalOverrides;

/// What a command asks for: the options SeBS's commands share (`--config`, `--output-dir`,
/// `--cache`, `--language`, ...) and the local platform's flags. The CLI fills it from its
/// arguments; tests build it directly.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// SeBS user config file.
    pub config: Option<PathBuf>,
    /// Results directory.
    pub output_dir: PathBuf,
    /// Cache directory (packages, data, storage, the local platform's metrics log).
    pub cache_dir: PathBuf,
    /// Overrides `experiments.runtime.language`.
    pub language: Option<Language>,
    /// Overrides `experiments.runtime.version`.
    pub language_version: Option<String>,
    /// Overrides `deployment.name`.
    pub deployment: Option<String>,
    /// Overrides the cloud section's endpoint (`deployment.aws.endpoint-url`): an emulator.
    pub endpoint_url: Option<String>,
    /// Rebuild the package even if the cached one is current.
    pub update_code: bool,
    /// Overrides `experiments.benchmarks_dir`.
    pub benchmarks_dir: Option<PathBuf>,
    /// Upload inputs even when present.
    pub update_storage: bool,
    /// A benchmarks-data tree instead of the generated one.
    pub data_dir: Option<PathBuf>,
    /// Local platform flags: they override `deployment.local`.
    pub local: LocalOverrides,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            config: None,
            output_dir: PathBuf::from("."),
            cache_dir: PathBuf::from("cache"),
            language: None,
            language_version: None,
            deployment: None,
            endpoint_url: None,
            update_code: false,
            benchmarks_dir: None,
            update_storage: false,
            data_dir: None,
            local: LocalOverrides::default(),
        }
    }
}

/// Resolved settings.
#[derive(Debug)]
pub struct Settings {
    /// The merged user config (what results record).
    pub config: UserConfig,
    /// Results directory.
    pub output_dir: PathBuf,
    /// Cache directory.
    pub cache_dir: PathBuf,
    /// Benchmark catalogue.
    pub benchmarks_dir: PathBuf,
    /// Language.
    pub language: Language,
    /// The Python interpreter: Python functions run with it, and the benchmarks' `input.py`
    /// (input generation and validation) runs with it whatever the functions' language.
    pub python: PythonInterpreter,
    /// The Node.js interpreter Node.js functions run with (`None` for Python benchmarks).
    pub node: Option<NodeInterpreter>,
    /// `--data-dir`: a benchmarks-data tree to use instead of the generated one.
    pub data_dir: Option<PathBuf>,
}

/// Load the config named by `--config` (or defaults) and warn about unknown keys.
pub fn load_config(path: Option<&std::path::Path>) -> Result<UserConfig> {
    let Some(path) = path else {
        return Ok(UserConfig::default());
    };
    let loaded = UserConfig::load(path)?;
    for key in &loaded.unknown_keys {
        tracing::warn!(
            "config file {}: unknown key `{key}` is ignored",
            path.display()
        );
    }
    for setting in loaded.config.ignored_settings() {
        tracing::warn!("config file {}: {setting}", path.display());
    }
    Ok(loaded.config)
}

/// The Python packages are built for (and input.py runs with). A local platform runs the
/// functions with it, so the requested version must be installed; a cloud runs its own, so the
/// host's default Python installs wheels for the requested version (`pip --python-version`).
fn python_for(requested: Option<&str>, deployment: &str) -> Result<PythonInterpreter> {
    match sebs_core::python::find(requested) {
        Ok(python) => Ok(python),
        Err(sebs_core::error::PythonError::VersionNotFound { requested, .. })
            if !matches!(deployment, "local" | "fake") =>
        {
            let mut host = sebs_core::python::find(None)?;
            tracing::info!(
                "Python {requested} is not installed here: packages for {deployment} are built with Python {} (dependencies are installed as wheels for {requested})",
                host.version
            );
            host.version = requested.clone();
            host.full_version = requested;
            Ok(host)
        }
        Err(e) => Err(e.into()),
    }
}

impl Settings {
    /// Merge `common` into the config and check the result.
    pub fn resolve(common: &RunOptions) -> Result<Settings> {
        let mut config = load_config(common.config.as_deref())?;
        if let Some(name) = &common.deployment {
            crate::factory::ensure_available(name)?;
            config.deployment.name = name.parse().map_err(anyhow::Error::msg)?;
        }
        crate::factory::ensure_available(config.deployment.name.as_str())?;
        if let Some(url) = &common.endpoint_url {
            if config.deployment.name.as_str() != "aws" {
                anyhow::bail!(
                    "--endpoint-url is for cloud deployments (aws); deployment `{}` does not use it",
                    config.deployment.name.as_str()
                );
            }
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                anyhow::bail!("--endpoint-url {url:?} is not a URL: give it as http://host:port");
            }
            config
                .deployment
                .aws
                .get_or_insert_with(Default::default)
                .endpoint_url = Some(url.clone());
        }
        common.local.apply(&mut config.deployment.local);
        if let Some(language) = common.language {
            config.experiments.runtime.language = Some(language);
        }
        if let Some(version) = &common.language_version {
            config.experiments.runtime.version = Some(version.clone());
        }
        if common.update_code {
            config.experiments.update_code = true;
        }
        if common.update_storage {
            config.experiments.update_storage = true;
        }
        if let Some(dir) = &common.benchmarks_dir {
            config.experiments.benchmarks_dir = Some(dir.clone());
        }
        let language = config
            .experiments
            .runtime
            .language
            .unwrap_or(Language::Python);
        config.experiments.runtime.language = Some(language);
        let requested = config.experiments.runtime.version.clone();
        let (python, node) = match language {
            Language::Python => (
                python_for(requested.as_deref(), config.deployment.name.as_str())?,
                None,
            ),
            Language::Nodejs => {
                // `--language-version` selects Node.js; input.py runs with the host's Python.
                let node = sebs_core::node::find(requested.as_deref())?;
                let python = sebs_core::python::find(None).map_err(|e| {
                    anyhow::anyhow!(
                        "{e} (Node.js benchmarks need Python too: their input.py generates inputs and validates outputs)"
                    )
                })?;
                (python, Some(node))
            }
        };
        config.experiments.runtime.version = Some(match &node {
            Some(node) => node.version.clone(),
            None => python.version.clone(),
        });
        let benchmarks_dir = config
            .experiments
            .benchmarks_dir
            .clone()
            .unwrap_or_else(sebs_core::catalogue::default_root);
        Ok(Settings {
            config,
            output_dir: common.output_dir.clone(),
            cache_dir: common.cache_dir.clone(),
            benchmarks_dir,
            language,
            python,
            node,
            data_dir: common.data_dir.clone(),
        })
    }
}

impl Settings {
    /// The functions' language version: Python `MAJOR.MINOR` or Node.js `MAJOR`.
    pub fn language_version(&self) -> &str {
        match &self.node {
            Some(node) => &node.version,
            None => &self.python.version,
        }
    }

    /// The functions' full interpreter version, e.g. `3.11.7` or `20.11.1`.
    pub fn language_full_version(&self) -> &str {
        match &self.node {
            Some(node) => &node.full_version,
            None => &self.python.full_version,
        }
    }

    /// The interpreter binary functions run with.
    pub fn function_interpreter(&self) -> &std::path::Path {
        match &self.node {
            Some(node) => &node.path,
            None => &self.python.path,
        }
    }
}

/// Keys of an experiment's section that only set how many samples to take: a `--resume` with
/// another value continues the same run to the new count, so they are not part of the
/// fingerprint.
const COUNT_KEYS: [&str; 1] = ["repetitions"];

impl Settings {
    /// The settings that decide what a sample of experiment `experiment` measures, as flat JSON
    /// paths and values: the experiment's config section (its sample count excepted), the
    /// effective language, version and architecture, and the deployment with its section
    /// (secrets are never serialized). `--resume` compares it with the fingerprint the journal
    /// was started with.
    pub fn fingerprint(&self, experiment: &str) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let experiments = serde_json::to_value(&self.config.experiments).unwrap_or(Value::Null);
        if let Some(section) = experiments.get(experiment).and_then(Value::as_object) {
            for (key, value) in section {
                if !COUNT_KEYS.contains(&key.as_str()) {
                    flatten(&format!("experiments.{experiment}.{key}"), value, &mut out);
                }
            }
        }
        out.insert(
            "experiments.runtime.language".into(),
            self.language.as_str().into(),
        );
        out.insert(
            "experiments.runtime.version".into(),
            self.language_version().into(),
        );
        out.insert(
            "experiments.architecture".into(),
            self.config.experiments.architecture.as_str().into(),
        );
        let name = self.config.deployment.name.as_str();
        out.insert("deployment.name".into(), name.into());
        let deployment = serde_json::to_value(&self.config.deployment).unwrap_or(Value::Null);
        if let Some(section) = deployment.get(name) {
            flatten(&format!("deployment.{name}"), section, &mut out);
        }
        out
    }
}

/// Flatten objects into dotted paths; other values (arrays included) are leaves, nulls absent.
fn flatten(path: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Null => {}
        Value::Object(map) => {
            for (key, value) in map {
                flatten(&format!("{path}.{key}"), value, out);
            }
        }
        leaf => {
            out.insert(path.to_owned(), leaf.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clouds_build_for_a_python_the_host_lacks() {
        let python = python_for(Some("3.99"), "aws").unwrap();
        assert_eq!(
            python.version, "3.99",
            "wheels are chosen for the requested version"
        );
        assert!(python.path.is_file(), "the host's interpreter runs pip");
        let e = python_for(Some("3.99"), "local").unwrap_err();
        assert!(e.to_string().contains("not installed"), "{e}");
    }

    fn settings(config: Value) -> Settings {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("config.json");
        std::fs::write(&path, config.to_string()).unwrap();
        Settings::resolve(&RunOptions {
            config: Some(path),
            ..RunOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn fingerprint_has_what_decides_a_sample_and_not_the_count() {
        let s = settings(serde_json::json!({
            "experiments": {"perf-cost": {"benchmark": "010.sleep", "input-size": "test",
                "repetitions": 5, "memory-sizes": [128, 256]}},
            "deployment": {"name": "local", "local": {"keep-alive": 3.0,
                "functions": {"f": {"cold-start": "fork"}}}}
        }));
        let fp = s.fingerprint("perf-cost");
        assert_eq!(fp["experiments.perf-cost.input-size"], "test");
        assert_eq!(
            fp["experiments.perf-cost.memory-sizes"],
            serde_json::json!([128, 256])
        );
        assert!(!fp.contains_key("experiments.perf-cost.repetitions"));
        assert!(
            !fp.contains_key("experiments.perf-cost.experiments"),
            "null is absent"
        );
        assert_eq!(fp["experiments.runtime.language"], "python");
        assert_eq!(fp["deployment.name"], "local");
        assert_eq!(fp["deployment.local.keep-alive"], 3.0);
        assert_eq!(fp["deployment.local.functions.f.cold-start"], "fork");
        assert!(
            s.fingerprint("eviction-model")
                .keys()
                .all(|k| !k.starts_with("experiments.perf-cost")),
            "only the experiment's own section"
        );
    }
}
