//! Deploying a function: the shared infrastructure (resource group, storage account, plan,
//! Application Insights), the function app, its settings, and its code by zip deploy to Kudu.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use reqwest::Method;
use sebs_core::config::{Language, Secret};
use sebs_platforms::FunctionConfig;

use crate::auth::TokenSource;
use crate::resources::Group;
use crate::settings::{AzureSettings, Endpoints};

/// The app setting that records the deployed package's hash.
pub const CODE_HASH_SETTING: &str = "SEBS_CODE_HASH";
/// The app setting changed to force cold starts (SeBS's name on Azure).
pub const COLD_START_SETTING: &str = "ForceColdStart";

/// What every function app shares, created once per session.
#[derive(Clone)]
pub struct Infrastructure {
    /// The resource group.
    pub group: Group,
    /// `AzureWebJobsStorage` of the apps.
    pub jobs_storage: Secret,
    /// The consumption plan's resource id.
    pub plan: String,
    /// The Application Insights component's AppId (the query API's key).
    pub insights_app_id: String,
    /// Its connection string (`APPLICATIONINSIGHTS_CONNECTION_STRING` of the apps).
    pub insights_connection: Secret,
}

impl Infrastructure {
    /// Create (or find) the shared resources.
    pub async fn ensure(group: Group, settings: &AzureSettings) -> Result<Infrastructure> {
        group.ensure().await?;
        let jobs_storage = group
            .storage_account(&settings.functions_storage_account())
            .await?;
        let plan = group.consumption_plan(&settings.plan()).await?;
        let (insights_app_id, insights_connection) =
            group.insights(&settings.insights_component()).await?;
        Ok(Infrastructure {
            group,
            jobs_storage,
            plan,
            insights_app_id,
            insights_connection,
        })
    }
}

/// The Linux stack (`linuxFxVersion`) and worker runtime of a function.
pub fn stack(f: &FunctionConfig) -> (String, &'static str) {
    match f.language {
        Language::Python => (format!("Python|{}", f.language_version), "python"),
        Language::Nodejs => (format!("Node|{}", f.language_version), "node"),
    }
}

/// The app settings `f` should run with (the code hash included), keeping a forced cold
/// start's marker from `current`.
pub fn desired_settings(
    infra: &Infrastructure,
    f: &FunctionConfig,
    current: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let (_, runtime) = stack(f);
    let mut s: BTreeMap<String, String> = f.env.clone();
    let mut set = |k: &str, v: &str| {
        s.insert(k.to_owned(), v.to_owned());
    };
    set("FUNCTIONS_WORKER_RUNTIME", runtime);
    set("FUNCTIONS_EXTENSION_VERSION", "~4");
    set("AzureWebJobsStorage", infra.jobs_storage.expose());
    set(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        infra.insights_connection.expose(),
    );
    // The package carries its dependencies: no build on the platform.
    set("SCM_DO_BUILD_DURING_DEPLOYMENT", "false");
    set("ENABLE_ORYX_BUILD", "false");
    set(CODE_HASH_SETTING, &f.code_hash);
    if let Some(old) = current.get(COLD_START_SETTING) {
        set(COLD_START_SETTING, old);
    }
    s
}

/// Kudu's zip deploy: upload the app zip, then follow the deployment to its end.
pub async fn zip_deploy(
    http: &reqwest::Client,
    tokens: &TokenSource,
    endpoints: &Endpoints,
    app: &str,
    zip: Vec<u8>,
) -> Result<()> {
    let scm = Endpoints::app_url(&endpoints.scm, app);
    let token = tokens.token(endpoints.management_scope()).await?;
    let size = zip.len();
    tracing::info!("zip deploy of {app} ({size} bytes)");
    let reply = http
        .request(Method::POST, format!("{scm}/api/zipdeploy?isAsync=true"))
        .bearer_auth(token.expose())
        .header("content-type", "application/zip")
        .body(zip)
        .timeout(Duration::from_secs(600))
        .send()
        .await
        .with_context(|| format!("cannot reach the deployment endpoint (Kudu) of {app}"))?;
    let status = reply.status().as_u16();
    let location = reply
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if status == 200 {
        return Ok(());
    }
    if status != 202 {
        let text = reply.text().await.unwrap_or_default();
        bail!(
            "zip deploy of {app} failed: Kudu answered HTTP {status}: {}",
            text.chars().take(300).collect::<String>()
        );
    }
    let location = location.unwrap_or_else(|| format!("{scm}/api/deployments/latest"));
    follow_deployment(http, tokens, endpoints, app, &location).await
}

/// Poll a Kudu deployment until it is complete (status 4: success, 3: failed).
async fn follow_deployment(
    http: &reqwest::Client,
    tokens: &TokenSource,
    endpoints: &Endpoints,
    app: &str,
    location: &str,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(900);
    loop {
        let token = tokens.token(endpoints.management_scope()).await?;
        let reply = http
            .get(location)
            .bearer_auth(token.expose())
            .send()
            .await
            .with_context(|| format!("cannot read the deployment status of {app}"))?;
        let code = reply.status().as_u16();
        let body: serde_json::Value = reply.json().await.unwrap_or_default();
        if code == 200 || code == 202 {
            match body["status"].as_i64() {
                Some(4) if body["complete"] != false => return Ok(()),
                Some(3) => bail!(
                    "zip deploy of {app} failed: {} (see {location}/log)",
                    body["status_text"].as_str().unwrap_or("no reason given")
                ),
                _ => {}
            }
        } else {
            bail!("Kudu answered HTTP {code} to the deployment status of {app}: {body}");
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the zip deploy of {app} has not finished after 15 minutes");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Wait until the host of `app` has loaded `function` (after a deployment or a restart).
pub async fn wait_for_function(group: &Group, app: &str, function: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let functions = group.functions(app).await?;
        if functions.iter().any(|f| f == function) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "function app {app} has not loaded function {function} 5 minutes after the deployment (it lists {functions:?}); check the app's log stream in the Azure portal"
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Wait until the app reports `Running` (after a settings change restarted it).
pub async fn wait_running(group: &Group, app: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let site = group
            .site(app)
            .await?
            .with_context(|| format!("function app {app} does not exist"))?;
        if site["properties"]["state"] == "Running" {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("function app {app} is not running 5 minutes after a restart");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
