//! `deployment.openwhisk` (SeBS's format) and `deployment.knative` (new in sebs, with the keys of
//! SeBS's Knative branch where they exist): platforms on a cluster you run. The backends are the
//! `openwhisk` and `knative` features of `sebs` (crate `sebs-cluster`); the keys sebs adds to
//! SeBS's are listed below each section's SeBS keys.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::secret::{DockerRegistry, Secret, StorageSection, flag};

/// `deployment.openwhisk`: Apache OpenWhisk.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenWhiskConfig {
    /// Stop the storage containers at shutdown.
    #[serde(
        rename = "shutdownStorage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shutdown_storage: Option<bool>,
    /// Remove the cluster at shutdown.
    #[serde(
        rename = "removeCluster",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub remove_cluster: Option<bool>,
    /// Pass `-i` to `wsk` (skip TLS verification). SeBS's example writes the string `"true"`;
    /// `true`, `false`, `"true"`, `"false"` and `""` (false) are accepted.
    #[serde(
        rename = "wskBypassSecurity",
        default,
        deserialize_with = "flag",
        skip_serializing_if = "Option::is_none"
    )]
    pub wsk_bypass_security: Option<bool>,
    /// The `wsk` executable.
    #[serde(rename = "wskExec", default, skip_serializing_if = "Option::is_none")]
    pub wsk_exec: Option<String>,
    /// Use `docker manifest inspect` (an experimental Docker feature) to find images.
    #[serde(
        rename = "experimentalManifest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub experimental_manifest: Option<bool>,
    /// Docker Hub repository for function images (`null`: SeBS's default).
    #[serde(
        rename = "dockerhubRepository",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dockerhub_repository: Option<String>,
    /// Registry the function images are pushed to (empty strings: Docker Hub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_registry: Option<DockerRegistry>,
    /// Object and NoSQL storage for the functions (output of `sebs storage start`; never
    /// serialized: it holds access keys).
    #[serde(default, skip_serializing)]
    pub storage: Option<StorageSection>,
    /// Cached resource ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ClusterResources>,
    /// (sebs) The API host, e.g. `https://10.0.0.5:31001` or `http://127.0.0.1:3233` (default:
    /// `APIHOST` of the `wsk` properties file, `WSK_CONFIG_FILE` or `~/.wskprops`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apihost: Option<String>,
    /// (sebs) The `uuid:key` authorization (default: `AUTH` of the `wsk` properties file; never
    /// serialized).
    #[serde(default, skip_serializing)]
    pub auth: Option<Secret>,
    /// (sebs) The namespace (default: `NAMESPACE` of the properties file, else `_`, the
    /// authorization's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// (sebs) Deploy image actions (`--docker`): the image, with `{benchmark}`, `{language}` and
    /// `{version}` replaced; the code zip is still sent, as `wsk action create --docker` does.
    /// Without it, actions run on the platform's own python/nodejs kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_image: Option<String>,
}

/// `deployment.knative`: Knative Serving on a Kubernetes cluster.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnativeConfig {
    /// Namespace the services are created in (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// kubeconfig file (default: `KUBECONFIG`, then `~/.kube/config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context (default: its current context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// URL of the ingress gateway requests are sent to, with the service's host name in the
    /// `Host` header (for clusters without DNS for `domain`), e.g. `http://192.168.49.2:31080`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<String>,
    /// Domain of service URLs (`<service>.<namespace>.<domain>`), e.g. `example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The CLI SeBS's Knative branch deploys with (e.g. `func`).
    #[serde(
        rename = "knativeExec",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub knative_exec: Option<String>,
    /// Stop the storage containers at shutdown.
    #[serde(
        rename = "shutdownStorage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shutdown_storage: Option<bool>,
    /// Remove the cluster at shutdown.
    #[serde(
        rename = "removeCluster",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub remove_cluster: Option<bool>,
    /// Registry the function images are pushed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_registry: Option<DockerRegistry>,
    /// Object and NoSQL storage for the functions (never serialized: it holds access keys).
    #[serde(default, skip_serializing)]
    pub storage: Option<StorageSection>,
    /// Cached resource ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ClusterResources>,
    /// (sebs) The function image, with `{benchmark}`, `{language}` and `{version}` replaced,
    /// e.g. `registry.example.com/sebs-{benchmark}-{language}-{version}:latest`: built by you
    /// from the build context sebs writes (docs/platforms/knative.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// (sebs) `autoscaling.knative.dev/min-scale` (default 0: scale to zero when idle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_scale: Option<u32>,
    /// (sebs) `autoscaling.knative.dev/max-scale` (default 0: no bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_scale: Option<u32>,
    /// (sebs) `containerConcurrency` of the revisions (default 1: one request per instance, as
    /// on Lambda; 0 lets Knative send any number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_concurrency: Option<u32>,
    /// (sebs) How long a cold-start enforcement waits for the function to scale to zero, in
    /// seconds (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_to_zero_wait_s: Option<u64>,
}

/// `deployment.openwhisk.resources` and `deployment.knative.resources`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClusterResources {
    /// The id suffix of every resource SeBS created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_id: Option<String>,
    /// Buckets by purpose.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_buckets: BTreeMap<String, String>,
    /// The registry images were pushed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerRegistry>,
}
