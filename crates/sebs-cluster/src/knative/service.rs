//! Knative Services (`serving.knative.dev/v1`) of sebs functions: the manifest, its readiness,
//! and the image build context of a package.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sebs_core::config::Language;
use serde_json::{Value, json};

/// The label naming the resource id of everything sebs creates.
pub const RESOURCES_LABEL: &str = "sebs.dev/resources-id";
/// The annotation holding the package's content hash.
pub const HASH_ANNOTATION: &str = "sebs.dev/code-hash";

/// The server runtime for Python images.
pub const PYTHON_SERVER: &str = include_str!("../../../../runtimes/knative/server.py");
/// The server runtime for Node.js images.
pub const NODE_SERVER: &str = include_str!("../../../../runtimes/knative/server.js");
const PYTHON_DOCKERFILE: &str = include_str!("../../../../runtimes/knative/Dockerfile.python");
const NODE_DOCKERFILE: &str = include_str!("../../../../runtimes/knative/Dockerfile.nodejs");

/// What a Service is made of.
#[derive(Debug, Clone)]
pub struct Desired {
    /// Service name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Image.
    pub image: String,
    /// Environment (storage endpoints and credentials, `cold_start`).
    pub env: BTreeMap<String, String>,
    /// Memory limit (MiB).
    pub memory_mb: u64,
    /// Request timeout (s).
    pub timeout_s: u64,
    /// `containerConcurrency`.
    pub container_concurrency: u32,
    /// `autoscaling.knative.dev/min-scale`.
    pub min_scale: u32,
    /// `autoscaling.knative.dev/max-scale` (0: none).
    pub max_scale: u32,
    /// The resource id (a label).
    pub resources_id: String,
    /// The package hash (an annotation).
    pub code_hash: String,
}

impl Desired {
    /// The Service manifest.
    pub fn manifest(&self) -> Value {
        let mut scale = serde_json::Map::new();
        scale.insert(
            "autoscaling.knative.dev/min-scale".into(),
            json!(self.min_scale.to_string()),
        );
        if self.max_scale > 0 {
            scale.insert(
                "autoscaling.knative.dev/max-scale".into(),
                json!(self.max_scale.to_string()),
            );
        }
        let env: Vec<Value> = self
            .env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        let memory = format!("{}Mi", self.memory_mb);
        json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {RESOURCES_LABEL: self.resources_id, "app.kubernetes.io/managed-by": "sebs"},
                "annotations": {HASH_ANNOTATION: self.code_hash},
            },
            "spec": {"template": {
                "metadata": {"annotations": scale},
                "spec": {
                    "containerConcurrency": self.container_concurrency,
                    "timeoutSeconds": self.timeout_s,
                    "containers": [{
                        "image": self.image,
                        "ports": [{"containerPort": 8080}],
                        "env": env,
                        "resources": {"limits": {"memory": memory}, "requests": {"memory": memory}},
                    }],
                },
            }},
        })
    }
}

/// Whether the deployed Service already has `desired`'s template, labels and hash (the status
/// and server-set fields are ignored).
pub fn up_to_date(existing: &Value, desired: &Value) -> bool {
    existing["spec"]["template"] == desired["spec"]["template"]
        && existing["metadata"]["annotations"][HASH_ANNOTATION]
            == desired["metadata"]["annotations"][HASH_ANNOTATION]
}

/// The Service's readiness: `Some(Ok(url))` when its current generation is Ready, `Some(Err)`
/// when Ready is False (with the reason), `None` while it is being reconciled.
pub fn readiness(service: &Value) -> Option<Result<String, String>> {
    let generation = service["metadata"]["generation"].as_i64().unwrap_or(0);
    let observed = service["status"]["observedGeneration"]
        .as_i64()
        .unwrap_or(-1);
    if observed < generation {
        return None;
    }
    let ready = service["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?;
    match ready["status"].as_str() {
        Some("True") => service["status"]["url"].as_str().map(|u| Ok(u.to_owned())),
        Some("False") => Some(Err(format!(
            "{}: {}",
            ready["reason"].as_str().unwrap_or("NotReady"),
            ready["message"].as_str().unwrap_or("")
        ))),
        _ => None,
    }
}

/// Write the image build context of a package: `dir/code/` (the package), the server runtime
/// and `Dockerfile`. Returns the `docker build` command that makes `image` from it.
pub fn write_build_context(
    dir: &Path,
    code_dir: &Path,
    language: Language,
    version: &str,
    image: &str,
) -> Result<String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("failed to clear {}", dir.display()))?;
    }
    copy_tree(code_dir, &dir.join("code"))?;
    let (server_name, server, dockerfile, arg) = match language {
        Language::Python => (
            "server.py",
            PYTHON_SERVER,
            PYTHON_DOCKERFILE,
            "PYTHON_VERSION",
        ),
        Language::Nodejs => ("server.js", NODE_SERVER, NODE_DOCKERFILE, "NODE_VERSION"),
    };
    std::fs::write(dir.join(server_name), server)?;
    std::fs::write(dir.join("Dockerfile"), dockerfile)?;
    Ok(format!(
        "docker build --build-arg {arg}={version} -t {image} {} && docker push {image}",
        dir.display()
    ))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("failed to create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("failed to read {}", from.display()))?
    {
        let entry = entry?;
        let (src, dst): (PathBuf, PathBuf) = (entry.path(), to.join(entry.file_name()));
        match std::fs::metadata(&src) {
            Ok(m) if m.is_dir() => copy_tree(&src, &dst)?,
            Ok(m) if m.is_file() => {
                std::fs::copy(&src, &dst)
                    .with_context(|| format!("failed to copy {}", src.display()))?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> Desired {
        Desired {
            name: "sebs-x-110-dynamic-html-python-3-11".into(),
            namespace: "default".into(),
            image: "r/i:1".into(),
            env: BTreeMap::from([("A".into(), "1".into())]),
            memory_mb: 256,
            timeout_s: 30,
            container_concurrency: 1,
            min_scale: 0,
            max_scale: 5,
            resources_id: "x".into(),
            code_hash: "h".into(),
        }
    }

    #[test]
    fn manifests_carry_scale_bounds_concurrency_and_memory() {
        let m = desired().manifest();
        let template = &m["spec"]["template"];
        assert_eq!(
            template["metadata"]["annotations"]["autoscaling.knative.dev/max-scale"],
            "5"
        );
        assert_eq!(template["spec"]["containerConcurrency"], 1);
        assert_eq!(
            template["spec"]["containers"][0]["resources"]["limits"]["memory"],
            "256Mi"
        );
        assert!(up_to_date(&m, &m));
        let mut other = desired();
        other.env.insert("cold_start".into(), "2".into());
        assert!(!up_to_date(&m, &other.manifest()));
    }

    #[test]
    fn readiness_follows_the_ready_condition_of_the_current_generation() {
        let mut s = json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 1,
            "url": "http://a.b.example.com", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(
            readiness(&s).is_none(),
            "an older generation's readiness does not count"
        );
        s["status"]["observedGeneration"] = json!(2);
        assert_eq!(readiness(&s), Some(Ok("http://a.b.example.com".into())));
        s["status"]["conditions"][0] = json!({"type": "Ready", "status": "False", "reason": "RevisionFailed", "message": "Unable to fetch image"});
        assert_eq!(
            readiness(&s),
            Some(Err("RevisionFailed: Unable to fetch image".into()))
        );
    }
}
