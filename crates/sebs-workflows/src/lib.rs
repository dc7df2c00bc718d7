//! Multi-function applications in SeBS-Flow's format: definitions ([`definition`]) and their
//! validation, an engine that runs them over a platform's functions ([`engine`]), the record of
//! a request ([`run`]) and its metrics ([`metrics`]: critical path, overhead, transitions,
//! cost).

pub mod clock;
pub mod cost;
pub mod data;
pub mod definition;
pub mod engine;
mod invocation;
pub mod metrics;
pub mod run;
pub mod summary;
mod switch;

pub use clock::Clock;
pub use cost::{Cost, Prices};
pub use definition::{
    Case, Definition, DefinitionError, Loop, Map, Op, Parallel, Repeat, State, Switch, Task,
};
pub use engine::{Engine, EngineOptions, FunctionInvoker, WorkflowRunner};
pub use metrics::{Metrics, analyse};
pub use run::{Failure, FunctionExecution, StateExecution, WorkflowRun};
