//! The Artifact Registry repository Cloud Run's source builds push images to: SeBS's
//! `sebs-benchmarks-<id>` (its `container_repository`), created on first use, listed and
//! deleted with the other resources.

use anyhow::{Result, bail};
use hyper::Method;
use serde_json::json;

use crate::api::{Api, describe};
use crate::settings::Settings;

/// The repository of one deployment.
pub struct Registry<'a> {
    api: &'a Api,
    settings: &'a Settings,
}

impl<'a> Registry<'a> {
    /// The repository of `settings`' resource id.
    pub fn new(api: &'a Api, settings: &'a Settings) -> Registry<'a> {
        Registry { api, settings }
    }

    /// `sebs-benchmarks-<id>`.
    pub fn repository(&self) -> String {
        self.settings.deployment_bucket()
    }

    fn base(&self) -> String {
        format!("{}/v1", self.api.endpoints.artifacts)
    }

    fn resource(&self, repository: &str) -> String {
        format!("{}/repositories/{repository}", self.settings.parent())
    }

    /// The image URI of `function` (`<region>-docker.pkg.dev/<project>/<repository>/<name>`).
    pub fn image(&self, function: &str, tag: &str) -> String {
        format!(
            "{}-docker.pkg.dev/{}/{}/{function}:{tag}",
            self.settings.region,
            self.settings.project,
            self.repository()
        )
    }

    /// Create the Docker repository unless it exists.
    pub async fn ensure(&self) -> Result<()> {
        let url = format!("{}/{}", self.base(), self.resource(&self.repository()));
        if self.api.request(Method::GET, &url, None).await?.status == 200 {
            return Ok(());
        }
        let url = format!(
            "{}/{}/repositories?repositoryId={}",
            self.base(),
            self.settings.parent(),
            self.repository()
        );
        let body = json!({
            "format": "DOCKER",
            "description": "Images built by Cloud Run from sebs's benchmark sources",
            "labels": { crate::deploy::ID_LABEL: self.settings.resources_id },
        });
        let answer = self.api.request(Method::POST, &url, Some(&body)).await?;
        match answer.status {
            200 => self.api.wait(&self.base(), answer.body).await.map(|_| ()),
            409 => Ok(()),
            _ => bail!(
                "cannot create the Artifact Registry repository {}: {}",
                self.repository(),
                describe(&answer)
            ),
        }
    }

    /// The deployment's repository, if it exists.
    pub async fn list(&self) -> Result<Vec<String>> {
        let url = format!("{}/{}", self.base(), self.resource(&self.repository()));
        let answer = self.api.request(Method::GET, &url, None).await?;
        match answer.status {
            200 => Ok(vec![self.repository()]),
            404 => Ok(vec![]),
            _ => bail!("GET {url}: {}", describe(&answer)),
        }
    }

    /// Delete `repository` with its images (a missing one is no error).
    pub async fn delete(&self, repository: &str) -> Result<()> {
        let url = format!("{}/{}", self.base(), self.resource(repository));
        let answer = self.api.request(Method::DELETE, &url, None).await?;
        match answer.status {
            404 => Ok(()),
            200..=299 => self.api.wait(&self.base(), answer.body).await.map(|_| ()),
            _ => bail!("DELETE {url}: {}", describe(&answer)),
        }
    }
}
