//! Platform-wide settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sebs_core::config::ColdStartMode;

/// Platform-wide settings.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// Address of the gateway (127.0.0.1 with an ephemeral port by default).
    pub bind: SocketAddr,
    /// Default keep-alive of idle instances (0: never reuse).
    pub keep_alive: Duration,
    /// Default concurrency limit per function.
    pub concurrency: usize,
    /// Requests that may wait beyond the concurrency limit before throttling.
    pub queue: usize,
    /// Default cold-start mode.
    pub cold_start: ColdStartMode,
    /// Give instances a CPU share proportional to memory (1 vCPU at 1769 MB).
    pub cpu_share: bool,
    /// Maximum processes/threads per instance.
    pub pids: Option<u64>,
    /// Use cgroups when the host lets us (else, or when false, `RLIMIT_AS`).
    pub cgroups: bool,
    /// Isolate instances in namespaces where the host allows: a mount namespace with a private
    /// `/tmp`, and a network namespace for functions that do not need the network. Costs a
    /// millisecond or two per cold start.
    pub namespaces: bool,
    /// Where instance directories, the bootstrap and the platform's socket live (default: the
    /// system's temporary directory).
    pub work_dir: Option<PathBuf>,
    /// Append invocation records to this JSON-lines file.
    pub metrics_log: Option<PathBuf>,
    /// Busy-poll budget while the machine has idle CPUs (zero: always sleep). The gateway polls
    /// for an instance's answer, and an instance of our shims for its next request, for up to
    /// this long before sleeping: on a virtual machine waking an idle CPU costs tens of
    /// microseconds, more than a no-op function takes. Applied only while in-flight invocations
    /// occupy at most half of the CPUs, and never to instances with a CPU share.
    pub busy_poll: Duration,
    /// Bytes of an instance's output (stdout and stderr) kept: the last ones. What a function
    /// prints beyond that is dropped (and counted) within 100 ms, so neither the disk nor the
    /// platform's memory grows with it; the end of it is quoted when an instance fails.
    pub output_cap: u64,
    /// A request head must arrive whole within this time of its first byte, else the gateway
    /// closes the connection (a client sending a partial header and waiting, slowloris).
    pub header_read_timeout: Duration,
    /// The gateway closes a connection with no request in progress after this long (clients
    /// reconnect; HTTP clients keep idle connections for less, e.g. reqwest 90 s).
    pub idle_timeout: Duration,
    /// Open connections the gateway accepts; beyond, a new one is answered 503 with
    /// `Retry-After` and closed. `None`: half of the process's file-descriptor limit (at least
    /// 256).
    pub max_connections: Option<usize>,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        PlatformConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            keep_alive: Duration::from_secs(600),
            concurrency: 1000,
            queue: 100,
            cold_start: ColdStartMode::Exec,
            cpu_share: false,
            pids: Some(1024),
            cgroups: true,
            namespaces: false,
            work_dir: None,
            metrics_log: None,
            busy_poll: Duration::from_micros(200),
            output_cap: 64 * 1024,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            max_connections: None,
        }
    }
}
