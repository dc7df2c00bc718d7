//! The Kubernetes API server and credentials from a kubeconfig file, as `kubectl` reads them:
//! the context (`deployment.knative.context`, else `current-context`), its cluster (`server`,
//! `certificate-authority[-data]`, `insecure-skip-tls-verify`) and user (`token`, `tokenFile`,
//! `client-certificate[-data]` + `client-key[-data]`, `username` + `password`).
//!
//! Credential plugins (`exec`, `auth-provider`: EKS, GKE, OIDC) run programs this backend does
//! not run; for those clusters run `kubectl proxy` and point a kubeconfig at it (see
//! docs/platforms/knative.md).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine;
use serde_json::Value;

use crate::rest::TlsOptions;

/// How to reach and authenticate to the API server.
#[derive(Clone)]
pub struct ApiServer {
    /// `https://host:port` (or `http://` for `kubectl proxy`).
    pub server: String,
    /// Trust and client certificate.
    pub tls: TlsOptions,
    /// The `Authorization` header's value (never logged).
    pub authorization: Option<String>,
    /// The context's namespace.
    pub namespace: Option<String>,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiServer({})", self.server)
    }
}

/// The kubeconfig to read: `configured`, else the first file of `KUBECONFIG`, else
/// `~/.kube/config`.
pub fn path(configured: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = configured {
        return Ok(p.to_owned());
    }
    if let Some(list) = std::env::var_os("KUBECONFIG")
        && let Some(first) = std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty())
    {
        return Ok(first);
    }
    let home =
        std::env::var_os("HOME").context("HOME is not set: set deployment.knative.kubeconfig")?;
    Ok(Path::new(&home).join(".kube/config"))
}

/// Read the API server of `context` (else the current one) from the kubeconfig at `path`.
pub fn load(path: &Path, context: Option<&str>) -> Result<ApiServer> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the kubeconfig {} (set deployment.knative.kubeconfig or KUBECONFIG)",
            path.display()
        )
    })?;
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(&text).with_context(|| format!("{} is not YAML", path.display()))?;
    let doc: Value = serde_json::to_value(yaml)?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&doc, context, base).with_context(|| format!("in the kubeconfig {}", path.display()))
}

fn named<'a>(doc: &'a Value, list: &str, name: &str, field: &str) -> Result<&'a Value> {
    doc[list]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == name)
        .map(|e| &e[field])
        .with_context(|| format!("no {field} named `{name}` in `{list}`"))
}

/// Bytes of a `<key>-data` (base64) or `<key>` (a file, relative to the kubeconfig's directory).
fn material(entry: &Value, key: &str, base: &Path) -> Result<Option<Vec<u8>>> {
    if let Some(data) = entry[format!("{key}-data")].as_str() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .with_context(|| format!("{key}-data is not base64"))?;
        return Ok(Some(bytes));
    }
    if let Some(file) = entry[key].as_str() {
        let p = base.join(file);
        return Ok(Some(
            std::fs::read(&p).with_context(|| format!("cannot read {key} {}", p.display()))?,
        ));
    }
    Ok(None)
}

/// The API server of `context` in a parsed kubeconfig; files are relative to `base`.
pub fn parse(doc: &Value, context: Option<&str>, base: &Path) -> Result<ApiServer> {
    let name = context
        .map(str::to_owned)
        .or_else(|| doc["current-context"].as_str().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .context("no context: set deployment.knative.context or current-context (`kubectl config use-context ...`)")?;
    let ctx = named(doc, "contexts", &name, "context")?;
    let cluster_name = ctx["cluster"]
        .as_str()
        .context("the context names no cluster")?;
    let cluster = named(doc, "clusters", cluster_name, "cluster")?;
    let server = cluster["server"]
        .as_str()
        .with_context(|| format!("cluster `{cluster_name}` has no server"))?
        .trim_end_matches('/')
        .to_owned();
    let tls = TlsOptions {
        ca_pem: material(cluster, "certificate-authority", base)?,
        insecure: cluster["insecure-skip-tls-verify"] == true,
        client_pem: None,
    };
    let mut api = ApiServer {
        server,
        tls,
        authorization: None,
        namespace: ctx["namespace"].as_str().map(str::to_owned),
    };
    let Some(user_name) = ctx["user"].as_str().filter(|u| !u.is_empty()) else {
        return Ok(api);
    };
    let user = named(doc, "users", user_name, "user")?;
    if user.get("exec").is_some_and(|v| !v.is_null())
        || user.get("auth-provider").is_some_and(|v| !v.is_null())
    {
        bail!(
            "user `{user_name}` gets credentials from a plugin (exec/auth-provider), which sebs does not run: run `kubectl proxy` and use a kubeconfig whose server is http://127.0.0.1:8001 (docs/platforms/knative.md), or give the user a token"
        );
    }
    if let Some(token) = user["token"].as_str() {
        api.authorization = Some(format!("Bearer {token}"));
    } else if let Some(file) = user["tokenFile"].as_str() {
        let token = std::fs::read_to_string(base.join(file))
            .with_context(|| format!("cannot read tokenFile {file}"))?;
        api.authorization = Some(format!("Bearer {}", token.trim()));
    } else if let (Some(u), Some(p)) = (user["username"].as_str(), user["password"].as_str()) {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        api.authorization = Some(format!("Basic {basic}"));
    }
    let cert = material(user, "client-certificate", base)?;
    let key = material(user, "client-key", base)?;
    match (cert, key) {
        (Some(c), Some(k)) => api.tls.client_pem = Some((c, k)),
        (None, None) => {}
        _ => bail!(
            "user `{user_name}` has a client certificate without a key, or a key without a certificate"
        ),
    }
    Ok(api)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: kind-sebs
clusters:
- name: kind-sebs
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: LS0tLS1CRUdJTg==
- name: proxy
  cluster:
    server: http://127.0.0.1:8001
contexts:
- name: kind-sebs
  context: {cluster: kind-sebs, user: admin, namespace: bench}
- name: via-proxy
  context: {cluster: proxy, user: ""}
- name: eks
  context: {cluster: proxy, user: eks}
users:
- name: admin
  user:
    token: abc.def
- name: eks
  user:
    exec: {command: aws}
"#;

    fn doc() -> Value {
        serde_json::to_value(serde_yaml::from_str::<serde_yaml::Value>(CONFIG).unwrap()).unwrap()
    }

    #[test]
    fn the_current_context_gives_server_ca_token_and_namespace() {
        let api = parse(&doc(), None, Path::new("/")).unwrap();
        assert_eq!(api.server, "https://127.0.0.1:6443");
        assert_eq!(api.tls.ca_pem.as_deref(), Some(&b"-----BEGIN"[..]));
        assert_eq!(api.authorization.as_deref(), Some("Bearer abc.def"));
        assert_eq!(api.namespace.as_deref(), Some("bench"));
        assert!(!format!("{api:?}").contains("abc.def"));
    }

    #[test]
    fn a_proxy_context_needs_no_user_and_plugins_are_explained() {
        let api = parse(&doc(), Some("via-proxy"), Path::new("/")).unwrap();
        assert_eq!(
            (api.server.as_str(), api.authorization.is_none()),
            ("http://127.0.0.1:8001", true)
        );
        let e = parse(&doc(), Some("eks"), Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("kubectl proxy"), "{e}");
        let e = parse(&doc(), Some("nope"), Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }
}
