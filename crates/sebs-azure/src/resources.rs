//! The Azure resources sebs creates, through Resource Manager: the resource group, storage
//! accounts (their keys make connection strings), the Linux consumption plan, the Application
//! Insights component, function apps with their settings and keys, and a Cosmos DB account.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use reqwest::Method;
use sebs_core::config::Secret;
use serde_json::{Value, json};

use crate::arm::Arm;

/// `Microsoft.Resources` (resource groups).
pub const RESOURCES_API: &str = "2021-04-01";
/// `Microsoft.Storage` (storage accounts).
pub const STORAGE_API: &str = "2023-05-01";
/// `Microsoft.Web` (plans, sites, settings, keys).
pub const WEB_API: &str = "2023-12-01";
/// `Microsoft.Insights` (Application Insights components).
pub const INSIGHTS_API: &str = "2020-02-02";
/// `Microsoft.DocumentDB` (Cosmos DB accounts).
pub const COSMOS_API: &str = "2024-05-15";

/// Resource Manager paths under one subscription and resource group.
#[derive(Clone)]
pub struct Group {
    /// The client.
    pub arm: Arm,
    /// Subscription id.
    pub subscription: String,
    /// Resource group name.
    pub name: String,
    /// Its region.
    pub region: String,
}

impl Group {
    /// `/subscriptions/{id}/resourceGroups/{name}`.
    pub fn path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            self.subscription, self.name
        )
    }

    /// The path of a resource of `provider` (e.g. `Microsoft.Web/sites`) named `name`.
    pub fn resource(&self, provider: &str, name: &str) -> String {
        format!("{}/providers/{provider}/{name}", self.path())
    }

    /// Create the resource group if it does not exist.
    pub async fn ensure(&self) -> Result<()> {
        let reply = self
            .arm
            .call(Method::GET, &self.path(), RESOURCES_API, None)
            .await?;
        if reply.status == 404 {
            tracing::info!("creating resource group {} in {}", self.name, self.region);
            let body = json!({"location": self.region, "tags": {"sebs": "true"}});
            self.arm
                .call(Method::PUT, &self.path(), RESOURCES_API, Some(&body))
                .await?;
        }
        Ok(())
    }

    /// A storage account (Standard_LRS, StorageV2), created if missing, and its connection
    /// string (the first key, and the account's own blob endpoint).
    pub async fn storage_account(&self, name: &str) -> Result<Secret> {
        let path = self.resource("Microsoft.Storage/storageAccounts", name);
        let mut reply = self.arm.call(Method::GET, &path, STORAGE_API, None).await?;
        if reply.status == 404 {
            tracing::info!("creating storage account {name}");
            let body = json!({
                "location": self.region,
                "kind": "StorageV2",
                "sku": {"name": "Standard_LRS"},
                "properties": {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": false},
            });
            self.arm
                .call(Method::PUT, &path, STORAGE_API, Some(&body))
                .await?;
            reply = self.arm.call(Method::GET, &path, STORAGE_API, None).await?;
        }
        let blob = reply.body["properties"]["primaryEndpoints"]["blob"]
            .as_str()
            .with_context(|| format!("storage account {name} has no blob endpoint"))?
            .to_owned();
        let keys = self
            .arm
            .call(Method::POST, &format!("{path}/listKeys"), STORAGE_API, None)
            .await?;
        let key = keys.body["keys"][0]["value"]
            .as_str()
            .with_context(|| format!("storage account {name} lists no keys"))?;
        Ok(Secret::new(connection_string(name, key, &blob)))
    }

    /// The Linux consumption plan (`Y1`, `Dynamic`), created if missing; its resource id.
    pub async fn consumption_plan(&self, name: &str) -> Result<String> {
        let path = self.resource("Microsoft.Web/serverfarms", name);
        let reply = self.arm.call(Method::GET, &path, WEB_API, None).await?;
        if reply.status != 404 {
            return Ok(path);
        }
        tracing::info!("creating consumption plan {name}");
        let body = json!({
            "location": self.region,
            "kind": "functionapp",
            "sku": {"name": "Y1", "tier": "Dynamic"},
            "properties": {"reserved": true},
        });
        self.arm
            .call(Method::PUT, &path, WEB_API, Some(&body))
            .await?;
        Ok(path)
    }

    /// The Application Insights component, created if missing: `(AppId, ConnectionString)`.
    pub async fn insights(&self, name: &str) -> Result<(String, Secret)> {
        let path = self.resource("Microsoft.Insights/components", name);
        let mut reply = self
            .arm
            .call(Method::GET, &path, INSIGHTS_API, None)
            .await?;
        if reply.status == 404 {
            tracing::info!("creating Application Insights component {name}");
            let body = json!({
                "location": self.region,
                "kind": "web",
                "properties": {"Application_Type": "web"},
            });
            reply = self
                .arm
                .call(Method::PUT, &path, INSIGHTS_API, Some(&body))
                .await?;
        }
        let props = &reply.body["properties"];
        let app_id = props["AppId"]
            .as_str()
            .with_context(|| format!("Application Insights component {name} has no AppId"))?;
        let connection = props["ConnectionString"].as_str().with_context(|| {
            format!("Application Insights component {name} has no ConnectionString")
        })?;
        Ok((app_id.to_owned(), Secret::new(connection)))
    }

    /// The function app `name`, or `None`.
    pub async fn site(&self, name: &str) -> Result<Option<Value>> {
        let path = self.resource("Microsoft.Web/sites", name);
        let reply = self.arm.call(Method::GET, &path, WEB_API, None).await?;
        Ok((reply.status != 404).then_some(reply.body))
    }

    /// Create function app `name` on `plan` running `stack` (e.g. `Python|3.11`).
    pub async fn create_site(&self, name: &str, plan: &str, stack: &str) -> Result<Value> {
        let path = self.resource("Microsoft.Web/sites", name);
        let body = json!({
            "location": self.region,
            "kind": "functionapp,linux",
            "tags": {"sebs": "true"},
            "properties": {
                "serverFarmId": plan,
                "reserved": true,
                "httpsOnly": true,
                "siteConfig": {"linuxFxVersion": stack, "minTlsVersion": "1.2"},
            },
        });
        tracing::info!("creating function app {name} ({stack})");
        let reply = self
            .arm
            .call(Method::PUT, &path, WEB_API, Some(&body))
            .await?;
        if reply.status == 404 {
            bail!("function app {name} was not found right after it was created");
        }
        Ok(reply.body)
    }

    /// The app settings of `site`.
    pub async fn app_settings(&self, site: &str) -> Result<BTreeMap<String, String>> {
        let path = format!(
            "{}/config/appsettings/list",
            self.resource("Microsoft.Web/sites", site)
        );
        let reply = self.arm.call(Method::POST, &path, WEB_API, None).await?;
        if reply.status == 404 {
            bail!("function app {site} does not exist");
        }
        Ok(reply.body["properties"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Replace the app settings of `site` (Azure restarts the app).
    pub async fn set_app_settings(
        &self,
        site: &str,
        settings: &BTreeMap<String, String>,
    ) -> Result<()> {
        let path = format!(
            "{}/config/appsettings",
            self.resource("Microsoft.Web/sites", site)
        );
        let body = json!({"properties": settings});
        self.arm
            .call(Method::PUT, &path, WEB_API, Some(&body))
            .await?;
        Ok(())
    }

    /// The default function key of `site` (`functionKeys.default` of the host keys).
    pub async fn function_key(&self, site: &str) -> Result<Secret> {
        let path = format!(
            "{}/host/default/listkeys",
            self.resource("Microsoft.Web/sites", site)
        );
        let reply = self.arm.call(Method::POST, &path, WEB_API, None).await?;
        let key = reply.body["functionKeys"]["default"]
            .as_str()
            .with_context(|| format!("function app {site} has no default function key yet"))?;
        Ok(Secret::new(key))
    }

    /// Functions the host of `site` has loaded.
    pub async fn functions(&self, site: &str) -> Result<Vec<String>> {
        let path = format!("{}/functions", self.resource("Microsoft.Web/sites", site));
        let reply = self.arm.call(Method::GET, &path, WEB_API, None).await?;
        Ok(reply.body["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["name"].as_str())
            .map(|n| n.rsplit('/').next().unwrap_or(n).to_owned())
            .collect())
    }

    /// Names of resources of `provider` in the group (following `nextLink`).
    pub async fn list(&self, provider: &str, api: &str) -> Result<Vec<String>> {
        let path = format!("{}/providers/{provider}", self.path());
        let reply = self.arm.call(Method::GET, &path, api, None).await?;
        if reply.status == 404 {
            return Ok(Vec::new());
        }
        Ok(reply.body["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str().map(str::to_owned))
            .collect())
    }

    /// Delete a resource (absent already counts as deleted).
    pub async fn delete(&self, path: &str, api: &str) -> Result<()> {
        self.arm.call(Method::DELETE, path, api, None).await?;
        Ok(())
    }

    /// A serverless Cosmos DB (NoSQL API) account, created if missing: `(endpoint, key)`.
    pub async fn cosmos_account(&self, name: &str) -> Result<(String, Secret)> {
        let path = self.resource("Microsoft.DocumentDB/databaseAccounts", name);
        let mut reply = self.arm.call(Method::GET, &path, COSMOS_API, None).await?;
        if reply.status == 404 {
            tracing::info!("creating Cosmos DB account {name} (this takes minutes)");
            let body = json!({
                "location": self.region,
                "kind": "GlobalDocumentDB",
                "properties": {
                    "databaseAccountOfferType": "Standard",
                    "locations": [{"locationName": self.region, "failoverPriority": 0}],
                    "capabilities": [{"name": "EnableServerless"}],
                },
            });
            reply = self
                .arm
                .call(Method::PUT, &path, COSMOS_API, Some(&body))
                .await?;
        }
        let endpoint = reply.body["properties"]["documentEndpoint"]
            .as_str()
            .with_context(|| format!("Cosmos DB account {name} has no documentEndpoint"))?
            .to_owned();
        let keys = self
            .arm
            .call(Method::POST, &format!("{path}/listKeys"), COSMOS_API, None)
            .await?;
        let key = keys.body["primaryMasterKey"]
            .as_str()
            .with_context(|| format!("Cosmos DB account {name} lists no primaryMasterKey"))?;
        Ok((endpoint, Secret::new(key)))
    }
}

/// A storage account's connection string, with its blob endpoint.
pub fn connection_string(account: &str, key: &str, blob_endpoint: &str) -> String {
    format!(
        "DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};BlobEndpoint={}",
        blob_endpoint.trim_end_matches('/')
    )
}
