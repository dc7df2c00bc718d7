//! Cloud Storage through its JSON API: the deployment bucket (Cloud Run sources) and the
//! buckets `sebs resources` lists and removes.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hyper::Method;
use sebs_cluster::rest::encode;
use serde_json::json;

use crate::api::{Api, client_for, describe};

/// Buckets and objects of one project.
pub struct Gcs<'a> {
    api: &'a Api,
    project: &'a str,
}

impl<'a> Gcs<'a> {
    /// Cloud Storage of `project`.
    pub fn new(api: &'a Api, project: &'a str) -> Gcs<'a> {
        Gcs { api, project }
    }

    fn base(&self) -> &str {
        &self.api.endpoints.storage
    }

    /// Create `bucket` in `region` unless it exists.
    pub async fn ensure_bucket(&self, bucket: &str, region: &str) -> Result<()> {
        let url = format!("{}/storage/v1/b/{}", self.base(), encode(bucket));
        if self.api.request(Method::GET, &url, None).await?.status == 200 {
            return Ok(());
        }
        let url = format!(
            "{}/storage/v1/b?project={}",
            self.base(),
            encode(self.project)
        );
        let body = json!({ "name": bucket, "location": region });
        let answer = self.api.request(Method::POST, &url, Some(&body)).await?;
        match answer.status {
            200 | 409 => Ok(()),
            _ => bail!("cannot create bucket {bucket}: {}", describe(&answer)),
        }
    }

    /// Upload `bytes` as `object` (a media upload).
    pub async fn upload(
        &self,
        bucket: &str,
        object: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<()> {
        let url = format!(
            "{}/upload/storage/v1/b/{}/o?uploadType=media&name={}",
            self.base(),
            encode(bucket),
            encode(object)
        );
        let token = self.api.credentials().token().await?;
        let (client, path) = client_for(&url)?;
        let bearer = format!("Bearer {token}");
        let reply = client
            .send(
                Method::POST,
                &path,
                Some(content_type),
                &[("authorization", bearer.as_str())],
                Bytes::from(bytes),
            )
            .await?;
        if !reply.ok() {
            bail!(
                "cannot upload gs://{bucket}/{object}: HTTP {}: {}",
                reply.status,
                reply.text()
            );
        }
        Ok(())
    }

    /// The project's buckets whose names start with `prefix`.
    pub async fn buckets(&self, prefix: &str) -> Result<Vec<String>> {
        let url = format!(
            "{}/storage/v1/b?project={}&prefix={}",
            self.base(),
            encode(self.project),
            encode(prefix)
        );
        let page = self.api.call(Method::GET, &url, None).await?;
        Ok(page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["name"].as_str().map(str::to_owned))
            .filter(|n| n.starts_with(prefix))
            .collect())
    }

    /// Object names in `bucket`.
    pub async fn objects(&self, bucket: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut token = String::new();
        loop {
            let mut url = format!("{}/storage/v1/b/{}/o", self.base(), encode(bucket));
            if !token.is_empty() {
                url.push_str(&format!("?pageToken={}", encode(&token)));
            }
            let page = self.api.call(Method::GET, &url, None).await?;
            for item in page["items"].as_array().into_iter().flatten() {
                if let Some(n) = item["name"].as_str() {
                    names.push(n.to_owned());
                }
            }
            match page["nextPageToken"].as_str().filter(|t| !t.is_empty()) {
                Some(t) => token = t.to_owned(),
                None => return Ok(names),
            }
        }
    }

    /// Delete `bucket` and everything in it (a missing bucket is no error).
    pub async fn delete_bucket(&self, bucket: &str) -> Result<()> {
        let objects = match self.objects(bucket).await {
            Ok(o) => o,
            Err(e) if format!("{e:#}").contains("HTTP 404") => return Ok(()),
            Err(e) => return Err(e),
        };
        for object in objects {
            let url = format!(
                "{}/storage/v1/b/{}/o/{}",
                self.base(),
                encode(bucket),
                encode(&object)
            );
            let answer = self.api.request(Method::DELETE, &url, None).await?;
            if !matches!(answer.status, 200..=299 | 404) {
                bail!(
                    "cannot delete gs://{bucket}/{object}: {}",
                    describe(&answer)
                );
            }
        }
        let url = format!("{}/storage/v1/b/{}", self.base(), encode(bucket));
        let answer = self.api.request(Method::DELETE, &url, None).await?;
        if !matches!(answer.status, 200..=299 | 404) {
            bail!("cannot delete bucket {bucket}: {}", describe(&answer));
        }
        Ok(())
    }
}

/// What the input driver and the functions need for a benchmark's Cloud Storage bucket
/// (created here) and Datastore: the project, the emulators' hosts where sebs itself uses them
/// (`STORAGE_EMULATOR_HOST`, `DATASTORE_EMULATOR_HOST`), and for the driver, which runs on this
/// machine, an access token from sebs's credentials (`SEBS_GCP_ACCESS_TOKEN`; never logged or
/// written). Functions use their service account instead. NoSQL uses the project's default
/// database in Datastore mode; kinds stand for SeBS's tables.
pub async fn provided(
    api: &Api,
    settings: &crate::settings::Settings,
    object: bool,
    nosql: bool,
) -> Result<sebs_platforms::platform::ProvidedStorage> {
    let mut shared = std::collections::BTreeMap::new();
    shared.insert("GOOGLE_CLOUD_PROJECT".to_owned(), settings.project.clone());
    let emulator = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut emulated = true;
    if object {
        Gcs::new(api, &settings.project)
            .ensure_bucket(&settings.deployment_bucket(), &settings.region)
            .await?;
        match emulator("STORAGE_EMULATOR_HOST") {
            Some(host) => drop(shared.insert("STORAGE_EMULATOR_HOST".to_owned(), host)),
            None => emulated = false,
        }
    }
    if nosql {
        match emulator("DATASTORE_EMULATOR_HOST") {
            Some(host) => drop(shared.insert("DATASTORE_EMULATOR_HOST".to_owned(), host)),
            None => emulated = false,
        }
    }
    let mut driver_env = shared.clone();
    // The input driver's markers: the platform's own storage, through the shims it is given.
    if object {
        driver_env.insert("SEBS_OBJECT_STORAGE".to_owned(), "gcs".to_owned());
    }
    if nosql {
        driver_env.insert("SEBS_NOSQL_STORAGE".to_owned(), "datastore".to_owned());
    }
    if !emulated {
        let token = settings
            .credentials
            .token()
            .await
            .context("cannot get an access token for uploading the benchmark's input")?;
        driver_env.insert("SEBS_GCP_ACCESS_TOKEN".to_owned(), token);
    }
    Ok(sebs_platforms::platform::ProvidedStorage {
        driver_env,
        function_env: shared,
    })
}
