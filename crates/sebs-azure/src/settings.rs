//! `deployment.azure` resolved: region, subscription, resource group, resource id, credentials,
//! the names of what sebs creates, and the endpoints it talks to.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sebs_core::config::AzureConfig;

use crate::auth::Credentials;

/// Where sebs talks to Azure: the public cloud's endpoints, each replaceable through an
/// environment variable (a sovereign cloud, or the contract fake of the tests).
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Resource Manager (`SEBS_AZURE_MANAGEMENT_URL`).
    pub management: String,
    /// Microsoft Entra ID's token endpoint host (`SEBS_AZURE_LOGIN_URL`).
    pub login: String,
    /// A function app's URL; `{app}` is replaced (`SEBS_AZURE_FUNCTIONS_URL`).
    pub functions: String,
    /// A function app's Kudu (deployment) URL; `{app}` is replaced (`SEBS_AZURE_SCM_URL`).
    pub scm: String,
    /// The Application Insights query API (`SEBS_AZURE_INSIGHTS_URL`).
    pub insights: String,
}

impl Endpoints {
    /// Azure's public cloud, with the environment's replacements.
    pub fn from_env() -> Endpoints {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
                .trim_end_matches('/')
                .to_owned()
        };
        Endpoints {
            management: var("SEBS_AZURE_MANAGEMENT_URL", "https://management.azure.com"),
            login: var("SEBS_AZURE_LOGIN_URL", "https://login.microsoftonline.com"),
            functions: var(
                "SEBS_AZURE_FUNCTIONS_URL",
                "https://{app}.azurewebsites.net",
            ),
            scm: var("SEBS_AZURE_SCM_URL", "https://{app}.scm.azurewebsites.net"),
            insights: var(
                "SEBS_AZURE_INSIGHTS_URL",
                "https://api.applicationinsights.io",
            ),
        }
    }

    /// The token audience of Resource Manager (and Kudu, which accepts its tokens).
    pub fn management_scope(&self) -> &'static str {
        "https://management.azure.com/.default"
    }

    /// The token audience of the Application Insights query API.
    pub fn insights_scope(&self) -> &'static str {
        "https://api.applicationinsights.io/.default"
    }

    /// `template` for function app `app`.
    pub fn app_url(template: &str, app: &str) -> String {
        template.replace("{app}", app)
    }
}

/// The resolved Azure settings.
#[derive(Debug, Clone)]
pub struct AzureSettings {
    /// Region (location), e.g. `westeurope`.
    pub region: String,
    /// Subscription id, if known before the first request (else asked of Resource Manager).
    pub subscription: Option<String>,
    /// SeBS's resource id.
    pub resources_id: String,
    /// The resource group of everything sebs creates.
    pub resource_group: String,
    /// Storage accounts SeBS recorded in `resources` (`storage_accounts[0]` for the apps,
    /// `data_storage_account` for benchmark data): used instead of sebs's own names.
    pub known_accounts: (Option<String>, Option<String>),
    /// How sebs authenticates.
    pub credentials: Credentials,
    /// Where it talks to.
    pub endpoints: Endpoints,
    /// Where sebs keeps its Azure state (`<cache>/azure`).
    pub state_dir: PathBuf,
    /// How long a forced cold start waits after the apps restarted, for the change to reach
    /// every front end (SeBS waits 20 s; `SEBS_AZURE_COLD_START_WAIT_S`).
    pub cold_start_wait: std::time::Duration,
}

impl AzureSettings {
    /// Resolve `deployment.azure` (and the environment) with state under `cache_dir/azure`.
    pub fn resolve(config: Option<&AzureConfig>, cache_dir: &Path) -> Result<AzureSettings> {
        let default = AzureConfig::default();
        let config = config.unwrap_or(&default);
        let state_dir = cache_dir.join("azure");
        let configured = config
            .resources
            .as_ref()
            .and_then(|r| r.resources_id.clone());
        let resources_id = resources_id(configured, &state_dir)?;
        let resource_group = config
            .resources
            .as_ref()
            .and_then(|r| r.resource_group.clone())
            .filter(|g| !g.is_empty())
            .unwrap_or_else(|| format!("sebs_resource_group_{resources_id}"));
        let region = config
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| std::env::var("AZURE_LOCATION").ok())
            .unwrap_or_else(|| "westeurope".to_owned());
        if !region.chars().all(|c| c.is_ascii_alphanumeric()) {
            bail!(
                "deployment.azure.region {region:?} is not an Azure location name: use the short form, e.g. `westeurope` (`az account list-locations -o table`)"
            );
        }
        let credentials = Credentials::resolve(config.credentials.as_ref())?;
        let subscription = config
            .credentials
            .as_ref()
            .and_then(|c| c.subscription_id.clone())
            .filter(|s| !s.is_empty())
            .or_else(|| std::env::var("AZURE_SUBSCRIPTION_ID").ok())
            .filter(|s| !s.is_empty());
        let resources = config.resources.as_ref();
        let known_accounts = (
            resources
                .and_then(|r| r.storage_accounts.first())
                .map(|a| a.account_name.clone())
                .filter(|n| !n.is_empty()),
            resources
                .and_then(|r| r.data_storage_account.as_ref())
                .map(|a| a.account_name.clone())
                .filter(|n| !n.is_empty()),
        );
        Ok(AzureSettings {
            region,
            known_accounts,
            subscription,
            resources_id,
            resource_group,
            credentials,
            endpoints: Endpoints::from_env(),
            state_dir,
            cold_start_wait: cold_start_wait()?,
        })
    }

    /// A resource name of at most `max` lower-case letters and digits: `sebs`, the resource
    /// id without hyphens, then `suffix` (storage accounts allow nothing else).
    pub fn compact_name(&self, suffix: &str, max: usize) -> String {
        let mut name: String = format!("sebs{}{suffix}", self.resources_id)
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            .collect();
        name.truncate(max);
        name
    }

    /// The storage account behind the function apps (`AzureWebJobsStorage`).
    pub fn functions_storage_account(&self) -> String {
        (self.known_accounts.0.clone()).unwrap_or_else(|| self.compact_name("functions", 24))
    }

    /// The storage account of benchmark data (SeBS's `data_storage_account`).
    pub fn data_storage_account(&self) -> String {
        (self.known_accounts.1.clone()).unwrap_or_else(|| self.compact_name("data", 24))
    }

    /// The Linux consumption plan the function apps run on.
    pub fn plan(&self) -> String {
        format!("sebs-{}-plan", self.resources_id)
    }

    /// The Application Insights component the function apps report to.
    pub fn insights_component(&self) -> String {
        format!("sebs-{}-insights", self.resources_id)
    }

    /// The Cosmos DB account of NoSQL benchmarks.
    pub fn cosmos_account(&self) -> String {
        format!("sebs-{}-cosmos", self.resources_id)
    }

    /// The prefix of every function app sebs creates under this resource id.
    pub fn app_prefix(&self) -> String {
        format!("sebs-{}-", self.resources_id)
    }
}

