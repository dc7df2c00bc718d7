//! Core of `sebs`: the SeBS-compatible user configuration, the benchmark catalogue and its input
//! generation, Python and Node.js interpreter discovery, the on-disk cache, the result model
//! (`ExecutionResult` / `ExperimentResult`) and statistics.
#![warn(missing_docs, rust_2018_idioms)]

pub mod cache;
pub mod catalogue;
pub mod config;
pub mod error;
pub mod fsutil;
pub mod input_env;
pub mod input_script;
mod interpreter;
pub mod limits;
pub mod node;
pub mod python;
pub mod result;
pub mod stats;

pub use error::{CatalogueError, ConfigError, NodeError, PythonError};
