//! The platform seam of `sebs`: the [`Platform`] and [`Trigger`] traits every backend implements,
//! the pipeline every command runs ([`Session`]: settings → input → package → function →
//! trigger), and the backends: the local platform and a deterministic fake for tests.
#![warn(missing_docs, rust_2018_idioms)]

pub mod event;
pub mod factory;
pub mod fake;
pub mod http;
pub mod local;
pub mod pipeline;
pub mod platform;
pub mod resources;
pub mod settings;
pub mod storage;
pub mod workflow;

pub use pipeline::{PrepareRequest, Session};
pub use platform::{
    ConcurrencyPoint, FunctionConfig, InstanceCount, PackageTarget, Platform, Resource, Trigger,
    TriggerKind,
};
pub use settings::{RunOptions, Settings};
