//! [`AzureBackend`]: the `Platform` seam over Resource Manager, Kudu, the function endpoints and
//! Application Insights.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use reqwest::Method;
use sebs_core::config::{Architecture, AzureConfig, Language, Secret};
use sebs_core::result::ProviderMetrics;
use sebs_platforms::platform::{ProvidedStorage, deployment_record};
use sebs_platforms::{FunctionConfig, PackageTarget, Platform, Resource, Trigger, TriggerKind};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::arm::Arm;
use crate::auth::TokenSource;
use crate::deploy::{self, CODE_HASH_SETTING, COLD_START_SETTING, Infrastructure};
use crate::resources::Group;
use crate::settings::{AzureSettings, Endpoints};
use crate::{insights, package, pricing, trigger};

/// API version of the subscriptions list.
pub const SUBSCRIPTIONS_API: &str = "2022-12-01";

/// The Azure Functions platform.
pub struct AzureBackend {
    pub(crate) settings: AzureSettings,
    pub(crate) http: reqwest::Client,
    pub(crate) tokens: Arc<TokenSource>,
    pub(crate) arm: Arm,
    group: OnceCell<Group>,
    infra: OnceCell<Infrastructure>,
    keys: Mutex<HashMap<String, Secret>>,
}

impl AzureBackend {
    /// A backend configured by `deployment.azure`; nothing is sent until it is used.
    pub fn new(config: Option<&AzureConfig>, cache_dir: &Path) -> Result<AzureBackend> {
        let settings = AzureSettings::resolve(config, cache_dir)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(660))
            .build()
            .context("cannot set up the HTTPS client")?;
        let tokens = Arc::new(TokenSource::new(
            settings.credentials.clone(),
            &settings.endpoints.login,
            http.clone(),
        ));
        let arm = Arm::new(
            &settings.endpoints.management,
            settings.endpoints.management_scope(),
            tokens.clone(),
            http.clone(),
        );
        Ok(AzureBackend {
            settings,
            http,
            tokens,
            arm,
            group: OnceCell::new(),
            infra: OnceCell::new(),
            keys: Mutex::new(HashMap::new()),
        })
    }

    /// Poll long-running operations every `poll` (the tests' fake answers at once).
    pub fn with_poll_interval(mut self, poll: Duration) -> AzureBackend {
        self.arm.poll = poll;
        self
    }

    /// The resource group (its subscription found on first use).
    pub(crate) async fn group(&self) -> Result<&Group> {
        self.group
            .get_or_try_init(|| async {
                let subscription = match &self.settings.subscription {
                    Some(s) => s.clone(),
                    None => self.only_subscription().await?,
                };
                Ok::<_, anyhow::Error>(Group {
                    arm: self.arm.clone(),
                    subscription,
                    name: self.settings.resource_group.clone(),
                    region: self.settings.region.clone(),
                })
            })
            .await
    }

    /// The one subscription the identity sees (else an error listing them).
    async fn only_subscription(&self) -> Result<String> {
        let reply = self
            .arm
            .call(Method::GET, "/subscriptions", SUBSCRIPTIONS_API, None)
            .await?;
        let ids: Vec<String> = reply.body["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["subscriptionId"].as_str().map(str::to_owned))
            .collect();
        match ids.as_slice() {
            [one] => Ok(one.clone()),
            [] => bail!(
                "the Azure identity sees no subscription: give it a role on one, or set AZURE_SUBSCRIPTION_ID"
            ),
            many => bail!(
                "the Azure identity sees {} subscriptions ({}): pick one with AZURE_SUBSCRIPTION_ID or deployment.azure.credentials.subscription_id",
                many.len(),
                many.join(", ")
            ),
        }
    }

    /// The shared infrastructure, created on first use.
    pub(crate) async fn infra(&self) -> Result<&Infrastructure> {
        let group = self.group().await?.clone();
        self.infra
            .get_or_try_init(|| Infrastructure::ensure(group, &self.settings))
            .await
    }

    fn function_url(&self, app: &str) -> String {
        format!(
            "{}/api/{}",
            Endpoints::app_url(&self.settings.endpoints.functions, app),
            package::FUNCTION
        )
    }

    async fn function_key(&self, app: &str) -> Result<Secret> {
        if let Some(key) = self.keys.lock().expect("lock").get(app) {
            return Ok(key.clone());
        }
        let key = self.group().await?.function_key(app).await?;
        self.keys
            .lock()
            .expect("lock")
            .insert(app.to_owned(), key.clone());
        Ok(key)
    }

    fn owned(&self, name: &str) -> bool {
        name.starts_with(&self.settings.app_prefix())
    }

    fn record(&self, f: &FunctionConfig, infra: &Infrastructure) -> Value {
        deployment_record(
            "azure",
            json!({
                "resources_id": self.settings.resources_id,
                "region": self.settings.region,
                "subscription": infra.group.subscription,
                "resource_group": infra.group.name,
                "function": f.name,
                "function_app": f.name,
                "url": self.function_url(&f.name),
                "stack": deploy::stack(f).0,
                "insights-app-id": infra.insights_app_id,
                "memory": f.memory_mb,
                "timeout": f.timeout_s,
                "code-hash": f.code_hash,
                "pricing": pricing::record(),
                "deployed-at": chrono::Utc::now().timestamp_millis(),
            }),
        )
    }

    /// Create or update the app of `f`: code by zip deploy when its hash changed, settings
    /// when they differ.
    async fn deploy(&self, f: &FunctionConfig, infra: &Infrastructure) -> Result<()> {
        let group = &infra.group;
        let (stack, _) = deploy::stack(f);
        let current = match group.site(&f.name).await? {
            Some(site) => {
                let fx = site["properties"]["siteConfig"]["linuxFxVersion"].as_str();
                if fx.is_some_and(|fx| !fx.is_empty() && !fx.eq_ignore_ascii_case(&stack)) {
                    bail!(
                        "function app {} runs {} but the package is for {stack}: remove it first (`sebs resources remove --name {}`) or pick another function name",
                        f.name,
                        fx.unwrap_or_default(),
                        f.name
                    );
                }
                group.app_settings(&f.name).await?
            }
            None => {
                group.create_site(&f.name, &infra.plan, &stack).await?;
                BTreeMap::new()
            }
        };
        let desired = deploy::desired_settings(infra, f, &current);
        if current.get(CODE_HASH_SETTING) != Some(&f.code_hash) {
            let zip = package::app_zip(&f.code_dir, f.language, f.timeout_s)?;
            deploy::zip_deploy(
                &self.http,
                &self.tokens,
                &self.settings.endpoints,
                &f.name,
                zip,
            )
            .await?;
        } else {
            tracing::info!("function app {} has this code already", f.name);
        }
        if desired != current {
            group.set_app_settings(&f.name, &desired).await?;
        }
        deploy::wait_for_function(group, &f.name, package::FUNCTION).await
    }
}

