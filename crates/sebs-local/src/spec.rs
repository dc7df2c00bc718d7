//! What a function is: its code, how its instances start ([`Runtime`]), how the platform talks
//! to them ([`Protocol`]) and its per-function settings ([`FunctionSpec`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use sebs_core::config::ColdStartMode;

/// How the platform talks to instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Framed messages on a private socket (our shims; fastest).
    #[default]
    Channel,
    /// The HTTP Lambda Runtime API (any Lambda custom runtime).
    RuntimeApi,
}

/// How instances of a function are started.
#[derive(Debug, Clone)]
pub enum Runtime {
    /// CPython with the sebs bootstrap: `<interpreter> -S bootstrap.py`.
    Python {
        /// The real interpreter binary (not a shim).
        interpreter: PathBuf,
    },
    /// Node.js with the sebs bootstrap: `node --max-old-space-size=<90% of memory> bootstrap.js`
    /// (the heap limit Lambda's Node.js runtime sets). Instances always start with `exec`: the
    /// fork server is Python-only.
    Node {
        /// The real `node` binary (not a version-manager shim).
        node: PathBuf,
    },
    /// A Lambda custom runtime: an executable `bootstrap` speaking the Runtime API.
    Custom {
        /// The bootstrap executable.
        bootstrap: PathBuf,
    },
}

/// A function to deploy.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// Function name (unique on the platform).
    pub name: String,
    /// The code package directory (`LAMBDA_TASK_ROOT`).
    pub code_dir: PathBuf,
    /// How to start instances.
    pub runtime: Runtime,
    /// Handler as `module.function`.
    pub handler: String,
    /// Memory size in MB (the instance's memory limit).
    pub memory_mb: u64,
    /// Invocation timeout.
    pub timeout: Duration,
    /// Extra environment variables for the function.
    pub env: BTreeMap<String, String>,
    /// Content hash of the code.
    pub code_hash: String,
    /// Protocol (Python functions use the channel unless told otherwise).
    pub protocol: Protocol,
    /// Cold-start mode; the platform default if `None`.
    pub cold_start: Option<ColdStartMode>,
    /// Keep-alive; the platform default if `None`.
    pub keep_alive: Option<Duration>,
    /// Concurrency limit; the platform default if `None`.
    pub concurrency: Option<usize>,
    /// Whether instances may use the network (with namespaces on, `false` gives them a network
    /// namespace of their own with nothing in it).
    pub network: bool,
}

impl FunctionSpec {
    /// A Python function with the platform's defaults.
    pub fn python(
        name: &str,
        code_dir: PathBuf,
        interpreter: PathBuf,
        memory_mb: u64,
        timeout: Duration,
    ) -> FunctionSpec {
        FunctionSpec {
            name: name.to_owned(),
            code_dir,
            runtime: Runtime::Python { interpreter },
            handler: "handler.handler".into(),
            memory_mb,
            timeout,
            env: BTreeMap::new(),
            code_hash: String::new(),
            protocol: Protocol::Channel,
            cold_start: None,
            keep_alive: None,
            concurrency: None,
            network: true,
        }
    }
}

impl FunctionSpec {
    /// A Node.js function with the platform's defaults (private channel, `exec` cold starts).
    pub fn node(
        name: &str,
        code_dir: PathBuf,
        node: PathBuf,
        memory_mb: u64,
        timeout: Duration,
    ) -> FunctionSpec {
        FunctionSpec {
            runtime: Runtime::Node { node },
            ..FunctionSpec::python(name, code_dir, PathBuf::new(), memory_mb, timeout)
        }
    }

    /// The cold-start mode instances of this function get on a platform whose default is
    /// `platform_default`: `fork` only for Python functions on the private channel.
    pub fn effective_cold_start(&self, platform_default: ColdStartMode) -> ColdStartMode {
        match self.runtime {
            Runtime::Python { .. } if self.protocol == Protocol::Channel => {
                self.cold_start.unwrap_or(platform_default)
            }
            _ => ColdStartMode::Exec,
        }
    }
}
