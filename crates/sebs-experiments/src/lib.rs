//! The experiments of `sebs` and the runner they share.
//!
//! An experiment implements [`Experiment`] (its plan, its batches, its result files) and
//! [`runner::run`] does the rest: config, the results directory's lock, journal and `--resume`
//! (with the settings fingerprint), Ctrl-C and SIGTERM, progress, deployment and shutdown.
//! Processing fills provider metrics through the platform that measured a run.
#![warn(missing_docs, rust_2018_idioms)]

pub mod benchmark;
pub mod eviction_model;
pub mod fingerprint;
pub mod invocation_overhead;
pub mod journal;
pub mod lock;
pub mod network_ping_pong;
pub mod perf_cost;
pub mod process;
pub mod progress;
pub mod regression;
pub mod runner;
pub mod scaling;
pub mod signal;
pub mod trigger_latency;
pub mod udp;

pub use journal::Journal;
pub use runner::{Experiment, Outcome, Plan, RunRequest, Status};
pub use signal::{EXIT_INTERRUPTED, EXIT_TERMINATED, Stop};

use std::path::PathBuf;

use anyhow::Result;

use crate::process::ProcessContext;

/// The experiments `sebs experiment invoke` and `process` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExperimentKind {
    /// perf-cost: cold, warm, burst and sequential samples per memory size.
    PerfCost,
    /// invocation-overhead: time to reach the function against payload or package size.
    InvocationOverhead,
    /// network-ping-pong: UDP round trips between the function and the driver.
    NetworkPingPong,
    /// eviction-model: how long an idle instance is kept.
    EvictionModel,
    /// scaling: an open-loop load and the platform's instances over time (a sebs experiment).
    Scaling,
    /// trigger-latency: send-to-entry time per trigger kind (a sebs experiment).
    TriggerLatency,
}

impl ExperimentKind {
    /// Every experiment, in SeBS's order.
    pub const ALL: [ExperimentKind; 6] = [
        ExperimentKind::PerfCost,
        ExperimentKind::InvocationOverhead,
        ExperimentKind::NetworkPingPong,
        ExperimentKind::EvictionModel,
        ExperimentKind::Scaling,
        ExperimentKind::TriggerLatency,
    ];

    /// The name in configs, commands and results directories (`perf-cost`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentKind::PerfCost => "perf-cost",
            ExperimentKind::InvocationOverhead => "invocation-overhead",
            ExperimentKind::NetworkPingPong => "network-ping-pong",
            ExperimentKind::EvictionModel => "eviction-model",
            ExperimentKind::Scaling => "scaling",
            ExperimentKind::TriggerLatency => "trigger-latency",
        }
    }
}

impl std::fmt::Display for ExperimentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `sebs experiment invoke <kind>`: plan the experiment from the config and run it on the
/// platform the settings select.
pub async fn invoke(kind: ExperimentKind, request: &RunRequest) -> Result<Outcome> {
    match kind {
        ExperimentKind::PerfCost => runner::run::<perf_cost::PerfCost>(request).await,
        ExperimentKind::InvocationOverhead => {
            runner::run::<invocation_overhead::InvocationOverhead>(request).await
        }
        ExperimentKind::NetworkPingPong => {
            runner::run::<network_ping_pong::NetworkPingPong>(request).await
        }
        ExperimentKind::EvictionModel => {
            runner::run::<eviction_model::EvictionModel>(request).await
        }
        ExperimentKind::Scaling => runner::run::<scaling::Scaling>(request).await,
        ExperimentKind::TriggerLatency => {
            runner::run::<trigger_latency::TriggerLatency>(request).await
        }
    }
}

/// What `sebs experiment process` produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The main file written (perf-cost's and eviction-model's `result.csv`,
    /// invocation-overhead's last `result-processed.csv`, network-ping-pong's `histogram.png`).
    pub path: PathBuf,
    /// Everything to print on stdout, as is: the statistics the step computed and the files it
    /// wrote.
    pub summary: String,
    /// The exit status: 0, or 3 when eviction-model's estimate contradicts the platform's
    /// configured keep-alive.
    pub exit_code: i32,
}

/// `sebs experiment process <kind>`: turn the results of a run into SeBS's processed files.
pub async fn process(kind: ExperimentKind, ctx: &ProcessContext) -> Result<Processed> {
    match kind {
        ExperimentKind::PerfCost => perf_cost::process(ctx).await,
        ExperimentKind::InvocationOverhead => invocation_overhead::process(ctx).await,
        ExperimentKind::NetworkPingPong => network_ping_pong::process(ctx).await,
        ExperimentKind::EvictionModel => eviction_model::process(ctx).await,
        ExperimentKind::Scaling => scaling::process(ctx).await,
        ExperimentKind::TriggerLatency => trigger_latency::process(ctx).await,
    }
}

/// Seconds since the epoch (wall clock).
pub(crate) fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