#[async_trait]
impl Platform for AzureBackend {
    fn name(&self) -> &str {
        "azure"
    }

    fn resources_id(&self) -> &str {
        &self.settings.resources_id
    }

    fn package_target(&self, architecture: Architecture) -> PackageTarget {
        PackageTarget {
            layout: "azure".into(),
            architecture,
        }
    }

    /// Function app names: letters, digits and hyphens, at most 60 (SeBS turns dots and
    /// underscores into hyphens too).
    fn format_function_name(&self, name: &str) -> String {
        let mut out: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        out.truncate(60);
        out.trim_end_matches('-').to_owned()
    }

    async fn create_or_update(&self, f: &FunctionConfig) -> Result<Value> {
        if f.architecture != Architecture::X64 {
            bail!(
                "Azure Functions on the Linux consumption plan run on x64 only: set experiments.architecture to x64"
            );
        }
        if !matches!(f.language, Language::Python | Language::Nodejs) {
            bail!("Azure Functions packages from sebs are python or nodejs");
        }
        let infra = self.infra().await?;
        self.deploy(f, infra).await?;
        Ok(self.record(f, infra))
    }

    async fn trigger(&self, function: &str, kind: TriggerKind) -> Result<Arc<dyn Trigger>> {
        if kind != TriggerKind::Http {
            bail!(
                "the `{}` trigger is not available on Azure in sebs: use `http` (the function's HTTP trigger with its key); storage and queue triggers run on the local platform (docs/triggers.md)",
                kind.as_str()
            );
        }
        let key = self.function_key(function).await?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(0)
            .build()
            .context("cannot set up the HTTPS client")?;
        Ok(Arc::new(trigger::FunctionTrigger {
            url: self.function_url(function),
            key,
            http,
            timeout: Duration::from_secs(660),
        }))
    }

    async fn enforce_cold_start(&self, functions: &[String]) -> Result<()> {
        let group = self.group().await?;
        let token = chrono::Utc::now().timestamp_micros().to_string();
        for app in functions {
            let mut settings = group.app_settings(app).await?;
            settings.insert(COLD_START_SETTING.into(), token.clone());
            group.set_app_settings(app, &settings).await?;
        }
        for app in functions {
            deploy::wait_running(group, app).await?;
        }
        // The restart reaches the front ends after the settings call returns, as SeBS found.
        tokio::time::sleep(self.settings.cold_start_wait).await;
        Ok(())
    }

    async fn provider_metrics(
        &self,
        deployment: &Value,
        request_ids: &[String],
    ) -> Result<HashMap<String, ProviderMetrics>> {
        let resources = &deployment["resources"];
        let app_id = resources["insights-app-id"]
            .as_str()
            .context("the results' deployment record names no Application Insights component (insights-app-id)")?;
        let app = resources["function_app"].as_str().unwrap_or_default();
        let memory = resources["memory"].as_u64().unwrap_or(128);
        let ids: Vec<String> = request_ids
            .iter()
            .filter(|i| !i.is_empty())
            .cloned()
            .collect();
        insights::metrics(
            &self.http,
            &self.tokens,
            &self.settings.endpoints,
            app_id,
            app,
            memory,
            &ids,
        )
        .await
    }

    async fn storage(&self, object: bool, nosql: bool) -> Result<Option<ProvidedStorage>> {
        crate::storage::provided(self, object, nosql).await
    }

    fn driver_shims(&self) -> Option<Vec<(&'static str, &'static str)>> {
        Some(vec![
            ("storage.py", package::PYTHON_STORAGE),
            ("nosql.py", package::PYTHON_NOSQL),
        ])
    }

    async fn resources(&self) -> Result<Vec<Resource>> {
        crate::cleanup::list(self).await
    }

    async fn remove(&self, functions: &[String]) -> Result<()> {
        let group = self.group().await?;
        for app in functions {
            if !self.owned(app) {
                tracing::warn!("removing function app {app}, which is not named like sebs's");
            }
            group
                .delete(
                    &group.resource("Microsoft.Web/sites", app),
                    crate::resources::WEB_API,
                )
                .await?;
            self.keys.lock().expect("lock").remove(app);
        }
        Ok(())
    }

    async fn delete(&self, resource: &Resource) -> Result<()> {
        crate::cleanup::delete(self, resource).await
    }

    async fn shutdown(self: Box<Self>) {}
}
