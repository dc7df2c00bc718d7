//! Azure Resource Manager over plain REST: bearer-token requests with an `api-version`, long-
//! running operations followed through `Azure-AsyncOperation` or `Location`, and ARM's error
//! body (`{"error": {"code", "message"}}`) turned into readable errors.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::auth::TokenSource;

/// How long a long-running operation may take before sebs gives up on it.
const OPERATION_LIMIT: Duration = Duration::from_secs(900);

/// An answer of Resource Manager.
#[derive(Debug)]
pub struct ArmReply {
    /// HTTP status (after a long-running operation: its final one).
    pub status: u16,
    /// The JSON body (`Null` when there was none).
    pub body: Value,
}

/// A Resource Manager client for one subscription.
#[derive(Clone)]
pub struct Arm {
    base: String,
    scope: String,
    tokens: Arc<TokenSource>,
    http: reqwest::Client,
    /// The shortest wait between polls of a long-running operation (ARM's `Retry-After` when
    /// it names a longer one).
    pub poll: Duration,
}

impl Arm {
    /// A client of the Resource Manager at `base`, authenticated for `scope`.
    pub fn new(base: &str, scope: &str, tokens: Arc<TokenSource>, http: reqwest::Client) -> Arm {
        Arm {
            base: base.to_owned(),
            scope: scope.to_owned(),
            tokens,
            http,
            poll: Duration::from_secs(2),
        }
    }

