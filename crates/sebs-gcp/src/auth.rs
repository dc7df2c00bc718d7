//! OAuth 2.0 access tokens for Google's APIs, without a Google SDK.
//!
//! Where the credentials come from, in SeBS's order: `deployment.gcp.credentials`
//! (`credentials-json`), `GOOGLE_APPLICATION_CREDENTIALS`, SeBS's
//! `GCP_SECRET_APPLICATION_CREDENTIALS`, then the application-default credentials of
//! `gcloud auth application-default login`, then the metadata server of a Google Cloud machine.
//!
//! A service-account key signs a JWT (RS256, through rustls's aws-lc-rs signer) that the key's
//! `token_uri` exchanges for a token; a user's application-default credentials exchange their
//! refresh token. Tokens are kept in memory until a minute before they expire; the key file is
//! read where it lies and nothing of it is written anywhere.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hyper::Method;
use rustls::SignatureScheme;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use sebs_cluster::rest::encode;
use serde::Deserialize;
use tokio::sync::Mutex;

/// The scope sebs asks for: every API it calls (Functions, Run, Storage, Datastore, Logging).
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const METADATA_TOKEN: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

/// A credentials file: a service-account key or a user's application-default credentials.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KeyFile {
    ServiceAccount {
        client_email: String,
        private_key: String,
        #[serde(default)]
        token_uri: Option<String>,
        #[serde(default)]
        project_id: Option<String>,
    },
    AuthorizedUser {
        client_id: String,
        client_secret: String,
        refresh_token: String,
        #[serde(default)]
        quota_project_id: Option<String>,
    },
}

/// Where tokens come from.
enum Source {
    ServiceAccount {
        email: String,
        key: std::sync::Arc<dyn rustls::sign::SigningKey>,
        token_uri: String,
    },
    User {
        client_id: String,
        client_secret: String,
        refresh_token: String,
    },
    Metadata {
        host: String,
    },
}

/// A token source with its cached token. `Debug` names the kind of source only.
pub struct Credentials {
    source: Source,
    project_id: Option<String>,
    /// Where the credentials were found (a path or `metadata server`), for messages.
    origin: String,
    cached: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({})", self.origin)
    }
}

