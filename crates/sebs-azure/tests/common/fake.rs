//! The contract fake of Azure's control planes: one HTTP server on 127.0.0.1 that plays
//! Microsoft Entra ID's token endpoint (`/login`), Resource Manager (`/arm`), Kudu (`/scm/{app}`),
//! the function apps (`/sites/{app}`) and the Application Insights query API (`/insights`).
//!
//! Every Resource Manager request is checked against tests/data/arm-subset.json (path, method,
//! api-version, body, token) and anything outside it is recorded as a violation and refused with
//! ARM's error shape. Long-running operations answer with the documented patterns and finish
//! after one intermediate poll. Deployed code really runs (host.rs).

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::runtime::Workers;
use super::schema::{match_path, validate};

const SPEC: &str = include_str!("../data/arm-subset.json");

/// One execution, as Application Insights' `requests` table would hold it.
#[derive(Debug, Clone)]
pub struct Execution {
    /// Function app.
    pub app: String,
    /// Invocation id.
    pub id: String,
    /// Duration (ms).
    pub duration_ms: f64,
    /// HTTP status of the answer.
    pub status: u16,
}

/// A pending long-running operation.
pub(crate) struct Operation {
    polls_left: u32,
    final_status: u16,
    final_body: Value,
    error: Option<Value>,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) tokens: HashMap<String, String>,
    pub(crate) resources: BTreeMap<String, Value>,
    pub(crate) operations: HashMap<String, Operation>,
    pub(crate) settings: HashMap<String, BTreeMap<String, String>>,
    pub(crate) keys: HashMap<String, String>,
    pub(crate) executions: Vec<Execution>,
    pub(crate) violations: Vec<String>,
    pub(crate) log: Vec<String>,
    pub(crate) fail_next_site: Option<Value>,
    pub(crate) counter: u64,
    pub(crate) cosmos: super::cosmos::Cosmos,
}