    /// `method` on `path` (from `/subscriptions/...`) at `api_version`, following a long-running
    /// operation to its end. 404 to a GET or DELETE comes back as a reply; other failures are
    /// errors.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<ArmReply> {
        let url = format!("{}{path}?api-version={api_version}", self.base);
        let what = format!("{method} {path}");
        let reply = self.send(method.clone(), &url, body).await?;
        let status = reply.status();
        let headers = reply.headers().clone();
        let text = reply.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        // Absent: an answer for reads and deletes; for writes and actions, an error.
        if status == StatusCode::NOT_FOUND && (method == Method::GET || method == Method::DELETE) {
            return Ok(ArmReply {
                status: 404,
                body: value,
            });
        }
        if !status.is_success() {
            bail!("{}", arm_error(&what, status.as_u16(), &value, &text));
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry = header("retry-after").and_then(|v| v.parse::<u64>().ok());
        // ARM's asynchronous pattern: most providers answer 201/202, Cosmos DB answers 200
        // with the header and the resource still provisioning.
        if method != Method::GET
            && let Some(op) = header("azure-asyncoperation")
        {
            self.follow_async(&what, &op, retry).await?;
            return self.final_state(method, path, api_version, value).await;
        }
        if status.as_u16() == 202
            && let Some(location) = header("location")
        {
            return self.follow_location(&what, &location, retry).await;
        }
        Ok(ArmReply {
            status: status.as_u16(),
            body: value,
        })
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<reqwest::Response> {
        let token = self.tokens.token(&self.scope).await?;
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(token.expose())
            .header("accept", "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        request
            .send()
            .await
            .with_context(|| format!("cannot reach Azure Resource Manager at {}", self.base))
    }

    /// After an `Azure-AsyncOperation` ends: a PUT or PATCH reads the resource again; a DELETE
    /// or POST has nothing more to read.
    async fn final_state(
        &self,
        method: Method,
        path: &str,
        api_version: &str,
        first: Value,
    ) -> Result<ArmReply> {
        if method == Method::PUT || method == Method::PATCH {
            let reply = Box::pin(self.call(Method::GET, path, api_version, None)).await?;
            return Ok(reply);
        }
        Ok(ArmReply {
            status: 200,
            body: first,
        })
    }

    /// Poll an `Azure-AsyncOperation` URL until its `status` is terminal.
    async fn follow_async(&self, what: &str, url: &str, retry: Option<u64>) -> Result<()> {
        let started = std::time::Instant::now();
        let mut wait = self.wait(retry);
        loop {
            tokio::time::sleep(wait).await;
            let reply = self.send(Method::GET, url, None).await?;
            let code = reply.status().as_u16();
            let retry = reply
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            let text = reply.text().await.unwrap_or_default();
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if !(200..300).contains(&code) {
                bail!(
                    "{}",
                    arm_error(&format!("polling {what}"), code, &value, &text)
                );
            }
            match value["status"].as_str().unwrap_or("") {
                "Succeeded" => return Ok(()),
                "Failed" | "Canceled" => bail!(
                    "{what} ended {}: {}",
                    value["status"].as_str().unwrap_or_default(),
                    error_text(&value)
                ),
                _ => {}
            }
            if started.elapsed() > OPERATION_LIMIT {
                bail!(
                    "{what} has not finished after {OPERATION_LIMIT:?}; see the resource group in the Azure portal"
                );
            }
            wait = self.wait(retry);
        }
    }

    /// Poll a `Location` URL until it stops answering 202.
    async fn follow_location(&self, what: &str, url: &str, retry: Option<u64>) -> Result<ArmReply> {
        let started = std::time::Instant::now();
        let mut wait = self.wait(retry);
        loop {
            tokio::time::sleep(wait).await;
            let reply = self.send(Method::GET, url, None).await?;
            let code = reply.status().as_u16();
            let retry = reply
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            let text = reply.text().await.unwrap_or_default();
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            match code {
                202 => {}
                200..=299 => {
                    return Ok(ArmReply {
                        status: code,
                        body: value,
                    });
                }
                _ => bail!(
                    "{}",
                    arm_error(&format!("polling {what}"), code, &value, &text)
                ),
            }
            if started.elapsed() > OPERATION_LIMIT {
                bail!(
                    "{what} has not finished after {OPERATION_LIMIT:?}; see the resource group in the Azure portal"
                );
            }
            wait = self.wait(retry);
        }
    }

    /// ARM's `Retry-After` when it sends one (at least 100 ms, at most 30 s), else `poll`.
    fn wait(&self, retry: Option<u64>) -> Duration {
        match retry {
            Some(s) => Duration::from_secs(s.min(30)).max(Duration::from_millis(100)),
            None => self.poll,
        }
    }
}

/// ARM's error body as one line, with a hint for the usual causes.
fn arm_error(what: &str, status: u16, value: &Value, text: &str) -> String {
    let detail = if value.is_null() {
        text.chars().take(300).collect()
    } else {
        error_text(value)
    };
    let hint = match status {
        401 => " (the token was refused: check the service principal or `az login`)",
        403 => {
            " (the identity lacks a role here: give it Contributor on the subscription or the resource group, see docs/azure.md)"
        }
        409 => {
            " (a conflict: the name may be taken by another subscription; change deployment.azure.resources.resources_id)"
        }
        _ => "",
    };
    format!("Azure Resource Manager answered HTTP {status} to {what}: {detail}{hint}")
}

/// `code: message` of an ARM error body (`{"error": {...}}`, or the error of an operation).
pub fn error_text(value: &Value) -> String {
    let e = if value["error"].is_object() {
        &value["error"]
    } else {
        value
    };
    match (e["code"].as_str(), e["message"].as_str()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (None, Some(m)) => m.to_owned(),
        (Some(c), None) => c.to_owned(),
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_read_plainly() {
        let v = serde_json::json!({"error": {"code": "AuthorizationFailed", "message": "no"}});
        let text = arm_error("PUT /x", 403, &v, "");
        assert!(text.contains("AuthorizationFailed: no"), "{text}");
        assert!(text.contains("Contributor"), "{text}");
        assert_eq!(
            arm_error("GET /y", 500, &Value::Null, "boom"),
            "Azure Resource Manager answered HTTP 500 to GET /y: boom"
        );
    }
}
