//! `sebs resources list/remove/cleanup` on Azure: what sebs created under its resource id,
//! found on Azure itself, and deleted by kind. Function apps come first, the resource group
//! (only sebs's own, `sebs_resource_group_<id>`) last.

use anyhow::{Result, bail};
use sebs_platforms::Resource;

use crate::backend::AzureBackend;
use crate::resources::{COSMOS_API, INSIGHTS_API, RESOURCES_API, STORAGE_API, WEB_API};

/// Kinds of resources and where they live: `(kind, provider, api-version)`.
const KINDS: &[(&str, &str, &str)] = &[
    ("function", "Microsoft.Web/sites", WEB_API),
    (
        "insights-component",
        "Microsoft.Insights/components",
        INSIGHTS_API,
    ),
    ("app-service-plan", "Microsoft.Web/serverfarms", WEB_API),
    (
        "storage-account",
        "Microsoft.Storage/storageAccounts",
        STORAGE_API,
    ),
    (
        "cosmosdb-account",
        "Microsoft.DocumentDB/databaseAccounts",
        COSMOS_API,
    ),
];

/// Everything sebs created under this resource id.
pub async fn list(backend: &AzureBackend) -> Result<Vec<Resource>> {
    let settings = &backend.settings;
    let group = backend.group().await?;
    let exists = group
        .arm
        .call(reqwest::Method::GET, &group.path(), RESOURCES_API, None)
        .await?
        .status
        != 404;
    if !exists {
        return Ok(Vec::new());
    }
    let ours = |kind: &str, name: &str| match kind {
        "storage-account" => {
            name == settings.functions_storage_account() || name == settings.data_storage_account()
        }
        _ => name.starts_with(&settings.app_prefix()),
    };
    let mut out = Vec::new();
    for (kind, provider, api) in KINDS {
        for name in group.list(provider, api).await? {
            if ours(kind, &name) {
                out.push(Resource {
                    kind: (*kind).to_owned(),
                    name,
                });
            }
        }
    }
    if group.name == format!("sebs_resource_group_{}", settings.resources_id) {
        out.push(Resource {
            kind: "resource-group".into(),
            name: group.name.clone(),
        });
    }
    Ok(out)
}

/// Delete one listed resource.
pub async fn delete(backend: &AzureBackend, resource: &Resource) -> Result<()> {
    let group = backend.group().await?;
    if resource.kind == "resource-group" {
        if resource.name != group.name {
            bail!("resource group {} is not this deployment's", resource.name);
        }
        return group.delete(&group.path(), RESOURCES_API).await;
    }
    let Some((_, provider, api)) = KINDS.iter().find(|(k, _, _)| *k == resource.kind) else {
        bail!(
            "the azure platform cannot delete a {} ({})",
            resource.kind,
            resource.name
        );
    };
    group
        .delete(&group.resource(provider, &resource.name), api)
        .await
}
