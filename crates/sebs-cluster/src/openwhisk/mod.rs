//! The Apache OpenWhisk backend over its REST API (`/api/v1`): no `wsk` CLI, no Docker on this
//! machine.
//!
//! - **Actions**: `PUT /namespaces/{ns}/actions/{name}?overwrite=true` with the package as a
//!   zip for the `python:<version>` / `nodejs:<version>` kinds, or as an image action (`blackbox`
//!   with the configured image, the zip as its code, as `wsk action create --docker` sends it).
//!   Annotated `web-export` (the HTTP trigger) and `final` (requests cannot override the
//!   function's environment, sent as the parameter `__sebs_env`).
//! - **Triggers**: blocking invocations (library) and the web action's `.json` URL (HTTP).
//! - **Cold starts**: the action is updated (a new `cold_start` value in its environment), which
//!   makes OpenWhisk drop the containers of the previous version.
//! - **Processing**: activation records (`GET /namespaces/{ns}/activations/{id}`).
//! - **Storage**: `deployment.openwhisk.storage` (MinIO / a DynamoDB-API endpoint), as in SeBS.

pub mod activation;
pub mod package;
pub mod settings;
pub mod trigger;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use base64::Engine;
use hyper::Method;
use sebs_core::config::{Architecture, Language, OpenWhiskConfig};
use sebs_core::result::ProviderMetrics;
use sebs_platforms::platform::{ProvidedStorage, deployment_record};
use sebs_platforms::{FunctionConfig, PackageTarget, Platform, Resource, Trigger, TriggerKind};
use serde_json::{Value, json};

use crate::rest::{Client, TlsOptions, encode};
pub use settings::OpenWhiskSettings;

/// The parameter that carries a function's environment.
pub const ENV_PARAMETER: &str = "__sebs_env";

/// The OpenWhisk platform.
pub struct OpenWhiskBackend {
    settings: OpenWhiskSettings,
    client: Client,
    /// Actions deployed through this backend, and their memory (for processing).
    deployed: Mutex<BTreeMap<String, u64>>,
}

impl OpenWhiskBackend {
    /// A backend configured by `deployment.openwhisk`; nothing is sent until it is used.
    pub fn new(config: Option<&OpenWhiskConfig>, cache_dir: &Path) -> Result<OpenWhiskBackend> {
        let settings = OpenWhiskSettings::resolve(config, cache_dir)?;
        let auth = base64::engine::general_purpose::STANDARD.encode(settings.auth.expose());
        let tls = TlsOptions {
            insecure: settings.insecure,
            ..TlsOptions::default()
        };
        let client = Client::new(&settings.apihost, &tls, Some(format!("Basic {auth}")))
            .context("deployment.openwhisk.apihost")?;
        Ok(OpenWhiskBackend {
            settings,
            client,
            deployed: Mutex::new(BTreeMap::new()),
        })
    }

    fn action_path(&self, name: &str) -> String {
        format!(
            "/api/v1/namespaces/{}/actions/{}",
            encode(&self.settings.namespace),
            encode(name)
        )
    }

    async fn get_action(&self, name: &str) -> Result<Option<Value>> {
        let reply = self
            .client
            .json(Method::GET, &self.action_path(name), None)
            .await?;
        match reply.status {
            200 => Ok(Some(reply.json())),
            404 => Ok(None),
            s => bail!(
                "OpenWhisk answered HTTP {s} to reading action {name}: {}",
                reply.text()
            ),
        }
    }

    async fn put_action(&self, name: &str, body: &Value) -> Result<Value> {
        let path = format!("{}?overwrite=true", self.action_path(name));
        let reply = self.client.json(Method::PUT, &path, Some(body)).await?;
        if !reply.ok() {
            let hint = if reply.status == 413 {
                " (the package is above the controller's action size limit, 48 MB by default: put the dependencies in an image and set deployment.openwhisk.docker_image)"
            } else if reply.status == 401 {
                " (check deployment.openwhisk.auth or AUTH in ~/.wskprops)"
            } else if reply.text().contains("kind") {
                " (this OpenWhisk has no runtime of that kind: pick a language version it lists in its runtimes manifest, or set deployment.openwhisk.docker_image)"
            } else {
                ""
            };
            bail!(
                "OpenWhisk answered HTTP {} to writing action {name}: {}{hint}",
                reply.status,
                reply.text()
            );
        }
        Ok(reply.json())
    }

