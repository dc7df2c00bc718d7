//! Access tokens: a service principal's client-credentials grant (from the environment or
//! `deployment.azure.credentials`), or the Azure CLI's login (`az account get-access-token`).
//! Tokens stay in memory; nothing here is written anywhere.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sebs_core::config::{AzureCredentials, Secret};
use tokio::sync::Mutex;

/// How sebs authenticates to Azure.
#[derive(Clone)]
pub enum Credentials {
    /// A service principal (application id, tenant, client secret).
    ServicePrincipal {
        /// Application (client) id.
        client_id: Secret,
        /// Tenant id.
        tenant: Secret,
        /// Client secret.
        secret: Secret,
    },
    /// Whatever `az login` signed in.
    AzureCli,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::ServicePrincipal { .. } => "ServicePrincipal",
            Credentials::AzureCli => "AzureCli",
        })
    }
}

/// The first non-empty variable of `names`.
fn env(names: &[&str]) -> Option<Secret> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.is_empty())
        .map(Secret::new)
}

impl Credentials {
    /// The configured service principal, else one from the environment (`AZURE_CLIENT_ID`,
    /// `AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID`, or SeBS's `AZURE_SECRET_APPLICATION_ID`,
    /// `AZURE_SECRET_PASSWORD`, `AZURE_SECRET_TENANT`), else the Azure CLI's login.
    pub fn resolve(configured: Option<&AzureCredentials>) -> Result<Credentials> {
        let pick = |c: Option<&Secret>, names: &[&str]| {
            c.filter(|s| !s.is_empty()).cloned().or_else(|| env(names))
        };
        let client_id = pick(
            configured.and_then(|c| c.app_id.as_ref()),
            &["AZURE_CLIENT_ID", "AZURE_SECRET_APPLICATION_ID"],
        );
        let tenant = pick(
            configured.and_then(|c| c.tenant.as_ref()),
            &["AZURE_TENANT_ID", "AZURE_SECRET_TENANT"],
        );
        let secret = pick(
            configured.and_then(|c| c.password.as_ref()),
            &["AZURE_CLIENT_SECRET", "AZURE_SECRET_PASSWORD"],
        );
        match (client_id, tenant, secret) {
            (Some(client_id), Some(tenant), Some(secret)) => Ok(Credentials::ServicePrincipal {
                client_id,
                tenant,
                secret,
            }),
            (None, None, None) => Ok(Credentials::AzureCli),
            (id, tenant, secret) => {
                let missing: Vec<&str> = [
                    (id.is_none(), "the application id (AZURE_CLIENT_ID)"),
                    (tenant.is_none(), "the tenant (AZURE_TENANT_ID)"),
                    (secret.is_none(), "the client secret (AZURE_CLIENT_SECRET)"),
                ]
                .iter()
                .filter(|(m, _)| *m)
                .map(|(_, what)| *what)
                .collect();
                bail!(
                    "the Azure service principal is incomplete: {} missing; set all three (or deployment.azure.credentials appId/tenant/password), or none of them to use `az login`",
                    missing.join(", ")
                )
            }
        }
    }
}

/// Tokens per scope, renewed five minutes before they expire.
pub struct TokenSource {
    credentials: Credentials,
    login: String,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, (Secret, Instant)>>,
}

impl TokenSource {
    /// Tokens for `credentials`, from the token endpoint at `login`.
    pub fn new(credentials: Credentials, login: &str, http: reqwest::Client) -> TokenSource {
        TokenSource {
            credentials,
            login: login.to_owned(),
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A bearer token for `scope` (e.g. `https://management.azure.com/.default`).
    pub async fn token(&self, scope: &str) -> Result<Secret> {
        let mut cache = self.cache.lock().await;
        if let Some((token, until)) = cache.get(scope)
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = match &self.credentials {
            Credentials::ServicePrincipal {
                client_id,
                tenant,
                secret,
            } => {
                self.client_credentials(client_id, tenant, secret, scope)
                    .await?
            }
            Credentials::AzureCli => cli_token(scope).await?,
        };
        let until = Instant::now() + lifetime.saturating_sub(Duration::from_secs(300));
        cache.insert(scope.to_owned(), (token.clone(), until));
        Ok(token)
    }

    async fn client_credentials(
        &self,
        client_id: &Secret,
        tenant: &Secret,
        secret: &Secret,
        scope: &str,
    ) -> Result<(Secret, Duration)> {
        let url = format!("{}/{}/oauth2/v2.0/token", self.login, tenant.expose());
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id.expose()),
            ("client_secret", secret.expose()),
            ("scope", scope),
        ];
        let reply = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .context("cannot reach Microsoft Entra ID for a token")?;
        let status = reply.status();
        let body: serde_json::Value = reply.json().await.unwrap_or_default();
        if !status.is_success() {
            bail!(
                "Microsoft Entra ID refused the service principal (HTTP {status}): {} (check AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET)",
                body["error_description"]
                    .as_str()
                    .or(body["error"].as_str())
                    .unwrap_or("no reason given")
            );
        }
        let token = body["access_token"]
            .as_str()
            .context("Microsoft Entra ID answered without an access_token")?;
        let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
        Ok((Secret::new(token), Duration::from_secs(lifetime)))
    }
}

/// A token from the Azure CLI's login.
async fn cli_token(scope: &str) -> Result<(Secret, Duration)> {
    let resource = scope.trim_end_matches("/.default");
    let output = tokio::process::Command::new("az")
        .args(["account", "get-access-token", "--output", "json", "--resource"])
        .arg(resource)
        .output()
        .await
        .context("no Azure service principal is configured and the Azure CLI (`az`) cannot be run: set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, or install the CLI and run `az login`")?;
    if !output.status.success() {
        bail!(
            "`az account get-access-token` failed: {} (run `az login`, or set a service principal in AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let body: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("`az account get-access-token` did not print JSON")?;
    let token = body["accessToken"]
        .as_str()
        .context("`az account get-access-token` printed no accessToken")?;
    let lifetime = body["expires_on"]
        .as_i64()
        .map(|t| (t - chrono::Utc::now().timestamp()).max(60) as u64)
        .unwrap_or(600);
    Ok((Secret::new(token), Duration::from_secs(lifetime)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_principal_and_incomplete_one() {
        let c: AzureCredentials = serde_json::from_value(serde_json::json!({
            "appID": "app", "tenant": "t", "password": "p", "subscription_id": "s"
        }))
        .unwrap();
        assert!(matches!(
            Credentials::resolve(Some(&c)).unwrap(),
            Credentials::ServicePrincipal { .. }
        ));
        let partial: AzureCredentials =
            serde_json::from_value(serde_json::json!({"appId": "app"})).unwrap();
        // The environment of the test run may hold the other two; only check the wording when
        // it does not.
        if std::env::var("AZURE_TENANT_ID").is_err()
            && std::env::var("AZURE_SECRET_TENANT").is_err()
        {
            let e = Credentials::resolve(Some(&partial))
                .unwrap_err()
                .to_string();
            assert!(e.contains("the tenant (AZURE_TENANT_ID)"), "{e}");
        }
    }
}
