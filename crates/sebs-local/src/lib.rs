//! The `sebs` local FaaS platform.
//!
//! A gateway on 127.0.0.1 serves the AWS Lambda Invoke API
//! (`POST /2015-03-31/functions/{name}/invocations`, the "library" trigger), an HTTP trigger per
//! function (`/function/{name}`, Lambda Function URL semantics), and the Lambda Runtime API
//! (`/instances/{id}/2018-06-01/runtime/...`) for any Lambda runtime, and Lambda's control plane
//! (CreateFunction, UpdateFunctionConfiguration, function URLs, ...; `lambda/`) so that the AWS
//! CLI, boto3 and the AWS SDKs deploy to it as they do to AWS.
//!
//! It behaves like a cloud platform: every instance is one OS process with a scrubbed
//! environment, its own working directory and `TMPDIR`, a memory limit (cgroups, else an
//! rlimit) and optionally a CPU share; it serves one request at a time; idle instances are reused
//! (warm) until the keep-alive evicts them; new ones start cold up to the concurrency limit, then
//! requests queue, then they are throttled. Cold starts either exec a fresh interpreter or fork
//! from a per-function zygote. Every invocation leaves a record with the fields of Lambda's
//! `REPORT` line. No instance outlives the platform.
//!
//! Where things are: [`LocalPlatform`] (`platform.rs`) is the facade; `dispatch.rs` runs one
//! invocation; `pool.rs` schedules instances (warm, cold, queued, throttled); `launch.rs` starts
//! an instance, `instance.rs` talks to a running one over `channel.rs` or the Runtime API
//! (`gateway.rs`, which also serves the triggers); `zygote.rs` is the fork server; `limits.rs`,
//! `isolation.rs` and `metrics.rs` are cgroups/rlimits, namespaces and the per-invocation records.
#![warn(missing_docs, rust_2018_idioms)]

mod channel;
mod config;
mod debris;
mod dispatch;
mod error;
mod fdlimit;
mod gateway;
mod instance;
mod invocation;
mod isolation;
mod lambda;
mod launch;
pub mod limits;
pub mod metrics;
mod output;
mod platform;
mod pool;
mod reap;
mod server;
mod spec;
mod state;
mod zygote;

pub use config::PlatformConfig;
pub use error::PlatformError;
pub use invocation::{Invocation, Outcome};
pub use isolation::Isolation;
pub use lambda::CodeStore;
pub use limits::Backend as LimitBackend;
pub use metrics::Report;
pub use platform::LocalPlatform;
pub use pool::{EvictionPolicy, FixedKeepAlive};
pub use sebs_core::config::ColdStartMode;
pub use spec::{FunctionSpec, Protocol, Runtime};

/// The Python runtime client instances run (the local stand-in for Lambda's managed runtime).
pub const PYTHON_BOOTSTRAP: &str = include_str!("../../../runtimes/python/bootstrap.py");

/// The Node.js runtime client instances run (plain Node, no dependencies).
pub const NODE_BOOTSTRAP: &str = include_str!("../../../runtimes/nodejs/bootstrap.js");

/// Environment variables that never reach a Node.js instance, whatever the function's settings:
/// `NODE_OPTIONS` could preload code or change the heap, and `NODE_EXTRA_CA_CERTS` alone makes a
/// start 50-70 ms slower, which would pollute cold-start measurements.
pub const NODE_ENV_DENYLIST: [&str; 2] = ["NODE_OPTIONS", "NODE_EXTRA_CA_CERTS"];

/// Lambda's limit on synchronous request and response payloads.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shims_check_responses_against_the_platforms_limit() {
        let python = format!("MAX_RESPONSE = {MAX_PAYLOAD}\n");
        let node = format!("const MAX_RESPONSE = {MAX_PAYLOAD};\n");
        assert!(PYTHON_BOOTSTRAP.contains(&python), "bootstrap.py: {python}");
        assert!(NODE_BOOTSTRAP.contains(&node), "bootstrap.js: {node}");
    }
}