    /// The action document for `f`.
    fn action_body(&self, f: &FunctionConfig, env: &BTreeMap<String, String>) -> Result<Value> {
        let zip = package::action_zip(&f.code_dir, f.language)?;
        let code = base64::engine::general_purpose::STANDARD.encode(zip);
        let exec = match &self.settings.docker_image {
            Some(template) => json!({
                "kind": "blackbox",
                "image": crate::common::image_name(template, &f.benchmark, f.language.as_str(), &f.language_version),
                "code": code,
                "binary": true,
            }),
            None => json!({
                "kind": format!("{}:{}", f.language.as_str(), f.language_version),
                "code": code,
                "binary": true,
            }),
        };
        Ok(json!({
            "exec": exec,
            "limits": {"memory": f.memory_mb, "timeout": f.timeout_s * 1000},
            "parameters": [{"key": ENV_PARAMETER, "value": env}],
            "annotations": [
                {"key": "web-export", "value": true},
                {"key": "final", "value": true},
                {"key": "raw-http", "value": false},
                {"key": "sebs-code-hash", "value": f.code_hash},
            ],
        }))
    }

    fn record(&self, f: &FunctionConfig, action: &Value) -> Value {
        let functions: Vec<String> = self
            .deployed
            .lock()
            .expect("lock")
            .keys()
            .cloned()
            .collect();
        deployment_record(
            "openwhisk",
            json!({
                "resources_id": self.settings.resources_id,
                "apihost": self.settings.apihost,
                "namespace": self.settings.namespace,
                "function": f.name,
                "functions": functions,
                "kind": action["exec"]["kind"],
                "image": action["exec"]["image"],
                "version": action["version"],
                "memory": f.memory_mb,
                "timeout": f.timeout_s,
                "code-hash": f.code_hash,
                "deployed-at": chrono::Utc::now().timestamp_millis(),
            }),
        )
    }

    /// The namespace's own name (web action URLs need it; `_` means the authorization's).
    async fn namespace_name(&self) -> Result<String> {
        if self.settings.namespace != "_" {
            return Ok(self.settings.namespace.clone());
        }
        let reply = self
            .client
            .json(Method::GET, "/api/v1/namespaces", None)
            .await?;
        if !reply.ok() {
            bail!(
                "OpenWhisk answered HTTP {} to listing namespaces: {}",
                reply.status,
                reply.text()
            );
        }
        reply.json()[0]
            .as_str()
            .map(str::to_owned)
            .context("OpenWhisk lists no namespace for this authorization; set deployment.openwhisk.namespace")
    }

    fn owned(&self, name: &str) -> bool {
        name.starts_with(&format!("sebs-{}-", self.settings.resources_id))
    }
}

/// Whether the deployed action already is what `body` describes (code hash, limits,
/// environment, kind and image).
fn up_to_date(existing: &Value, body: &Value) -> bool {
    let hash = |v: &Value| {
        v["annotations"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["key"] == "sebs-code-hash"))
            .map(|x| x["value"].clone())
    };
    let env = |v: &Value| {
        v["parameters"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["key"] == ENV_PARAMETER))
            .map(|x| x["value"].clone())
    };
    hash(existing).is_some()
        && hash(existing) == hash(body)
        && env(existing) == env(body)
        && existing["limits"]["memory"] == body["limits"]["memory"]
        && existing["limits"]["timeout"] == body["limits"]["timeout"]
        && existing["exec"]["kind"] == body["exec"]["kind"]
        && existing["exec"]["image"] == body["exec"]["image"]
}

#[async_trait]
impl Platform for OpenWhiskBackend {
    fn name(&self) -> &str {
        "openwhisk"
    }

    fn resources_id(&self) -> &str {
        &self.settings.resources_id
    }

    fn package_target(&self, architecture: Architecture) -> PackageTarget {
        PackageTarget {
            layout: "openwhisk".into(),
            architecture,
        }
    }

    async fn create_or_update(&self, f: &FunctionConfig) -> Result<Value> {
        if f.language != Language::Python && f.language != Language::Nodejs {
            bail!("OpenWhisk actions from sebs packages are python or nodejs");
        }
        let existing = self.get_action(&f.name).await?;
        // Keep a forced cold start's marker: redeploying the same code must not undo it.
        let mut env = f.env.clone();
        if let Some(old) = existing
            .as_ref()
            .and_then(|a| current_env(a).get("cold_start").cloned())
        {
            env.insert("cold_start".into(), old);
        }
        let body = self.action_body(f, &env)?;
        let action = match existing {
            Some(a) if up_to_date(&a, &body) => {
                tracing::info!("action {} is up to date", f.name);
                a
            }
            Some(_) => {
                tracing::info!("updating action {}", f.name);
                self.put_action(&f.name, &body).await?
            }
            None => {
                tracing::info!("creating action {}", f.name);
                self.put_action(&f.name, &body).await?
            }
        };
        self.deployed
            .lock()
            .expect("lock")
            .insert(f.name.clone(), f.memory_mb);
        Ok(self.record(f, &action))
    }

