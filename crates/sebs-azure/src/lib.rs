//! The Azure Functions backend of sebs: [`AzureBackend`] implements the `Platform` seam over
//! plain REST (no Azure SDK, no `az` CLI, no Docker):
//!
//! - **Resources** ([`resources`]): resource group, storage accounts, a Linux consumption plan,
//!   an Application Insights component and function apps through Azure Resource Manager, with
//!   long-running operations followed ([`arm`]).
//! - **Code** ([`package`], [`deploy`]): packages built for Linux x64 (sebs-build's `azure`
//!   target), zipped in the Functions host's layout with runtimes/azure's entry point, and
//!   uploaded by Kudu's zip deploy.
//! - **Triggers** ([`trigger`]): HTTP with the function key.
//! - **Cold starts**: an app setting (`ForceColdStart`) changed, which restarts the app, as SeBS does.
//! - **Processing** ([`insights`], [`pricing`]): execution records from Application Insights;
//!   costs from a dated price table.
//! - **Storage** ([`storage`]): Blob storage and Cosmos DB, reached by runtimes/azure's shims.
//! - **Resources list/remove** ([`cleanup`]).
//!
//! Credentials ([`auth`]): a service principal from the environment or the config, else the
//! Azure CLI's login; tokens live in memory only. Endpoints can be replaced ([`settings`]).
#![warn(missing_docs, rust_2018_idioms)]

pub mod arm;
pub mod auth;
pub mod cleanup;
pub mod deploy;
pub mod insights;
pub mod package;
pub mod pricing;
pub mod resources;
pub mod settings;
pub mod storage;
pub mod trigger;

mod backend;

pub use backend::AzureBackend;

use std::path::Path;

use anyhow::Result;
use sebs_core::config::DeploymentConfig;
use sebs_platforms::Platform;

/// The factory's constructor: `sebs_platforms::factory::register("azure", sebs_azure::create)`.
pub fn create(deployment: &DeploymentConfig, cache_dir: &Path) -> Result<Box<dyn Platform>> {
    Ok(Box::new(AzureBackend::new(
        deployment.azure.as_ref(),
        cache_dir,
    )?))
}

/// Register the backend as deployment `azure`.
pub fn register() {
    sebs_platforms::factory::register("azure", create);
}
