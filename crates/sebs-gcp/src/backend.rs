//! [`GcpBackend`]: the `Platform` implementation over [`crate::deploy`], [`crate::triggers`],
//! [`crate::logs`] and [`crate::storage`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use sebs_core::config::{Architecture, GcpConfig, Language};
use sebs_core::result::ProviderMetrics;
use sebs_platforms::platform::{PackageTarget, ProvidedStorage, Resource, deployment_record};
use sebs_platforms::{FunctionConfig, Platform, Trigger, TriggerKind};
use serde_json::{Value, json};

use crate::api::{Api, Endpoints};
use crate::deploy::{Deployer, HASH_LABEL, current_env, url_of};
use crate::settings::{Settings, Variant, function_name};
use crate::storage::Gcs;

/// Resource kinds `sebs resources` lists.
const KINDS: [(&str, Variant); 3] = [
    ("function-gen1", Variant::Gen1),
    ("function-gen2", Variant::Gen2),
    ("run-service", Variant::Run),
];

/// Google Cloud Functions and Cloud Run.
#[derive(Debug)]
pub struct GcpBackend {
    settings: Settings,
    api: Api,
}

impl GcpBackend {
    /// A backend configured by `deployment.gcp`, with Google's endpoints (or the environment's
    /// overrides); nothing is sent until it is used.
    pub fn new(section: Option<&GcpConfig>, cache_dir: &Path) -> Result<GcpBackend> {
        GcpBackend::with_endpoints(
            section,
            cache_dir,
            Endpoints::from_env(),
            Duration::from_secs(5),
        )
    }

    /// The same against `endpoints`, polling operations every `poll` (tests, emulators).
    pub fn with_endpoints(
        section: Option<&GcpConfig>,
        cache_dir: &Path,
        endpoints: Endpoints,
        poll: Duration,
    ) -> Result<GcpBackend> {
        let settings = Settings::resolve(section, cache_dir)?;
        let mut api = Api::new(settings.credentials.clone(), endpoints);
        api.poll = poll;
        Ok(GcpBackend { settings, api })
    }

    /// The settings in effect.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn deployer(&self) -> Deployer<'_> {
        Deployer {
            api: &self.api,
            settings: &self.settings,
        }
    }

    fn record(&self, f: &FunctionConfig, deployed: &Value) -> Value {
        let variant = self.settings.variant;
        let memory = crate::deploy::allocated_memory(variant, f.memory_mb);
        deployment_record(
            "gcp",
            json!({
                "project": self.settings.project,
                "region": self.settings.region,
                "system_variant": variant.as_str(),
                "resources_id": self.settings.resources_id,
                "function": f.name,
                // What Google allocates and bills: 1st gen's next size, Run's 512 MiB minimum.
                "memory": memory,
                "url": url_of(variant, deployed),
                "deployed_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "pricing": crate::pricing::record(variant, memory, self.settings.runtime.vcpus),
            }),
        )
    }

    async fn deploy(&self, f: &FunctionConfig, existing: Option<Value>) -> Result<Value> {
        let d = self.deployer();
        let variant = self.settings.variant;
        let env = d.environment(f, existing.as_ref());
        let hash = d.deployment_hash(f, &env);
        if let Some(e) = existing
            .as_ref()
            .filter(|e| e["labels"][HASH_LABEL].as_str() == Some(hash.as_str()))
        {
            tracing::info!("{} {} is up to date", variant.as_str(), f.name);
            return Ok(e.clone());
        }
        tracing::info!(
            "{} {} ({})",
            if existing.is_some() {
                "updating"
            } else {
                "creating"
            },
            f.name,
            variant.as_str()
        );
        let zip = crate::package::source_zip(&f.code_dir, f.language)?;
        let body = match variant {
            Variant::Gen1 => {
                let mut body = d.gen1_body(f, &env, &hash);
                d.upload_function_source(variant, &mut body, zip).await?;
                body
            }
            Variant::Gen2 => {
                let mut body = d.gen2_body(f, &env, &hash);
                d.upload_function_source(variant, &mut body, zip).await?;
                body
            }
            Variant::Run => {
                let source = d.upload_run_source(f, zip).await?;
                d.run_body(f, &env, &hash, &source)
            }
        };
        let deployed = d.apply(variant, &f.name, &body, existing.is_none()).await?;
        d.make_public(variant, &deployed).await?;
        Ok(deployed)
    }
}

#[async_trait]
impl Platform for GcpBackend {
    fn name(&self) -> &str {
        "gcp"
    }

    fn resources_id(&self) -> &str {
        &self.settings.resources_id
    }

    fn package_target(&self, architecture: Architecture) -> PackageTarget {
        PackageTarget {
            layout: "gcp".into(),
            architecture,
        }
    }

    fn format_function_name(&self, name: &str) -> String {
        function_name(name, self.settings.variant)
    }

    async fn create_or_update(&self, f: &FunctionConfig) -> Result<Value> {
        if f.architecture != Architecture::X64 {
            bail!("Google Cloud Functions and Cloud Run run x64 only: pass --architecture x64");
        }
        if !matches!(f.language, Language::Python | Language::Nodejs) {
            bail!("sebs deploys python and nodejs packages to Google Cloud");
        }
        let existing = self.deployer().get(self.settings.variant, &f.name).await?;
        let deployed = self.deploy(f, existing).await?;
        Ok(self.record(f, &deployed))
    }

