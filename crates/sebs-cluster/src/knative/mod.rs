//! The Knative Serving backend over the Kubernetes API (no `kn`/`func` CLI, no Docker here).
//!
//! - **Functions**: a Service (`serving.knative.dev/v1`) per function, from an image you build
//!   from the context sebs writes (the package plus `runtimes/knative/server.*`, a small HTTP
//!   server around the SeBS wrapper) and name in `deployment.knative.image`; scale bounds and
//!   `containerConcurrency` from the config; created or replaced, then waited on until Ready.
//! - **Triggers**: the route URL (`status.url`), directly or through `deployment.knative.ingress`
//!   with the service's host name. Knative has no invoke API besides the route: the library
//!   trigger is the same request.
//! - **Cold starts**: a new revision (a new `cold_start` value), then, with `min_scale` 0, a wait
//!   until the service has scaled to zero (no pods left), so the next request starts one.
//! - **Processing**: Knative keeps no per-request records; results keep the client's and the
//!   function's own measurements.
//! - **Storage**: `deployment.knative.storage` (MinIO / a DynamoDB-API endpoint).

pub mod kubeconfig;
pub mod service;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use bytes::Bytes;
use hyper::Method;
use sebs_core::config::{Architecture, KnativeConfig, StorageSection};
use sebs_core::result::{ExecutionResult, ProviderMetrics};
use sebs_platforms::http::{Exchange, Via, result_of};
use sebs_platforms::platform::{ProvidedStorage, deployment_record};
use sebs_platforms::{FunctionConfig, PackageTarget, Platform, Resource, Trigger, TriggerKind};
use serde_json::{Value, json};

use crate::rest::{Client, TlsOptions, encode};
use service::{Desired, RESOURCES_LABEL};

/// How long a Service may take to become Ready.
const READY_TIMEOUT: Duration = Duration::from_secs(600);

/// The Knative platform.
pub struct KnativeBackend {
    api: Client,
    namespace: String,
    image: Option<String>,
    ingress: Option<String>,
    min_scale: u32,
    max_scale: u32,
    container_concurrency: u32,
    scale_to_zero_wait: Duration,
    resources_id: String,
    storage: Option<StorageSection>,
    state_dir: PathBuf,
    /// Poll interval while waiting (readiness, scale to zero).
    poll: Duration,
    deployed: Mutex<BTreeSet<String>>,
}

impl KnativeBackend {
    /// A backend configured by `deployment.knative` (the kubeconfig is read now, nothing is
    /// sent until it is used).
    pub fn new(config: Option<&KnativeConfig>, cache_dir: &Path) -> Result<KnativeBackend> {
        let default = KnativeConfig::default();
        let config = config.unwrap_or(&default);
        let path = kubeconfig::path(config.kubeconfig.as_deref())?;
        let api = kubeconfig::load(&path, config.context.as_deref())?;
        let state_dir = std::path::absolute(cache_dir)?.join("knative");
        let resources_id = crate::common::resources_id(
            config.resources.as_ref(),
            &state_dir,
            "deployment.knative.resources.resources_id",
        )?;
        let namespace = config
            .namespace
            .clone()
            .or(api.namespace.clone())
            .unwrap_or_else(|| "default".into());
        Ok(KnativeBackend {
            api: Client::new(&api.server, &api.tls, api.authorization.clone())
                .with_context(|| format!("the server of the kubeconfig {}", path.display()))?,
            namespace,
            image: config.image.clone(),
            ingress: config.ingress.clone(),
            min_scale: config.min_scale.unwrap_or(0),
            max_scale: config.max_scale.unwrap_or(0),
            container_concurrency: config.container_concurrency.unwrap_or(1),
            scale_to_zero_wait: Duration::from_secs(config.scale_to_zero_wait_s.unwrap_or(300)),
            resources_id,
            storage: config.storage.clone(),
            state_dir,
            poll: Duration::from_secs(1),
            deployed: Mutex::new(BTreeSet::new()),
        })
    }

    /// Poll every `interval` while waiting (the tests use a short one).
    pub fn set_poll_interval(&mut self, interval: Duration) {
        self.poll = interval;
    }

    fn services_path(&self) -> String {
        format!(
            "/apis/serving.knative.dev/v1/namespaces/{}/services",
            encode(&self.namespace)
        )
    }

