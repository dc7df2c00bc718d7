//! The one place that maps a deployment name to a backend. A new platform is a module and one
//! line here — or, for a backend in a crate of its own behind a cargo feature (the cloud SDKs
//! are heavy), one [`register`] call in the binary.

use std::path::Path;
use std::sync::RwLock;

use anyhow::{Result, bail};
use sebs_core::config::DeploymentConfig;

use crate::fake::{FakePlatform, FakeScript};
use crate::local::LocalBackend;
use crate::platform::Platform;
use crate::settings::Settings;

/// Makes a backend from the deployment config and the cache directory. Creating a backend
/// starts nothing: backends start or connect on first use.
pub type Constructor = fn(&DeploymentConfig, &Path) -> Result<Box<dyn Platform>>;

/// The deployments every build has.
const BUILT_IN: &[&str] = &["local"];

/// Deployments SeBS knows: a build without a backend for one names the cargo feature to enable.
const KNOWN: &[(&str, &str)] = &[
    ("aws", "aws"),
    ("azure", "azure"),
    ("gcp", "gcp"),
    ("openwhisk", "openwhisk"),
    ("knative", "knative"),
];

/// Backends registered by the binary (feature-gated crates).
static REGISTERED: RwLock<Vec<(&'static str, Constructor)>> = RwLock::new(Vec::new());

/// Register the backend `name`; a later registration of the same name replaces it.
pub fn register(name: &'static str, constructor: Constructor) {
    let mut registered = REGISTERED.write().expect("backend registry poisoned");
    registered.retain(|(n, _)| *n != name);
    registered.push((name, constructor));
}

fn registered(name: &str) -> Option<Constructor> {
    REGISTERED
        .read()
        .expect("backend registry poisoned")
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
}

/// The deployments this build can deploy to.
pub fn available() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = BUILT_IN.to_vec();
    names.extend(
        REGISTERED
            .read()
            .expect("backend registry poisoned")
            .iter()
            .map(|(n, _)| *n),
    );
    names
}

/// Fail unless this build has a backend for `name`, with a message naming what is available.
pub fn ensure_available(name: &str) -> Result<()> {
    let available = available();
    if available.contains(&name) {
        return Ok(());
    }
    if let Some((_, feature)) = KNOWN.iter().find(|(n, _)| *n == name) {
        let how = if feature.is_empty() {
            format!("sebs has no {name} backend yet")
        } else {
            format!(
                "it was built without the `{feature}` feature (build with `cargo build --release -p sebs --features {feature}`)"
            )
        };
        bail!(
            "deployment `{name}` is not available in this build of sebs: {how}; available: {}; pass --deployment local (or set deployment.name to \"local\")",
            available.join(", ")
        );
    }
    bail!(
        "unknown deployment `{name}`: expected one of {}",
        available
            .iter()
            .copied()
            .chain(
                KNOWN
                    .iter()
                    .map(|(n, _)| *n)
                    .filter(|n| !available.contains(n))
            )
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
        other => match registered(other) {
            Some(constructor) => constructor(deployment, cache_dir)?,
            None => {
                ensure_available(other)?;
                bail!("deployment `{other}` has no backend in the factory")
            }
        },
    })
}
