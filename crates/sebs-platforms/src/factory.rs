//! The one place that maps a deployment name to a backend. A new platform is a module and one
//! line here.

use std::path::Path;

use anyhow::{Result, bail};
use sebs_core::config::DeploymentConfig;

use crate::fake::{FakePlatform, FakeScript};
use crate::local::LocalBackend;
use crate::platform::Platform;
use crate::settings::Settings;

/// The deployments this build can deploy to.
pub const AVAILABLE: &[&str] = &["local"];

/// Deployments SeBS knows that this build has no backend for yet.
const PLANNED: &[&str] = &["aws", "azure", "gcp", "openwhisk", "knative"];

/// Fail unless this build has a backend for `name`, with a message naming what is available.
pub fn ensure_available(name: &str) -> Result<()> {
    if AVAILABLE.contains(&name) {
        return Ok(());
    }
    if PLANNED.contains(&name) {
        bail!(
            "deployment `{name}` is not available in this build of sebs: it has no {name} backend yet, only {}; pass --deployment local (or set deployment.name to \"local\")",
            AVAILABLE.join(", ")
        );
    }
    bail!(
        "unknown deployment `{name}`: expected one of {}",
        AVAILABLE
            .iter()
            .chain(PLANNED)
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The platform the settings select (`--deployment`, else `deployment.name`).
pub fn create(settings: &Settings) -> Result<Box<dyn Platform>> {
    create_named(
        settings.config.deployment.name.as_str(),
        &settings.config.deployment,
        &settings.cache_dir,
    )
}

/// The backend for deployment `name`, configured from `deployment`, with its local state under
/// `cache_dir` (`fake` is the tests' platform, for results it recorded). Creating a backend
/// starts nothing: backends start or connect on first use, so
/// this also serves to read the provider metrics of earlier runs.
pub fn create_named(
    name: &str,
    deployment: &DeploymentConfig,
    cache_dir: &Path,
) -> Result<Box<dyn Platform>> {
    Ok(match name {
        "local" => Box::new(LocalBackend::new(deployment.local.clone(), cache_dir)),
        // The tests' fake: metrics in the cache so a later `process` finds them.
        "fake" => Box::new(FakePlatform::new(
            FakeScript::default(),
            Some(std::path::absolute(cache_dir)?.join("fake-metrics.jsonl")),
        )),
        other => {
            ensure_available(other)?;
            bail!("deployment `{other}` has no backend in the factory")
        }
    })
}