    fn service_path(&self, name: &str) -> String {
        format!("{}/{}", self.services_path(), encode(name))
    }

    async fn get_service(&self, name: &str) -> Result<Option<Value>> {
        let reply = self
            .api
            .json(Method::GET, &self.service_path(name), None)
            .await?;
        match reply.status {
            200 => Ok(Some(reply.json())),
            404 => Ok(None),
            s => bail!(
                "the Kubernetes API answered HTTP {s} to reading service {name}: {}",
                reply.text()
            ),
        }
    }

    /// Create `manifest`, or replace the existing Service (with its `resourceVersion`, as
    /// Kubernetes requires of an update).
    async fn apply(&self, name: &str, manifest: &Value, existing: Option<&Value>) -> Result<()> {
        let reply = match existing {
            None => {
                self.api
                    .json(Method::POST, &self.services_path(), Some(manifest))
                    .await?
            }
            Some(old) => {
                let mut body = manifest.clone();
                body["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
                self.api
                    .json(Method::PUT, &self.service_path(name), Some(&body))
                    .await?
            }
        };
        if !reply.ok() {
            let hint = match reply.status {
                401 | 403 => {
                    " (check the kubeconfig's user and its RBAC rights on services.serving.knative.dev)"
                }
                404 => {
                    " (is Knative Serving installed? `kubectl get crd services.serving.knative.dev`)"
                }
                _ => "",
            };
            bail!(
                "the Kubernetes API answered HTTP {} to writing service {name}: {}{hint}",
                reply.status,
                reply.text()
            );
        }
        Ok(())
    }

    /// Wait until the Service's current generation is Ready; its URL.
    async fn wait_ready(&self, name: &str, image_hint: &str) -> Result<String> {
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            let service = self
                .get_service(name)
                .await?
                .with_context(|| format!("service {name} disappeared"))?;
            match service::readiness(&service) {
                Some(Ok(url)) => return Ok(url),
                Some(Err(why)) => bail!("service {name} is not ready: {why}{image_hint}"),
                None if tokio::time::Instant::now() >= deadline => {
                    bail!(
                        "service {name} was not ready after {}s{image_hint}",
                        READY_TIMEOUT.as_secs()
                    )
                }
                None => tokio::time::sleep(self.poll).await,
            }
        }
    }

