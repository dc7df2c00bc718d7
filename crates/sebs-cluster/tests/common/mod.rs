//! Shared by the contract tests: schema checking, the fake control planes, helpers.
#![allow(dead_code)]

pub mod knative;
pub mod openwhisk;
pub use sebs_testkit::schema;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
