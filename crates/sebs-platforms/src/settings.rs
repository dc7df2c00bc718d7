//! The effective settings of a run: the SeBS config file (if any) with command-line overrides.
//!
//! Precedence: built-in defaults, then the config file, then flags. Everything is checked here,
//! before anything is built or written.

use std::path::PathBuf;

use anyhow::Result;
use sebs_core::config::{Language, UserConfig};
use sebs_core::node::NodeInterpreter;
use sebs_core::python::PythonInterpreter;

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

impl Settings {
    /// Merge `common` into the config and check the result.
    pub fn resolve(common: &RunOptions) -> Result<Settings> {
        let mut config = load_config(common.config.as_deref())?;
        if let Some(name) = &common.deployment {
            crate::factory::ensure_available(name)?;
            config.deployment.name = name.parse().map_err(anyhow::Error::msg)?;
        }
        crate::factory::ensure_available(config.deployment.name.as_str())?;
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
            Language::Python => (sebs_core::python::find(requested.as_deref())?, None),
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
