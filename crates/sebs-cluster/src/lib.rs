//! Backends of sebs for FaaS platforms on a cluster you run, over their REST APIs with no CLI
//! and no Docker on this machine:
//!
//! - [`openwhisk`]: Apache OpenWhisk (`/api/v1`: actions, blocking and web invocations,
//!   activation records), feature `openwhisk` of `sebs`;
//! - [`knative`]: Knative Serving over the Kubernetes API (Services of `serving.knative.dev/v1`,
//!   kubeconfig authentication), feature `knative` of `sebs`.
//!
//! Both speak HTTP/1.1 through [`rest`] (rustls for HTTPS).
#![warn(missing_docs, rust_2018_idioms)]

pub mod common;
pub mod knative;
pub mod openwhisk;
pub mod rest;

use std::path::Path;

use anyhow::Result;
use sebs_core::config::DeploymentConfig;
use sebs_platforms::Platform;

/// The factory's constructor of deployment `openwhisk`.
pub fn create_openwhisk(
    deployment: &DeploymentConfig,
    cache_dir: &Path,
) -> Result<Box<dyn Platform>> {
    Ok(Box::new(openwhisk::OpenWhiskBackend::new(
        deployment.openwhisk.as_ref(),
        cache_dir,
    )?))
}

/// Register the OpenWhisk backend as deployment `openwhisk`.
pub fn register_openwhisk() {
    sebs_platforms::factory::register("openwhisk", create_openwhisk);
}

/// The factory's constructor of deployment `knative`.
pub fn create_knative(
    deployment: &DeploymentConfig,
    cache_dir: &Path,
) -> Result<Box<dyn Platform>> {
    Ok(Box::new(knative::KnativeBackend::new(
        deployment.knative.as_ref(),
        cache_dir,
    )?))
}

/// Register the Knative backend as deployment `knative`.
pub fn register_knative() {
    sebs_platforms::factory::register("knative", create_knative);
}
