//! Google's REST APIs with a bearer token: JSON calls, Google's error shape turned into
//! actionable messages, and long-running operations polled to completion.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hyper::Method;
use sebs_cluster::rest::{Client, Reply, TlsOptions};
use serde_json::Value;

use crate::auth::Credentials;

/// The base URLs of the APIs sebs calls. Each can be redirected with gcloud's own variables
/// (`CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDFUNCTIONS`, `..._RUN`, `..._STORAGE`, `..._LOGGING`,
/// `..._ARTIFACTREGISTRY`)
/// or `STORAGE_EMULATOR_HOST` (the Cloud Storage emulator's variable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Cloud Functions (v1 and v2).
    pub functions: String,
    /// Cloud Run Admin API v2.
    pub run: String,
    /// Cloud Storage JSON API.
    pub storage: String,
    /// Cloud Logging.
    pub logging: String,
    /// Artifact Registry (the repository Cloud Run's source builds push to).
    pub artifacts: String,
}

impl Default for Endpoints {
    fn default() -> Endpoints {
        Endpoints {
            functions: "https://cloudfunctions.googleapis.com".into(),
            run: "https://run.googleapis.com".into(),
            storage: "https://storage.googleapis.com".into(),
            logging: "https://logging.googleapis.com".into(),
            artifacts: "https://artifactregistry.googleapis.com".into(),
        }
    }
}

impl Endpoints {
    /// Google's endpoints with the environment's overrides.
    pub fn from_env() -> Endpoints {
        let over = |api: &str, default: String| {
            std::env::var(format!("CLOUDSDK_API_ENDPOINT_OVERRIDES_{api}"))
                .ok()
                .filter(|v| !v.is_empty())
                .map(|v| v.trim_end_matches('/').to_owned())
                .unwrap_or(default)
        };
        let d = Endpoints::default();
        let storage = std::env::var("STORAGE_EMULATOR_HOST")
            .ok()
            .filter(|v| !v.is_empty())
            .map(|h| {
                if h.contains("://") {
                    h
                } else {
                    format!("http://{h}")
                }
            })
            .unwrap_or(d.storage);
        Endpoints {
            functions: over("CLOUDFUNCTIONS", d.functions),
            run: over("RUN", d.run),
            storage: over("STORAGE", storage),
            logging: over("LOGGING", d.logging),
            artifacts: over("ARTIFACTREGISTRY", d.artifacts),
        }
    }
}

/// An authenticated caller of Google's APIs.
#[derive(Debug, Clone)]
pub struct Api {
    creds: Arc<Credentials>,
    /// Where the APIs are.
    pub endpoints: Endpoints,
    /// How often long-running operations are polled.
    pub poll: Duration,
    /// How long an operation may take before sebs gives up (builds take minutes).
    pub operation_timeout: Duration,
}

/// A call's outcome: the status and the JSON body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body (`Null` when empty or not JSON).
    pub body: Value,
}