/// The fake; cheap to clone.
#[derive(Clone)]
pub struct FakeAzure {
    pub(crate) state: Arc<Mutex<State>>,
    pub(crate) spec: Arc<Value>,
    pub(crate) principal: (String, String, String),
    pub(crate) subscription: String,
    pub(crate) blob_endpoint: String,
    pub(crate) account_keys: Arc<HashMap<String, String>>,
    pub(crate) root: PathBuf,
    pub(crate) workers: Arc<Workers>,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

/// What the fake accepts and serves.
pub struct FakeConfig {
    /// Service principal: `(client id, tenant, secret)`.
    pub principal: (String, String, String),
    /// The one subscription the principal sees.
    pub subscription: String,
    /// Azurite's URL: storage accounts' blob endpoints are `<url>/<account>/`.
    pub blob_endpoint: String,
    /// Keys of storage accounts (others get generated ones).
    pub account_keys: HashMap<String, String>,
    /// Where apps are extracted and run.
    pub root: PathBuf,
}

impl FakeAzure {
    /// Start on a free port of 127.0.0.1.
    pub async fn start(config: FakeConfig) -> FakeAzure {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeAzure {
            state: Arc::default(),
            spec: Arc::new(serde_json::from_str(SPEC).unwrap()),
            principal: config.principal,
            subscription: config.subscription,
            blob_endpoint: config.blob_endpoint,
            account_keys: Arc::new(config.account_keys),
            root: config.root,
            workers: Arc::default(),
            url,
        };
        let server = fake.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let fake = server.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let fake = fake.clone();
                        async move { Ok::<_, Infallible>(fake.handle(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        fake
    }

    /// Requests that deviated from the description.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// `METHOD path` of every request.
    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    /// Resource paths (lower-case) that exist.
    pub fn resources(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .resources
            .keys()
            .cloned()
            .collect()
    }

    /// The app settings of `app`.
    pub fn settings(&self, app: &str) -> BTreeMap<String, String> {
        self.state
            .lock()
            .unwrap()
            .settings
            .get(app)
            .cloned()
            .unwrap_or_default()
    }

    /// Executions recorded for Application Insights.
    pub fn executions(&self) -> Vec<Execution> {
        self.state.lock().unwrap().executions.clone()
    }

    /// Make the next function app creation's asynchronous operation fail with `error`.
    pub fn fail_next_site(&self, error: Value) {
        self.state.lock().unwrap().fail_next_site = Some(error);
    }

    pub(crate) fn next_id(&self) -> String {
        let mut s = self.state.lock().unwrap();
        s.counter += 1;
        format!("{:08x}-0000-4000-8000-{:012x}", s.counter, s.counter)
    }

    pub(crate) fn violation(&self, why: String) -> Response<Full<Bytes>> {
        self.state.lock().unwrap().violations.push(why.clone());
        arm_error(400, "InvalidRequestContent", &why)
    }

    async fn handle(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let path = parts.uri.path().to_owned();
        let query: HashMap<String, String> = parts
            .uri
            .query()
            .map(|q| {
                q.split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_owned(), urldecode(v)))
                    .collect()
            })
            .unwrap_or_default();
        self.state
            .lock()
            .unwrap()
            .log
            .push(format!("{} {path}", parts.method));
        let auth = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if path.starts_with("/dbs") {
            return super::cosmos::handle(
                self,
                parts.method.as_str(),
                &path,
                &parts.headers,
                &body,
            );
        }
        if let Some(rest) = path.strip_prefix("/login/") {
            return self.token(rest, &parts.headers, &body);
        }
        if let Some(rest) = path.strip_prefix("/arm") {
            if let Some(r) = self.refused(&auth, "https://management.azure.com/.default") {
                return r;
            }
            return self.arm(parts.method.as_str(), rest, &query, &body);
        }
        if let Some(rest) = path.strip_prefix("/scm/") {
            if let Some(r) = self.refused(&auth, "https://management.azure.com/.default") {
                return r;
            }
            return super::runtime::kudu(
                self,
                parts.method.as_str(),
                rest,
                &parts.headers,
                &query,
                body,
            );
        }
        if let Some(rest) = path.strip_prefix("/sites/") {
            return super::runtime::invoke(self, rest, &parts.headers, &body).await;
        }
        if let Some(rest) = path.strip_prefix("/insights/") {
            if let Some(r) = self.refused(&auth, "https://api.applicationinsights.io/.default") {
                return r;
            }
            return super::runtime::query(self, rest, &body);
        }
        self.violation(format!("{} {path}: no such endpoint", parts.method))
    }

    /// The client-credentials grant of the token endpoint.
    fn token(&self, rest: &str, headers: &hyper::HeaderMap, body: &[u8]) -> Response<Full<Bytes>> {
        let spec = &self.spec["data-plane"]["token"];
        let form: HashMap<String, String> = String::from_utf8_lossy(body)
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), urldecode(v)))
            .collect();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with(spec["content-type"].as_str().unwrap()) {
            return self.violation(format!("token request with content type {content_type:?}"));
        }
        for field in spec["required"].as_array().unwrap() {
            if !form.contains_key(field.as_str().unwrap()) {
                return self.violation(format!("token request without {field}"));
            }
        }
        let (id, tenant, secret) = &self.principal;
        if rest != format!("{tenant}/oauth2/v2.0/token")
            || form["client_id"] != *id
            || form["client_secret"] != *secret
            || form["grant_type"] != spec["grant_type"]
        {
            return reply(
                401,
                &json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}),
            );
        }
        let token = format!("fake-token-{}", self.next_id());
        self.state
            .lock()
            .unwrap()
            .tokens
            .insert(token.clone(), form["scope"].clone());
        reply(
            200,
            &json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}),
        )
    }

    /// The refusal of a request without a bearer token the fake issued for `scope`.
    fn refused(&self, auth: &str, scope: &str) -> Option<Response<Full<Bytes>>> {
        let token = auth.strip_prefix("Bearer ").unwrap_or_default();
        match self.state.lock().unwrap().tokens.get(token) {
            Some(s) if s == scope => None,
            Some(s) => Some(arm_error(
                401,
                "InvalidAuthenticationTokenAudience",
                &format!("the token is for {s}, not {scope}"),
            )),
            None => Some(arm_error(
                401,
                "AuthenticationFailed",
                "no valid bearer token",
            )),
        }
    }

    /// One Resource Manager request, checked against the description.
    fn arm(
        &self,
        method: &str,
        path: &str,
        query: &HashMap<String, String>,
        body: &[u8],
    ) -> Response<Full<Bytes>> {
        if let Some(id) = path.strip_prefix("/operations/") {
            return self.poll_async(id);
        }
        if let Some(id) = path.strip_prefix("/locations/") {
            return self.poll_location(id);
        }
        let ops = self.spec["operations"].as_array().unwrap();
        let Some((op, named)) = ops.iter().find_map(|op| {
            (op["method"] == method)
                .then(|| match_path(op["path"].as_str().unwrap(), path).map(|n| (op, n)))
                .flatten()
        }) else {
            return self.violation(format!(
                "{method} {path}: not an operation of the description"
            ));
        };
        let id = op["id"].as_str().unwrap();
        if query.get("api-version").map(String::as_str) != op["api-version"].as_str() {
            return self.violation(format!(
                "{id}: api-version {:?}, the description has {}",
                query.get("api-version"),
                op["api-version"]
            ));
        }
        let value: Value = if body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => return self.violation(format!("{id}: the body is not JSON: {e}")),
            }
        };
        match (&op["body"], &value) {
            (Value::Null, Value::Null) => {}
            (Value::Null, _) => return self.violation(format!("{id}: takes no body")),
            (_, Value::Null) => return self.violation(format!("{id}: needs a body")),
            (schema, v) => {
                if let Err(e) = validate(schema, v, "$") {
                    return self.violation(format!("{id}: {e}"));
                }
            }
        }
        if let (Some(p), Some((_, name))) = (op["name-pattern"].as_str(), named.last())
            && !name_matches(p, name)
        {
            return arm_error(
                400,
                "InvalidResourceName",
                &format!("{name} does not match {p}"),
            );
        }
        if let Some((_, sub)) = named.first()
            && *sub != self.subscription
        {
            return arm_error(
                404,
                "SubscriptionNotFound",
                &format!("subscription {sub} not found"),
            );
        }
        super::host::arm_operation(self, id, op, path, &named, value)
    }

    /// Register a long-running operation: `(id, kind)` → the headers to answer with.
    pub(crate) fn start_operation(
        &self,
        kind: &str,
        api: &str,
        final_status: u16,
        final_body: Value,
        error: Option<Value>,
    ) -> (&'static str, String) {
        let id = self.next_id();
        self.state.lock().unwrap().operations.insert(
            id.clone(),
            Operation {
                polls_left: 1,
                final_status,
                final_body,
                error,
            },
        );
        if kind == "location" {
            (
                "location",
                format!("{}/arm/locations/{id}?api-version={api}", self.url),
            )
        } else {
            (
                "azure-asyncoperation",
                format!("{}/arm/operations/{id}?api-version={api}", self.url),
            )
        }
    }

    fn poll_async(&self, id: &str) -> Response<Full<Bytes>> {
        let mut s = self.state.lock().unwrap();
        let Some(op) = s.operations.get_mut(id.split('?').next().unwrap()) else {
            return arm_error(404, "OperationNotFound", id);
        };
        if op.polls_left > 0 {
            op.polls_left -= 1;
            return with_headers(
                reply(200, &json!({"id": id, "name": id, "status": "InProgress"})),
                &[("retry-after", "0")],
            );
        }
        match &op.error {
            Some(e) => reply(
                200,
                &json!({"id": id, "name": id, "status": "Failed", "error": e}),
            ),
            None => reply(200, &json!({"id": id, "name": id, "status": "Succeeded"})),
        }
    }

    fn poll_location(&self, id: &str) -> Response<Full<Bytes>> {
        let mut s = self.state.lock().unwrap();
        let Some(op) = s.operations.get_mut(id) else {
            return arm_error(404, "OperationNotFound", id);
        };
        if op.polls_left > 0 {
            op.polls_left -= 1;
            return with_headers(reply(202, &Value::Null), &[("retry-after", "0")]);
        }
        reply(op.final_status, &op.final_body)
    }
}

/// `pattern` is one of the description's simple anchored character-class patterns.
fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern {
        "^[a-z0-9]{3,24}$" => {
            (3..=24).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }
        "^[a-zA-Z0-9][a-zA-Z0-9-]{0,58}[a-zA-Z0-9]$" => {
            (2..=60).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !name.starts_with('-')
                && !name.ends_with('-')
        }
        "^[a-z0-9]+(-[a-z0-9]+)*$" => {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !name.starts_with('-')
                && !name.ends_with('-')
                && !name.contains("--")
        }
        other => panic!("the fake does not know the pattern {other}"),
    }
}

/// Percent-decoding of a query or form value.
pub fn urldecode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            )
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON answer.
pub fn reply(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let bytes = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(bytes))
        .unwrap()
}

/// ARM's error shape.
pub fn arm_error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

/// `response` with extra headers.
pub fn with_headers(
    mut response: Response<Full<Bytes>>,
    headers: &[(&str, &str)],
) -> Response<Full<Bytes>> {
    for (k, v) in headers {
        response.headers_mut().insert(
            hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            hyper::header::HeaderValue::from_str(v).unwrap(),
        );
    }
    response
}
