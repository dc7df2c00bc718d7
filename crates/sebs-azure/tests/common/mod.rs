//! Shared by the Azure tests: the contract fake (ARM, Kudu, the Functions host, Application
//! Insights, the token endpoint), schema checking, Azurite, helpers.
#![allow(dead_code)]

pub mod azurite;
pub mod cosmos;
pub mod fake;
pub mod host;
pub mod runtime;
pub mod schema;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