    async fn trigger(&self, function: &str, kind: TriggerKind) -> Result<Arc<dyn Trigger>> {
        if matches!(kind, TriggerKind::Storage | TriggerKind::Queue) {
            anyhow::bail!(
                "the `{}` trigger is not available on OpenWhisk: use `http` (web actions) or `library` (blocking invocations); storage and queue triggers run on the local platform (docs/triggers.md)",
                kind.as_str()
            );
        }
        let action = self.get_action(function).await?.with_context(|| {
            format!(
                "action {function} does not exist on {}",
                self.settings.apihost
            )
        })?;
        let timeout_ms = action["limits"]["timeout"].as_u64().unwrap_or(60_000);
        Ok(match kind {
            TriggerKind::Library => Arc::new(trigger::BlockingTrigger {
                client: self.client.clone(),
                namespace: self.settings.namespace.clone(),
                action: function.to_owned(),
                timeout: Duration::from_millis(timeout_ms + 30_000),
            }),
            TriggerKind::Http => {
                let ns = self.namespace_name().await?;
                let url = format!(
                    "{}/api/v1/web/{}/default/{}.json",
                    self.settings.apihost,
                    encode(&ns),
                    encode(function)
                );
                Arc::new(trigger::WebTrigger {
                    client: self.client.at(&url, false)?,
                })
            }
            TriggerKind::Storage | TriggerKind::Queue => unreachable!("refused above"),
        })
    }

    async fn enforce_cold_start(&self, functions: &[String]) -> Result<()> {
        let token = crate::common::cold_start_token();
        for name in functions {
            let action = self
                .get_action(name)
                .await?
                .with_context(|| format!("action {name} does not exist"))?;
            let mut env = current_env(&action);
            env.insert("cold_start".into(), token.clone());
            // An update without `exec` keeps the code; the new version gets new containers.
            self.put_action(
                name,
                &json!({"parameters": [{"key": ENV_PARAMETER, "value": env}]}),
            )
            .await?;
        }
        Ok(())
    }

    async fn provider_metrics(
        &self,
        deployment: &Value,
        request_ids: &[String],
    ) -> Result<HashMap<String, ProviderMetrics>> {
        let memory = deployment["resources"]["memory"].as_u64().unwrap_or(256);
        let ns = encode(&self.settings.namespace);
        let mut out = HashMap::new();
        for id in request_ids.iter().filter(|id| !id.is_empty()) {
            let path = format!("/api/v1/namespaces/{ns}/activations/{}", encode(id));
            let reply = self.client.json(Method::GET, &path, None).await?;
            match reply.status {
                200 => {
                    if let Some(m) = activation::metrics(&reply.json(), memory) {
                        out.insert(id.clone(), m);
                    }
                }
                404 => tracing::warn!("OpenWhisk has no record of activation {id}"),
                s => bail!(
                    "OpenWhisk answered HTTP {s} to reading activation {id}: {}",
                    reply.text()
                ),
            }
        }
        Ok(out)
    }

    async fn storage(&self, object: bool, nosql: bool) -> Result<Option<ProvidedStorage>> {
        crate::common::provided_storage(
            self.settings.storage.as_ref(),
            "deployment.openwhisk.storage",
            object,
            nosql,
        )
    }

    async fn resources(&self) -> Result<Vec<Resource>> {
        let path = format!(
            "/api/v1/namespaces/{}/actions?limit=200",
            encode(&self.settings.namespace)
        );
        let reply = self.client.json(Method::GET, &path, None).await?;
        if !reply.ok() {
            bail!(
                "OpenWhisk answered HTTP {} to listing actions: {}",
                reply.status,
                reply.text()
            );
        }
        let names: BTreeSet<String> = reply
            .json()
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["name"].as_str())
            .filter(|n| self.owned(n))
            .map(str::to_owned)
            .collect();
        Ok(names.iter().map(|n| Resource::function(n)).collect())
    }

    async fn remove(&self, functions: &[String]) -> Result<()> {
        for name in functions {
            let reply = self
                .client
                .json(Method::DELETE, &self.action_path(name), None)
                .await?;
            if !reply.ok() && reply.status != 404 {
                bail!(
                    "OpenWhisk answered HTTP {} to deleting action {name}: {}",
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

/// The environment an action carries (`__sebs_env`).
fn current_env(action: &Value) -> BTreeMap<String, String> {
    action["parameters"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["key"] == ENV_PARAMETER))
        .and_then(|x| x["value"].as_object())
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
