//! Storage of benchmarks on Azure, as SeBS uses it: Blob storage in a data storage account
//! (buckets are containers) and a serverless Cosmos DB (NoSQL API) account. The functions and
//! the input driver reach them through runtimes/azure's shims, configured by the variables
//! below (credentials: never logged or recorded; on the functions they are app settings).

use std::collections::BTreeMap;

use anyhow::Result;
use sebs_platforms::platform::ProvidedStorage;

use crate::backend::AzureBackend;

/// The Cosmos DB database of benchmark tables (SeBS's name).
pub const DATABASE: &str = "benchmarks";

/// The storage a benchmark needs, created on first use.
pub async fn provided(
    backend: &AzureBackend,
    object: bool,
    nosql: bool,
) -> Result<Option<ProvidedStorage>> {
    if !object && !nosql {
        return Ok(None);
    }
    let infra = backend.infra().await?;
    let mut env = BTreeMap::new();
    if object {
        let account = backend.settings.data_storage_account();
        let connection = infra.group.storage_account(&account).await?;
        env.insert(
            "STORAGE_CONNECTION_STRING".to_owned(),
            connection.expose().to_owned(),
        );
        env.insert("SEBS_OBJECT_STORAGE".to_owned(), "azure-blob".to_owned());
    }
    if nosql {
        let account = backend.settings.cosmos_account();
        let (endpoint, key) = infra.group.cosmos_account(&account).await?;
        env.insert("NOSQL_STORAGE_ENDPOINT".to_owned(), endpoint);
        env.insert("NOSQL_STORAGE_KEY".to_owned(), key.expose().to_owned());
        env.insert("NOSQL_STORAGE_DATABASE".to_owned(), DATABASE.to_owned());
        env.insert("SEBS_NOSQL_STORAGE".to_owned(), "cosmosdb".to_owned());
    }
    Ok(Some(ProvidedStorage {
        driver_env: env.clone(),
        function_env: env,
    }))
}
