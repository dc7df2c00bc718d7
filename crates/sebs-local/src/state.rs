//! The state the platform's parts share: the facade, the gateway's routes, the dispatcher, the
//! instances and the fork servers all hold an `Arc<Shared>`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use tokio::net::UnixStream;
use tokio::sync::oneshot;

use crate::config::PlatformConfig;
use crate::instance::Instance;
use crate::isolation::Isolation;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::pool::Pool;
use crate::spec::FunctionSpec;
use crate::zygote::Zygote;

/// A deployed function: its spec, its instance pool and, in fork mode, its zygote.
pub(crate) struct FunctionState {
    pub(crate) spec: FunctionSpec,
    pub(crate) pool: Pool,
    pub(crate) zygote: Mutex<Option<Arc<Zygote>>>,
}

/// Everything one platform holds.
pub(crate) struct Shared {
    pub(crate) functions: Mutex<HashMap<String, Arc<FunctionState>>>,
    pub(crate) instances: Mutex<HashMap<String, Arc<Instance>>>,
    pub(crate) hellos: Mutex<HashMap<String, oneshot::Sender<UnixStream>>>,
    pub(crate) work_dir: tempfile::TempDir,
    pub(crate) bootstrap: PathBuf,
    /// The Node.js bootstrap script.
    pub(crate) node_bootstrap: PathBuf,
    /// The bootstrap byte-compiled for each interpreter (a script given by path is compiled on
    /// every start otherwise, which would add milliseconds to every exec cold start).
    pub(crate) compiled: Mutex<HashMap<PathBuf, PathBuf>>,
    pub(crate) socket_path: PathBuf,
    pub(crate) addr: SocketAddr,
    pub(crate) limits: Limits,
    pub(crate) isolation: Isolation,
    pub(crate) metrics: Metrics,
    pub(crate) config: PlatformConfig,
    /// Invocations being executed by instances right now.
    pub(crate) in_flight: AtomicUsize,
    /// CPUs this process may run on.
    pub(crate) cpus: usize,
    /// Instances whose directory and cgroup are being created: one at a time per CPU.
    pub(crate) preparing: tokio::sync::Semaphore,
    /// Client connections open on the gateway.
    pub(crate) open_connections: Arc<AtomicUsize>,
    /// What Lambda's control plane knows of the functions created through it.
    pub(crate) lambda: crate::lambda::Registry,
}

impl Shared {
    /// The deployed functions, copied out of the lock so that work on them does not hold it.
    pub(crate) fn deployed(&self) -> Vec<Arc<FunctionState>> {
        self.functions
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect()
    }

    /// The live instances, copied out of the lock likewise.
    pub(crate) fn live_instances(&self) -> Vec<Arc<Instance>> {
        self.instances
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect()
    }
}