    async fn trigger(&self, function: &str, kind: TriggerKind) -> Result<Arc<dyn Trigger>> {
        let variant = self.settings.variant;
        let d = self.deployer();
        match kind {
            TriggerKind::Http => {
                let deployed = d.get(variant, function).await?.with_context(|| {
                    format!(
                        "{function} does not exist in {} ({})",
                        self.settings.parent(),
                        variant.as_str()
                    )
                })?;
                let url = url_of(variant, &deployed).with_context(|| {
                    format!("{function} has no URL yet (is its deployment finished?)")
                })?;
                Ok(Arc::new(crate::triggers::HttpTrigger::new(url)?))
            }
            TriggerKind::Library if variant == Variant::Gen1 => {
                Ok(Arc::new(crate::triggers::CallTrigger {
                    api: self.api.clone(),
                    resource: d.resource(variant, function),
                }))
            }
            other => bail!(
                "the `{}` trigger is not available for {}: Google's invoke API (`functions.call`) exists for function-gen1 only; use --trigger http",
                other.as_str(),
                variant.as_str()
            ),
        }
    }

    async fn enforce_cold_start(&self, functions: &[String]) -> Result<()> {
        let variant = self.settings.variant;
        let d = self.deployer();
        for name in functions {
            let deployed = d
                .get(variant, name)
                .await?
                .with_context(|| format!("{name} does not exist"))?;
            let mut env = current_env(variant, &deployed);
            env.insert(
                "cold_start".into(),
                sebs_cluster::common::cold_start_token(),
            );
            d.set_env(variant, name, &env).await?;
        }
        Ok(())
    }

    async fn provider_metrics(
        &self,
        deployment: &Value,
        ids: &[String],
    ) -> Result<HashMap<String, ProviderMetrics>> {
        let r = &deployment["resources"];
        let variant = match r["system_variant"].as_str() {
            Some("function-gen2") => Variant::Gen2,
            Some("container") => Variant::Run,
            _ => Variant::Gen1,
        };
        let function = r["function"]
            .as_str()
            .context("the deployment record names no function")?;
        let project = r["project"].as_str().unwrap_or(&self.settings.project);
        let since = r["deployed_at"].as_str().unwrap_or("1970-01-01T00:00:00Z");
        let memory = r["memory"].as_u64().unwrap_or(0);
        crate::logs::provider_metrics(&self.api, project, variant, function, memory, since, ids)
            .await
    }

    async fn storage(&self, object: bool, nosql: bool) -> Result<Option<ProvidedStorage>> {
        if !object && !nosql {
            return Ok(None);
        }
        crate::storage::provided(&self.api, &self.settings, object, nosql)
            .await
            .map(Some)
    }

    fn driver_shims(&self) -> Option<Vec<(&'static str, &'static str)>> {
        Some(
            crate::package::PYTHON_SHIMS
                .iter()
                .map(|(path, source)| (path.trim_start_matches("function/"), *source))
                .collect(),
        )
    }

    async fn resources(&self) -> Result<Vec<Resource>> {
        let d = self.deployer();
        let mut out = Vec::new();
        // An API that cannot be listed (disabled, no permission) is a warning: the others are
        // still listed, as on AWS.
        for (kind, variant) in KINDS {
            match d.list(variant).await {
                Ok(names) => out.extend(names.into_iter().map(|name| Resource {
                    kind: kind.into(),
                    name,
                })),
                Err(e) => tracing::warn!("cannot list {kind}s: {e:#}"),
            }
        }
        let gcs = Gcs::new(&self.api, &self.settings.project);
        let buckets = gcs
            .buckets(&self.settings.deployment_bucket())
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("cannot list buckets: {e:#}");
                Vec::new()
            });
        for bucket in buckets {
            out.push(Resource {
                kind: "bucket".into(),
                name: bucket,
            });
        }
        match crate::registry::Registry::new(&self.api, &self.settings)
            .list()
            .await
        {
            Ok(names) => out.extend(names.into_iter().map(|name| Resource {
                kind: "repository".into(),
                name,
            })),
            Err(e) => tracing::warn!("cannot list Artifact Registry repositories: {e:#}"),
        }
        Ok(out)
    }

    async fn remove(&self, functions: &[String]) -> Result<()> {
        for name in functions {
            self.deployer().delete(self.settings.variant, name).await?;
        }
        Ok(())
    }

    async fn delete(&self, resource: &Resource) -> Result<()> {
        if resource.kind == "bucket" {
            return Gcs::new(&self.api, &self.settings.project)
                .delete_bucket(&resource.name)
                .await;
        }
        if resource.kind == "repository" {
            return crate::registry::Registry::new(&self.api, &self.settings)
                .delete(&resource.name)
                .await;
        }
        if resource.kind == "function" {
            return self.remove(std::slice::from_ref(&resource.name)).await;
        }
        let Some((_, variant)) = KINDS.iter().find(|(k, _)| *k == resource.kind) else {
            bail!(
                "the gcp platform cannot delete a {} ({})",
                resource.kind,
                resource.name
            );
        };
        self.deployer().delete(*variant, &resource.name).await
    }

    async fn shutdown(self: Box<Self>) {}
}