    /// Pods of a service that are not terminating.
    async fn pods(&self, name: &str) -> Result<usize> {
        let selector = encode(&format!("serving.knative.dev/service={name}"));
        let path = format!(
            "/api/v1/namespaces/{}/pods?labelSelector={selector}",
            encode(&self.namespace)
        );
        let reply = self.api.json(Method::GET, &path, None).await?;
        if !reply.ok() {
            bail!(
                "the Kubernetes API answered HTTP {} to listing pods: {}",
                reply.status,
                reply.text()
            );
        }
        Ok(reply.json()["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .count())
    }

    fn desired(&self, f: &FunctionConfig, image: &str, env: BTreeMap<String, String>) -> Desired {
        Desired {
            name: f.name.clone(),
            namespace: self.namespace.clone(),
            image: image.to_owned(),
            env,
            memory_mb: f.memory_mb,
            timeout_s: f.timeout_s,
            container_concurrency: self.container_concurrency,
            min_scale: self.min_scale,
            max_scale: self.max_scale,
            resources_id: self.resources_id.clone(),
            code_hash: f.code_hash.clone(),
        }
    }

    fn client_for(&self, url: &str) -> Result<Client> {
        match &self.ingress {
            None => Client::new(url, &TlsOptions::default(), None),
            Some(ingress) => {
                let host = url
                    .split("://")
                    .nth(1)
                    .unwrap_or(url)
                    .split(['/', ':'])
                    .next()
                    .unwrap_or("");
                Ok(Client::new(ingress, &TlsOptions::default(), None)?.with_virtual_host(host))
            }
        }
    }
}

/// The `cold_start` value in a Service's container environment.
fn cold_start_of(service: &Value) -> Option<String> {
    service["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == "cold_start")
        .and_then(|e| e["value"].as_str().map(str::to_owned))
}

/// `name` as a Kubernetes name of a Service whose revisions (`<name>-00001`) stay DNS labels.
pub fn service_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().map(|c| c.to_ascii_lowercase()) {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    out.truncate(57);
    out.trim_end_matches('-').to_owned()
}

#[async_trait]
impl Platform for KnativeBackend {
    fn name(&self) -> &str {
        "knative"
    }

    fn resources_id(&self) -> &str {
        &self.resources_id
    }

    fn package_target(&self, architecture: Architecture) -> PackageTarget {
        PackageTarget {
            layout: "knative".into(),
            architecture,
        }
    }

    fn format_function_name(&self, name: &str) -> String {
        service_name(name)
    }

    async fn create_or_update(&self, f: &FunctionConfig) -> Result<Value> {
        let template = self.image.as_ref().context(
            "deployment.knative.image is not set: name the function image, e.g. \"registry.example.com/sebs-{benchmark}-{language}-{version}:latest\"; sebs writes the build context for it (docs/platforms/knative.md)",
        )?;
        let image = crate::common::image_name(
            template,
            &f.benchmark,
            f.language.as_str(),
            &f.language_version,
        );
        let context_dir = self.state_dir.join("build").join(&f.name);
        let build = service::write_build_context(
            &context_dir,
            &f.code_dir,
            f.language,
            &f.language_version,
            &image,
        )?;
        tracing::info!(
            "the image {image} is built from {}: {build}",
            context_dir.display()
        );
        let existing = self.get_service(&f.name).await?;
        let mut env = f.env.clone();
        if let Some(token) = existing.as_ref().and_then(cold_start_of) {
            env.insert("cold_start".into(), token);
        }
        let manifest = self.desired(f, &image, env).manifest();
        match &existing {
            Some(s) if service::up_to_date(s, &manifest) => {
                tracing::info!("service {} is up to date", f.name)
            }
            _ => self.apply(&f.name, &manifest, existing.as_ref()).await?,
        }
        let hint = format!(" (is the image built and pushed? {build})");
        let url = self.wait_ready(&f.name, &hint).await?;
        self.deployed.lock().expect("lock").insert(f.name.clone());
        let service = self.get_service(&f.name).await?.unwrap_or_default();
        let functions: Vec<String> = self
            .deployed
            .lock()
            .expect("lock")
            .iter()
            .cloned()
            .collect();
        Ok(deployment_record(
            "knative",
            json!({
                "resources_id": self.resources_id,
                "namespace": self.namespace,
                "function": f.name,
                "functions": functions,
                "image": image,
                "url": url,
                "revision": service["status"]["latestReadyRevisionName"],
                "memory": f.memory_mb,
                "timeout": f.timeout_s,
                "container_concurrency": self.container_concurrency,
                "min_scale": self.min_scale,
                "max_scale": self.max_scale,
                "code-hash": f.code_hash,
                "deployed-at": chrono::Utc::now().timestamp_millis(),
            }),
        ))
    }

    async fn trigger(&self, function: &str, kind: TriggerKind) -> Result<Arc<dyn Trigger>> {
        if matches!(kind, TriggerKind::Storage | TriggerKind::Queue) {
            bail!(
                "the `{}` trigger is not available on Knative: use `http` or `library` (both call the route); storage and queue triggers run on the local platform (docs/triggers.md)",
                kind.as_str()
            );
        }
        let service = self.get_service(function).await?.with_context(|| {
            format!(
                "service {function} does not exist in namespace {}",
                self.namespace
            )
        })?;
        let url = match service::readiness(&service) {
            Some(Ok(url)) => url,
            Some(Err(why)) => bail!("service {function} is not ready: {why}"),
            None => self.wait_ready(function, "").await?,
        };
        Ok(Arc::new(RouteTrigger {
            client: self.client_for(&url)?,
            url,
            kind,
        }))
    }

    async fn enforce_cold_start(&self, functions: &[String]) -> Result<()> {
        let token = crate::common::cold_start_token();
        for name in functions {
            let mut service = self
                .get_service(name)
                .await?
                .with_context(|| format!("service {name} does not exist"))?;
            let env = &mut service["spec"]["template"]["spec"]["containers"][0]["env"];
            let mut list: Vec<Value> = env.as_array().cloned().unwrap_or_default();
            list.retain(|e| e["name"] != "cold_start");
            list.push(json!({"name": "cold_start", "value": token}));
            *env = Value::Array(list);
            let manifest = json!({"apiVersion": service["apiVersion"], "kind": service["kind"],
                "metadata": {"name": name, "namespace": self.namespace,
                    "labels": service["metadata"]["labels"], "annotations": service["metadata"]["annotations"]},
                "spec": {"template": service["spec"]["template"]}});
            self.apply(name, &manifest, Some(&service)).await?;
            self.wait_ready(name, "").await?;
        }
        if self.min_scale > 0 {
            tracing::warn!(
                "min_scale {} keeps instances of the new revision running: the next invocation is of a new revision, not of a new instance",
                self.min_scale
            );
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + self.scale_to_zero_wait;
        for name in functions {
            loop {
                let pods = self.pods(name).await?;
                if pods == 0 {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    bail!(
                        "service {name} still has {pods} instance(s) after {}s: raise deployment.knative.scale_to_zero_wait_s, or shorten the cluster's scale-to-zero-grace-period and stable-window (config-autoscaler)",
                        self.scale_to_zero_wait.as_secs()
                    );
                }
                tokio::time::sleep(self.poll).await;
            }
        }
        Ok(())
    }

    async fn provider_metrics(
        &self,
        _deployment: &Value,
        _ids: &[String],
    ) -> Result<HashMap<String, ProviderMetrics>> {
        // Knative records nothing per request: no provider metrics to add.
        Ok(HashMap::new())
    }

    async fn storage(&self, object: bool, nosql: bool) -> Result<Option<ProvidedStorage>> {
        crate::common::provided_storage(
            self.storage.as_ref(),
            "deployment.knative.storage",
            object,
            nosql,
        )
    }

    async fn resources(&self) -> Result<Vec<Resource>> {
        let selector = encode(&format!("{RESOURCES_LABEL}={}", self.resources_id));
        let reply = self
            .api
            .json(
                Method::GET,
                &format!("{}?labelSelector={selector}", self.services_path()),
                None,
            )
            .await?;
        if !reply.ok() {
            bail!(
                "the Kubernetes API answered HTTP {} to listing services: {}",
                reply.status,
                reply.text()
            );
        }
        Ok(reply.json()["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["metadata"]["name"].as_str())
            .map(Resource::function)
            .collect())
    }

    async fn remove(&self, functions: &[String]) -> Result<()> {
        for name in functions {
            let reply = self
                .api
                .json(Method::DELETE, &self.service_path(name), None)
                .await?;
            if !reply.ok() && reply.status != 404 {
                bail!(
                    "the Kubernetes API answered HTTP {} to deleting service {name}: {}",
                    reply.status,
                    reply.text()
                );
            }
            self.deployed.lock().expect("lock").remove(name);
        }
        Ok(())
    }

    async fn shutdown(self: Box<Self>) {}
}

/// A request to a Service's route.
#[derive(Debug)]
struct RouteTrigger {
    client: Client,
    url: String,
    kind: TriggerKind,
}

#[async_trait]
impl Trigger for RouteTrigger {
    fn kind(&self) -> TriggerKind {
        self.kind
    }

    fn url(&self) -> Option<String> {
        Some(self.url.clone())
    }

    async fn invoke(&self, input: &Value) -> ExecutionResult {
        let begin = chrono::Local::now();
        let body = Bytes::from(serde_json::to_vec(input).expect("JSON serializes"));
        let reply = self
            .client
            .send(Method::POST, "/", Some("application/json"), &[], body)
            .await;
        let end = chrono::Local::now();
        let exchange = reply.map(|r| Exchange {
            status: r.status,
            headers: r.headers,
            body: r.body,
            connect: r.connect,
            first_byte: r.first_byte,
            total: r.total,
        });
        result_of(Via::Http, begin, end, exchange)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn service_names_are_dns_labels_with_room_for_revisions() {
        assert_eq!(
            super::service_name("sebs-ab12-110.dynamic-html-python-3.11"),
            "sebs-ab12-110-dynamic-html-python-3-11"
        );
        let long = super::service_name(&"x".repeat(80));
        assert_eq!(long.len(), 57);
        assert_eq!(super::service_name("A__b"), "a-b");
    }
}
