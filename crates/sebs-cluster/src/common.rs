//! What both cluster backends share: the resource id kept in the cache, storage from the
//! config's `storage` section, image name templates, and cold-start counters.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use sebs_core::config::{ClusterResources, StorageSection};
use sebs_platforms::platform::ProvidedStorage;
use sebs_storage::config::StorageConfig;

/// The resource id: `resources.resources_id` of the section, else the one kept in
/// `state_dir/resources.json`, else a new one (eight hex digits, as SeBS makes them).
pub fn resources_id(
    configured: Option<&ClusterResources>,
    state_dir: &Path,
    key: &str,
) -> Result<String> {
    if let Some(id) = configured
        .and_then(|r| r.resources_id.clone())
        .filter(|id| !id.is_empty())
    {
        return validate(id, key);
    }
    let path = state_dir.join("resources.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a sebs resources file; delete it to start with a new resource id",
                path.display()
            )
        })?;
        if let Some(id) = value["resources_id"].as_str() {
            return validate(id.to_owned(), key);
        }
    }
    let mut bytes = [0u8; 4];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for a resource id")?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("failed to create {}", state_dir.display()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::json!({ "resources_id": id }).to_string())?;
    std::fs::rename(&tmp, &path)?;
    tracing::info!("resource id {id} (kept in {})", path.display());
    Ok(id)
}

fn validate(id: String, key: &str) -> Result<String> {
    if id.is_empty()
        || id.len() > 16
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        bail!(
            "resource id {id:?} is invalid: it names functions, so use 1-16 lower-case letters, digits or hyphens ({key})"
        );
    }
    Ok(id)
}

/// The object and NoSQL storage of `section` (SeBS's `storage` of the OpenWhisk and Knative
/// sections: MinIO and ScyllaDB Alternator addresses the functions on the cluster reach).
pub fn provided_storage(
    section: Option<&StorageSection>,
    key: &str,
    object: bool,
    nosql: bool,
) -> Result<Option<ProvidedStorage>> {
    if !object && !nosql {
        return Ok(None);
    }
    let Some(value) = section
        .map(|s| s.value())
        .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
    else {
        bail!(
            "this benchmark needs {} storage, and functions on the cluster cannot reach sebs's embedded servers on 127.0.0.1: set {key} to storage they can reach (SeBS's format: the output of `sebs storage start all --output-json` on a host of the cluster's network, or your MinIO/ScyllaDB addresses)",
            if object { "object" } else { "NoSQL" }
        );
    };
    let config = StorageConfig::from_value(value).with_context(|| format!("invalid {key}"))?;
    let mut env = std::collections::BTreeMap::new();
    if object {
        let e = config
            .object_endpoint()?
            .with_context(|| format!("{key} has no object storage (minio) section"))?;
        env.extend(e.object_env());
    }
    if nosql {
        let e = config
            .nosql_endpoint()?
            .with_context(|| format!("{key} has no NoSQL (scylladb) section"))?;
        env.extend(e.nosql_env());
    }
    Ok(Some(ProvidedStorage {
        driver_env: env.clone(),
        function_env: env,
    }))
}

/// `template` with `{benchmark}`, `{language}` and `{version}` replaced (the benchmark's dots
/// become dashes: image names allow them, Kubernetes and most registries' tags do too, but
/// SeBS's image names use dashes).
pub fn image_name(template: &str, benchmark: &str, language: &str, version: &str) -> String {
    template
        .replace("{benchmark}", &benchmark.replace('.', "-"))
        .replace("{language}", language)
        .replace("{version}", version)
}

/// A fresh value for the `cold_start` variable of a function (SeBS's way of forcing new
/// instances): the time in microseconds.
pub fn cold_start_token() -> String {
    chrono::Utc::now().timestamp_micros().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_are_kept_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let first = resources_id(None, dir.path(), "k").unwrap();
        assert_eq!(first.len(), 8);
        assert_eq!(resources_id(None, dir.path(), "k").unwrap(), first);
        let bad = ClusterResources {
            resources_id: Some("Bad_Id".into()),
            ..ClusterResources::default()
        };
        let e = resources_id(Some(&bad), dir.path(), "deployment.x.resources").unwrap_err();
        assert!(e.to_string().contains("deployment.x.resources"), "{e}");
    }

    #[test]
    fn images_are_named_from_templates() {
        assert_eq!(
            image_name(
                "r.io/sebs-{benchmark}-{language}-{version}:v1",
                "110.dynamic-html",
                "python",
                "3.11"
            ),
            "r.io/sebs-110-dynamic-html-python-3.11:v1"
        );
    }

    #[test]
    fn storage_is_required_for_benchmarks_that_use_it() {
        assert!(
            provided_storage(None, "deployment.x.storage", false, false)
                .unwrap()
                .is_none()
        );
        let e = provided_storage(None, "deployment.x.storage", true, false).unwrap_err();
        assert!(e.to_string().contains("deployment.x.storage"), "{e}");
    }
}