impl Api {
    /// A caller with `creds` against `endpoints`.
    pub fn new(creds: Arc<Credentials>, endpoints: Endpoints) -> Api {
        Api {
            creds,
            endpoints,
            poll: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(900),
        }
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    /// `method url` with a JSON body; any status comes back (see [`Api::call`]).
    pub async fn request(&self, method: Method, url: &str, body: Option<&Value>) -> Result<Answer> {
        let token = self.creds.token().await?;
        let (client, path) = client_for(url)?;
        let bytes = body
            .map(|b| Bytes::from(serde_json::to_vec(b).expect("JSON serializes")))
            .unwrap_or_default();
        let ct = body.map(|_| "application/json");
        let bearer = format!("Bearer {token}");
        let headers = [("authorization", bearer.as_str())];
        let reply = client.send(method, &path, ct, &headers, bytes).await?;
        Ok(answer(&reply))
    }

    /// `method url`; a status outside 2xx is an error naming Google's status and message.
    pub async fn call(&self, method: Method, url: &str, body: Option<&Value>) -> Result<Value> {
        let answer = self.request(method.clone(), url, body).await?;
        if !(200..300).contains(&answer.status) {
            bail!("{method} {}: {}", strip_query(url), describe(&answer));
        }
        Ok(answer.body)
    }

    /// Upload `bytes` with `PUT` to a signed URL (no bearer token: the URL carries its own).
    pub async fn put_signed(
        &self,
        url: &str,
        bytes: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Result<()> {
        let (client, path) = client_for(url)?;
        let reply = client
            .send(
                Method::PUT,
                &path,
                Some("application/zip"),
                headers,
                Bytes::from(bytes),
            )
            .await
            .context("the upload of the code package failed")?;
        if !reply.ok() {
            bail!(
                "the upload of the code package failed: HTTP {}: {}",
                reply.status,
                reply.text()
            );
        }
        Ok(())
    }

    /// Wait for the long-running operation `op` (as a create/patch/delete returned it) under
    /// `base` (`https://cloudfunctions.googleapis.com/v2`); its `response` when done.
    pub async fn wait(&self, base: &str, mut op: Value) -> Result<Value> {
        let started = Instant::now();
        // Quick deployments (an environment update) finish in seconds: look early, then back
        // off to the configured interval.
        let mut delay = self.poll.min(Duration::from_secs(1));
        loop {
            if op["done"].as_bool() == Some(true) {
                if let Some(error) = op.get("error") {
                    bail!(
                        "the operation {} failed: {} (code {})",
                        op["name"].as_str().unwrap_or("?"),
                        error["message"].as_str().unwrap_or("no message"),
                        error["code"]
                    );
                }
                return Ok(op.get("response").cloned().unwrap_or(Value::Null));
            }
            let name = op["name"]
                .as_str()
                .context("the operation has no name to poll")?
                .to_owned();
            if started.elapsed() > self.operation_timeout {
                bail!(
                    "the operation {name} did not finish within {} s; look at it with `gcloud` or the console",
                    self.operation_timeout.as_secs()
                );
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.poll);
            op = self
                .call(Method::GET, &format!("{base}/{name}"), None)
                .await?;
        }
    }
}

/// A client for the scheme and authority of `url` (no authorization: callers send it as a
/// header), and the path and query to send. Clients, with their TLS configuration (the system's
/// roots, read once), are kept per origin.
pub fn client_for(url: &str) -> Result<(Client, String)> {
    static CLIENTS: std::sync::Mutex<Vec<(String, Client)>> = std::sync::Mutex::new(Vec::new());
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let base = &url[..url.len() - rest.len() + cut];
    let mut path = rest[cut..].to_owned();
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    let mut clients = CLIENTS.lock().expect("client cache poisoned");
    if let Some((_, c)) = clients.iter().find(|(b, _)| b == base) {
        return Ok((c.clone(), path));
    }
    let client = Client::new(base, &TlsOptions::default(), None)?;
    clients.push((base.to_owned(), client.clone()));
    Ok((client, path))
}

fn answer(reply: &Reply) -> Answer {
    Answer {
        status: reply.status,
        body: serde_json::from_slice(&reply.body).unwrap_or(Value::Null),
    }
}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// Google's error body (`{"error": {"code", "message", "status"}}`) with a hint for the usual
/// causes.
pub fn describe(answer: &Answer) -> String {
    let e = &answer.body["error"];
    let message = e["message"].as_str().unwrap_or("no message");
    let status = e["status"].as_str().unwrap_or("");
    let hint = match answer.status {
        401 => {
            " (the credentials were refused: check the key file or run `gcloud auth application-default login`)"
        }
        403 => {
            " (the account lacks a permission or the API is disabled: see docs/gcp.md, permissions)"
        }
        429 => " (quota exceeded: wait or ask for a higher quota)",
        _ => "",
    };
    format!("HTTP {} {status}: {message}{hint}", answer.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_errors_name_status_message_and_a_hint() {
        let answer = Answer {
            status: 403,
            body: serde_json::json!({"error": {"code": 403, "message": "Permission 'cloudfunctions.functions.create' denied", "status": "PERMISSION_DENIED"}}),
        };
        let text = describe(&answer);
        assert!(
            text.starts_with(
                "HTTP 403 PERMISSION_DENIED: Permission 'cloudfunctions.functions.create' denied"
            ),
            "{text}"
        );
        assert!(text.contains("docs/gcp.md"), "{text}");
    }

    #[test]
    fn urls_split_into_origin_and_path() {
        let (client, path) = client_for("http://127.0.0.1:9/upload/x?sig=a%2Fb").unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
        assert_eq!(path, "/upload/x?sig=a%2Fb");
        let (_, path) = client_for("http://127.0.0.1:9").unwrap();
        assert_eq!(path, "/");
    }

    #[test]
    fn googles_endpoints_by_default() {
        let d = Endpoints::default();
        assert_eq!(d.functions, "https://cloudfunctions.googleapis.com");
        assert_eq!(d.artifacts, "https://artifactregistry.googleapis.com");
    }
}