impl Credentials {
    /// Find credentials: `configured` (the config's file), then the environment, then the
    /// application-default file, then the metadata server (if `GCE_METADATA_HOST` is set or
    /// none of the others exists).
    pub fn find(configured: Option<&Path>) -> Result<Credentials> {
        let from_env = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let candidates = [
            configured.map(Path::to_path_buf),
            from_env("GOOGLE_APPLICATION_CREDENTIALS"),
            from_env("GCP_SECRET_APPLICATION_CREDENTIALS"),
        ];
        if let Some(path) = candidates.into_iter().flatten().next() {
            return Credentials::from_file(&path);
        }
        let adc = std::env::var_os("CLOUDSDK_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/gcloud")))
            .map(|d| d.join("application_default_credentials.json"));
        if let Some(path) = adc.filter(|p| p.is_file()) {
            return Credentials::from_file(&path);
        }
        let host = std::env::var("GCE_METADATA_HOST")
            .unwrap_or_else(|_| "metadata.google.internal".into());
        Ok(Credentials {
            source: Source::Metadata { host },
            project_id: None,
            origin: "the metadata server (no credentials file found: set deployment.gcp.credentials or GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login`)".into(),
            cached: Mutex::new(None),
        })
    }

    /// Credentials from a service-account key or an `authorized_user` file.
    pub fn from_file(path: &Path) -> Result<Credentials> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the Google credentials file {} (deployment.gcp.credentials or GOOGLE_APPLICATION_CREDENTIALS)",
                path.display()
            )
        })?;
        let file: KeyFile = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a service-account key or application-default credentials file (its \"type\" must be \"service_account\" or \"authorized_user\"; create a key with `gcloud iam service-accounts keys create`)",
                path.display()
            )
        })?;
        let origin = path.display().to_string();
        let (source, project_id) = match file {
            KeyFile::ServiceAccount {
                client_email,
                private_key,
                token_uri,
                project_id,
            } => {
                let der = PrivateKeyDer::from_pem_slice(private_key.as_bytes())
                    .with_context(|| format!("the private_key of {origin} is not a PEM key"))?;
                let key = rustls::crypto::aws_lc_rs::sign::any_supported_type(&der)
                    .map_err(|e| anyhow::anyhow!("the private_key of {origin}: {e}"))?;
                let source = Source::ServiceAccount {
                    email: client_email,
                    key,
                    token_uri: token_uri.unwrap_or_else(|| DEFAULT_TOKEN_URI.into()),
                };
                (source, project_id)
            }
            KeyFile::AuthorizedUser {
                client_id,
                client_secret,
                refresh_token,
                quota_project_id,
            } => (
                Source::User {
                    client_id,
                    client_secret,
                    refresh_token,
                },
                quota_project_id,
            ),
        };
        Ok(Credentials {
            source,
            project_id,
            origin,
            cached: Mutex::new(None),
        })
    }

    /// The project id the credentials name (a service-account key's `project_id`).
    pub fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    /// The service account's e-mail, where the credentials are a key.
    pub fn email(&self) -> Option<&str> {
        match &self.source {
            Source::ServiceAccount { email, .. } => Some(email),
            _ => None,
        }
    }

    /// A valid access token (cached until a minute before it expires).
    pub async fn token(&self) -> Result<String> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self
            .fetch()
            .await
            .with_context(|| format!("cannot get a Google access token from {}", self.origin))?;
        let until = Instant::now() + lifetime.saturating_sub(Duration::from_secs(60));
        *cached = Some((token.clone(), until));
        Ok(token)
    }

    async fn fetch(&self) -> Result<(String, Duration)> {
        let (url, form, headers): (String, String, Vec<(&str, &str)>) = match &self.source {
            Source::ServiceAccount {
                email,
                key,
                token_uri,
            } => {
                let assertion = jwt(email, key.as_ref(), token_uri, chrono::Utc::now())?;
                let form = format!(
                    "grant_type={}&assertion={assertion}",
                    encode("urn:ietf:params:oauth:grant-type:jwt-bearer")
                );
                (token_uri.clone(), form, vec![])
            }
            Source::User {
                client_id,
                client_secret,
                refresh_token,
            } => {
                let form = format!(
                    "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
                    encode(client_id),
                    encode(client_secret),
                    encode(refresh_token)
                );
                (DEFAULT_TOKEN_URI.into(), form, vec![])
            }
            Source::Metadata { host } => (
                format!("http://{host}{METADATA_TOKEN}"),
                String::new(),
                vec![("metadata-flavor", "Google")],
            ),
        };
        let (client, path) = crate::api::client_for(&url)?;
        let reply = if form.is_empty() {
            client
                .send(Method::GET, &path, None, &headers, Bytes::new())
                .await?
        } else {
            let ct = Some("application/x-www-form-urlencoded");
            client
                .send(Method::POST, &path, ct, &headers, Bytes::from(form))
                .await?
        };
        if !reply.ok() {
            bail!("HTTP {}: {}", reply.status, reply.text());
        }
        let body = reply.json();
        let token = body["access_token"]
            .as_str()
            .context("the token response has no access_token")?;
        let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
        Ok((token.to_owned(), Duration::from_secs(lifetime)))
    }
}

/// The signed JWT a service account exchanges for a token (RFC 7523), valid for an hour.
pub fn jwt(
    email: &str,
    key: &dyn rustls::sign::SigningKey,
    audience: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String> {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let iat = now.timestamp();
    let claims = serde_json::json!({
        "iss": email,
        "scope": SCOPE,
        "aud": audience,
        "iat": iat,
        "exp": iat + 3600,
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{claims}");
    let signer = key
        .choose_scheme(&[SignatureScheme::RSA_PKCS1_SHA256])
        .context("the service-account key is not an RSA key (RS256 needs one)")?;
    let signature = signer
        .sign(input.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot sign the token request: {e}"))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}
