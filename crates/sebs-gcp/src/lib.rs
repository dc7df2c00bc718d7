//! The Google Cloud backend of sebs: [`GcpBackend`] implements the `Platform` seam over
//! Google's REST APIs (no generated clients, no gcloud, no Docker on this machine).
//!
//! - **Kinds** (SeBS's `system_variant`): Cloud Functions 1st gen (API v1), 2nd gen (API v2)
//!   and Cloud Run services built from the same source zip (API v2, `buildConfig`).
//! - **Packages**: `sebs-build` packages with the entry point and storage shims of
//!   `runtimes/gcp/`, uploaded through `generateUploadUrl` (functions) or to the deployment
//!   bucket (Run); long-running operations polled to completion.
//! - **Triggers**: HTTP (function or service URL, public through IAM) and, for 1st gen, the
//!   library trigger `functions.call`.
//! - **Cold starts**: the `cold_start` environment variable changed, as SeBS does.
//! - **Processing**: durations from Cloud Logging; costs from a dated price table.
//! - **Resources**: functions, services and buckets labelled or named with the resource id.
//!
//! Credentials: a service-account key (`deployment.gcp.credentials`,
//! `GOOGLE_APPLICATION_CREDENTIALS`) or application-default credentials ([`auth`]).
#![warn(missing_docs, rust_2018_idioms)]

pub mod api;
pub mod auth;
mod backend;
pub mod deploy;
pub mod logs;
pub mod package;
pub mod pricing;
pub mod registry;
pub mod settings;
pub mod storage;
pub mod triggers;

pub use backend::GcpBackend;

use std::path::Path;

use anyhow::Result;
use sebs_core::config::DeploymentConfig;
use sebs_platforms::Platform;

/// The factory's constructor: `sebs_platforms::factory::register("gcp", sebs_gcp::create)`.
pub fn create(deployment: &DeploymentConfig, cache_dir: &Path) -> Result<Box<dyn Platform>> {
    Ok(Box::new(GcpBackend::new(
        deployment.gcp.as_ref(),
        cache_dir,
    )?))
}

/// Register the backend as deployment `gcp`.
pub fn register() {
    sebs_platforms::factory::register("gcp", create);
}