/// `SEBS_AZURE_COLD_START_WAIT_S`, else SeBS's 20 seconds.
fn cold_start_wait() -> Result<std::time::Duration> {
    match std::env::var("SEBS_AZURE_COLD_START_WAIT_S") {
        Ok(v) if !v.is_empty() => v
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(std::time::Duration::from_secs_f64)
            .with_context(|| {
                format!("SEBS_AZURE_COLD_START_WAIT_S={v:?} is not a number of seconds")
            }),
        _ => Ok(std::time::Duration::from_secs(20)),
    }
}

/// The resource id: configured, else kept in `state_dir/resources.json`, else a new one
/// (eight hex digits, as SeBS makes them).
fn resources_id(configured: Option<String>, state_dir: &Path) -> Result<String> {
    if let Some(id) = configured.filter(|id| !id.is_empty()) {
        return checked(id);
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
            return checked(id.to_owned());
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

/// Function app, plan and storage account names are built from the id: 1-12 lower-case
/// letters or digits keep every one of them within Azure's limits.
fn checked(id: String) -> Result<String> {
    if id.is_empty()
        || id.len() > 12
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        bail!(
            "deployment.azure.resources.resources_id {id:?} is invalid: it names storage accounts (lower-case letters and digits only, 24 at most), so use 1-12 lower-case letters or digits"
        );
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_azure_limits() {
        let dir = tempfile::tempdir().unwrap();
        let config: AzureConfig = serde_json::from_value(serde_json::json!({
            "region": "westeurope",
            "resources": {"resources_id": "ab12cd34ef56"}
        }))
        .unwrap();
        let s = AzureSettings::resolve(Some(&config), dir.path()).unwrap();
        assert_eq!(s.resource_group, "sebs_resource_group_ab12cd34ef56");
        assert_eq!(s.functions_storage_account(), "sebsab12cd34ef56function");
        assert_eq!(s.functions_storage_account().len(), 24);
        assert_eq!(s.data_storage_account(), "sebsab12cd34ef56data");
        let bad: AzureConfig =
            serde_json::from_value(serde_json::json!({"resources": {"resources_id": "A-b"}}))
                .unwrap();
        let e = AzureSettings::resolve(Some(&bad), dir.path()).unwrap_err();
        assert!(e.to_string().contains("1-12 lower-case"), "{e}");
    }

    #[test]
    fn sebs_recorded_accounts_are_used() {
        let dir = tempfile::tempdir().unwrap();
        // `deployment.azure` as SeBS writes it into its cache.
        let config: AzureConfig = serde_json::from_value(serde_json::json!({
            "region": "westeurope",
            "resources": {
                "resources_id": "1a2b3c4d",
                "resource_group": "sebs_resource_group_1a2b3c4d",
                "storage_accounts": [{"account_name": "sebsstorage1a2b", "connection_string": "x"}],
                "data_storage_account": {"account_name": "sebsdata1a2b", "connection_string": "y"}
            }
        }))
        .unwrap();
        let s = AzureSettings::resolve(Some(&config), dir.path()).unwrap();
        assert_eq!(s.functions_storage_account(), "sebsstorage1a2b");
        assert_eq!(s.data_storage_account(), "sebsdata1a2b");
        assert_eq!(s.resource_group, "sebs_resource_group_1a2b3c4d");
        assert!(!format!("{s:?}").contains("connection_string"));
    }

    #[test]
    fn a_new_resource_id_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = AzureSettings::resolve(None, dir.path()).unwrap();
        assert_eq!(first.resources_id.len(), 8);
        let again = AzureSettings::resolve(None, dir.path()).unwrap();
        assert_eq!(again.resources_id, first.resources_id);
    }
}
