//! A fake Kubernetes API server with Knative Serving, and its ingress gateway, for the tests.
//!
//! The API checks every request against the committed subset of the Service CRD's schema
//! (`data/knative-service-v1-subset.json`) and the Kubernetes API conventions sebs relies on:
//! bearer authentication, resource paths, `labelSelector` as the only query parameter, JSON
//! bodies, `apiVersion`/`kind`, names (DNS labels with room for revision names), the namespace
//! of the path, `resourceVersion` on updates (409 Conflict otherwise), 201 on create, `Status`
//! objects on errors, `*List` kinds for lists. Deviations are recorded and answered 400/422.
//!
//! A controller reconciles on read: a new generation gets a revision, whose "image" is the build
//! context sebs wrote (the Dockerfile's `COPY` lines are checked; the server runtime runs from
//! it, on 127.0.0.1, with the container's environment only). The ingress routes by `Host` to
//! the latest ready revision, starting an instance when none runs (a cold start); instances
//! idle longer than the scale-to-zero delay are stopped.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::schema;

const SCHEMA: &str = include_str!("../data/knative-service-v1-subset.json");
const PREFIX: &str = "/apis/serving.knative.dev/v1/namespaces/";

struct Pod {
    revision: String,
    child: tokio::process::Child,
    port: u16,
    last_used: Instant,
}

#[derive(Default)]
struct State {
    services: BTreeMap<String, Value>,
    pods: BTreeMap<String, Pod>,
    version: u64,
    violations: Vec<String>,
}

/// The fake API server and ingress.
#[derive(Clone)]
pub struct FakeKnative {
    state: Arc<Mutex<State>>,
    schema: Arc<Value>,
    token: String,
    build_root: PathBuf,
    scale_to_zero: Duration,
    /// The API server's URL.
    pub api_url: String,
    /// The ingress gateway's URL.
    pub ingress_url: String,
}

async fn serve<F, Fut>(listener: tokio::net::TcpListener, handle: F)
where
    F: Fn(Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let handle = handle.clone();
                async move { Ok::<_, Infallible>(handle(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl FakeKnative {
    /// Start both listeners on 127.0.0.1; images are looked up under `build_root/<service>`.
    pub async fn start(token: &str, build_root: &Path, scale_to_zero: Duration) -> FakeKnative {
        let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ingress = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeKnative {
            state: Arc::default(),
            schema: Arc::new(serde_json::from_str(SCHEMA).unwrap()),
            token: format!("Bearer {token}"),
            build_root: build_root.to_owned(),
            scale_to_zero,
            api_url: format!("http://{}", api.local_addr().unwrap()),
            ingress_url: format!("http://{}", ingress.local_addr().unwrap()),
        };
        let f = fake.clone();
        tokio::spawn(serve(api, move |req| {
            let f = f.clone();
            async move { f.api(req).await }
        }));
        let f = fake.clone();
        tokio::spawn(serve(ingress, move |req| {
            let f = f.clone();
            async move { f.ingress(req).await }
        }));
        fake
    }

    /// Deviations from the schema and conventions.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// Names of the Services.
    pub fn services(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .services
            .keys()
            .cloned()
            .collect()
    }

    /// A Service as stored.
    pub fn service(&self, name: &str) -> Option<Value> {
        self.state.lock().unwrap().services.get(name).cloned()
    }

    /// Running instances.
    pub fn instances(&self) -> usize {
        self.state.lock().unwrap().pods.len()
    }

    fn violation(&self, code: u16, why: String) -> Response<Full<Bytes>> {
        self.state.lock().unwrap().violations.push(why.clone());
        status(code, "Invalid", &why)
    }

    async fn api(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().as_str().to_owned();
        let path = req.uri().path().to_owned();
        let query = schema::query_pairs(req.uri().query().unwrap_or(""));
        let headers = req.headers().clone();
        let bytes = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(self.token.as_str()) {
            return status(401, "Unauthorized", "Unauthorized");
        }
        if let Some((k, _)) = query.iter().find(|(k, _)| k != "labelSelector") {
            return self.violation(
                400,
                format!("{method} {path}: unexpected query parameter {k}"),
            );
        }
        let selector = query.first().map(|(_, v)| v.clone());
        let body: Option<Value> = if bytes.is_empty() {
            None
        } else {
            if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json")
            {
                return self.violation(
                    415,
                    format!("{method} {path}: body without content-type application/json"),
                );
            }
            match serde_json::from_slice(&bytes) {
                Ok(v) => Some(v),
                Err(e) => {
                    return self.violation(400, format!("{method} {path}: body is not JSON: {e}"));
                }
            }
        };
        self.sweep();
        if let Some(ns) = path
            .strip_prefix("/api/v1/namespaces/")
            .and_then(|r| r.strip_suffix("/pods"))
        {
            return match method.as_str() {
                "GET" => reply(200, &self.pod_list(ns, selector.as_deref())),
                _ => self.violation(405, format!("{method} {path}")),
            };
        }
        let Some(rest) = path.strip_prefix(PREFIX) else {
            return self.violation(404, format!("{method} {path}: not a path of this API"));
        };
        let parts: Vec<&str> = rest.split('/').collect();
        match (method.as_str(), parts.as_slice()) {
            ("GET", [ns, "services"]) => reply(200, &self.list(ns, selector.as_deref())),
            ("POST", [ns, "services"]) => self.create(ns, body),
            ("GET", [_, "services", name]) => match self.reconciled(name) {
                Some(s) => reply(200, &s),
                None => status(
                    404,
                    "NotFound",
                    &format!("services.serving.knative.dev \"{name}\" not found"),
                ),
            },
            ("PUT", [ns, "services", name]) => self.update(ns, name, body),
            ("DELETE", [_, "services", name]) => self.delete(name),
            _ => self.violation(405, format!("{method} {path}: no such operation")),
        }
    }

    fn check(&self, ns: &str, body: &Value) -> Result<String, String> {
        schema::validate(&self.schema, &self.schema, body, "service")?;
        if body["apiVersion"] != "serving.knative.dev/v1" || body["kind"] != "Service" {
            return Err(format!(
                "apiVersion/kind {} {} is not serving.knative.dev/v1 Service",
                body["apiVersion"], body["kind"]
            ));
        }
        let name = body["metadata"]["name"].as_str().unwrap_or("").to_owned();
        let label = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !s.ends_with('-')
        };
        if !label(&name) || !label(&format!("{name}-00001")) {
            return Err(format!(
                "metadata.name {name:?} is not a DNS-1035 label with room for revision names"
            ));
        }
        if body["metadata"]["namespace"]
            .as_str()
            .is_some_and(|n| n != ns)
        {
            return Err("metadata.namespace differs from the path's namespace".into());
        }
        if body.get("status").is_some() {
            return Err("clients do not write status".into());
        }
        Ok(name)
    }

    fn create(&self, ns: &str, body: Option<Value>) -> Response<Full<Bytes>> {
        let Some(mut body) = body else {
            return self.violation(400, "create without a body".into());
        };
        let name = match self.check(ns, &body) {
            Ok(n) => n,
            Err(e) => return self.violation(422, e),
        };
        let mut state = self.state.lock().unwrap();
        if state.services.contains_key(&name) {
            return status(
                409,
                "AlreadyExists",
                &format!("services.serving.knative.dev \"{name}\" already exists"),
            );
        }
        state.version += 1;
        let meta = &mut body["metadata"];
        meta["namespace"] = json!(ns);
        meta["uid"] = json!(format!("uid-{}", state.version));
        meta["resourceVersion"] = json!(state.version.to_string());
        meta["generation"] = json!(1);
        meta["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        body["status"] = json!({"observedGeneration": 0, "conditions": [{"type": "Ready", "status": "Unknown"}]});
        state.services.insert(name, body.clone());
        reply(201, &body)
    }

    fn update(&self, ns: &str, name: &str, body: Option<Value>) -> Response<Full<Bytes>> {
        let Some(mut body) = body else {
            return self.violation(400, "update without a body".into());
        };
        match self.check(ns, &body) {
            Ok(n) if n == name => {}
            Ok(n) => return self.violation(400, format!("the body names {n}, the path {name}")),
            Err(e) => return self.violation(422, e),
        }
        let mut state = self.state.lock().unwrap();
        let Some(old) = state.services.get(name).cloned() else {
            return status(
                404,
                "NotFound",
                &format!("services.serving.knative.dev \"{name}\" not found"),
            );
        };
        if body["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"] {
            state.violations.push(format!(
                "update of {name} without its current resourceVersion"
            ));
            return status(
                409,
                "Conflict",
                "the object has been modified; apply your changes to the latest version",
            );
        }
        state.version += 1;
        let changed = body["spec"] != old["spec"];
        let generation = old["metadata"]["generation"].as_i64().unwrap() + i64::from(changed);
        for key in ["uid", "creationTimestamp"] {
            body["metadata"][key] = old["metadata"][key].clone();
        }
        body["metadata"]["namespace"] = json!(ns);
        body["metadata"]["generation"] = json!(generation);
        body["metadata"]["resourceVersion"] = json!(state.version.to_string());
        body["status"] = old["status"].clone();
        state.services.insert(name.to_owned(), body.clone());
        reply(200, &body)
    }

    fn delete(&self, name: &str) -> Response<Full<Bytes>> {
        let mut state = self.state.lock().unwrap();
        if state.services.remove(name).is_none() {
            return status(
                404,
                "NotFound",
                &format!("services.serving.knative.dev \"{name}\" not found"),
            );
        }
        if let Some(mut pod) = state.pods.remove(name) {
            let _ = pod.child.start_kill();
        }
        reply(
            200,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": name, "group": "serving.knative.dev", "kind": "services"}}),
        )
    }

    fn list(&self, _ns: &str, selector: Option<&str>) -> Value {
        let state = self.state.lock().unwrap();
        let items: Vec<Value> = state
            .services
            .values()
            .filter(|s| matches(&s["metadata"]["labels"], selector))
            .cloned()
            .collect();
        json!({"apiVersion": "serving.knative.dev/v1", "kind": "ServiceList",
               "metadata": {"resourceVersion": state.version.to_string()}, "items": items})
    }

    fn pod_list(&self, ns: &str, selector: Option<&str>) -> Value {
        let state = self.state.lock().unwrap();
        let items: Vec<Value> = state
            .pods
            .iter()
            .map(|(svc, pod)| json!({"metadata": {"name": format!("{}-deployment-x", pod.revision), "namespace": ns,
                "labels": {"serving.knative.dev/service": svc, "serving.knative.dev/revision": pod.revision}},
                "status": {"phase": "Running"}}))
            .filter(|p| matches(&p["metadata"]["labels"], selector))
            .collect();
        json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": items})
    }

    /// The Service after the controller's reconciliation of its current generation.
    fn reconciled(&self, name: &str) -> Option<Value> {
        let mut state = self.state.lock().unwrap();
        let service = state.services.get(name)?.clone();
        let generation = service["metadata"]["generation"].as_i64().unwrap();
        if service["status"]["observedGeneration"].as_i64() == Some(generation) {
            return Some(service);
        }
        let revision = format!("{name}-{generation:05}");
        let ns = service["metadata"]["namespace"]
            .as_str()
            .unwrap()
            .to_owned();
        let image_ok = self.image_context(name).is_ok();
        let mut s = service.clone();
        s["status"] = if image_ok {
            // A new revision: instances of the old one go; the new one starts on first request.
            if let Some(mut old) = state.pods.remove(name) {
                let _ = old.child.start_kill();
            }
            json!({"observedGeneration": generation, "url": format!("http://{name}.{ns}.example.com"),
                "address": {"url": format!("http://{name}.{ns}.svc.cluster.local")},
                "latestCreatedRevisionName": revision, "latestReadyRevisionName": revision,
                "traffic": [{"revisionName": revision, "latestRevision": true, "percent": 100}],
                "conditions": [{"type": "Ready", "status": "True"}, {"type": "ConfigurationsReady", "status": "True"},
                               {"type": "RoutesReady", "status": "True"}]})
        } else {
            json!({"observedGeneration": generation, "latestCreatedRevisionName": revision,
                "conditions": [{"type": "Ready", "status": "False", "reason": "RevisionFailed",
                    "message": format!("Revision \"{revision}\" failed with message: Unable to fetch image \"{}\"", s["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap_or(""))}]})
        };
        if let Err(e) = schema::validate(&self.schema, &self.schema, &s, "stored service") {
            state.violations.push(e);
        }
        state.services.insert(name.to_owned(), s.clone());
        Some(s)
    }

    /// The build context standing for the Service's image: its Dockerfile must copy the package
    /// and the server runtime, as docs/platforms/knative.md builds it.
    fn image_context(&self, name: &str) -> Result<PathBuf, String> {
        let dir = self.build_root.join(name);
        let dockerfile =
            std::fs::read_to_string(dir.join("Dockerfile")).map_err(|e| e.to_string())?;
        let server = if dir.join("server.py").is_file() {
            "server.py"
        } else {
            "server.js"
        };
        if !dockerfile.contains("COPY code/ /function/")
            || !dockerfile.contains(&format!("COPY {server} "))
        {
            return Err("the Dockerfile does not copy the package and the server".into());
        }
        Ok(dir)
    }

    fn sweep(&self) {
        let mut state = self.state.lock().unwrap();
        let idle: Vec<String> = state
            .pods
            .iter()
            .filter(|(_, p)| p.last_used.elapsed() > self.scale_to_zero)
            .map(|(k, _)| k.clone())
            .collect();
        for name in idle {
            if let Some(mut pod) = state.pods.remove(&name) {
                let _ = pod.child.start_kill();
            }
        }
    }

    async fn ingress(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        self.sweep();
        let host = req
            .headers()
            .get("host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let name = host.split('.').next().unwrap_or("").to_owned();
        let headers = req.headers().clone();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let Some(service) = self.reconciled(&name) else {
            return reply(404, &json!({"error": format!("no route for host {host}")}));
        };
        let Some(revision) = service["status"]["latestReadyRevisionName"]
            .as_str()
            .map(str::to_owned)
        else {
            return reply(503, &json!({"error": "no ready revision"}));
        };
        let port = match self.instance(&name, &revision, &service).await {
            Ok(p) => p,
            Err(e) => return reply(502, &json!({"error": e})),
        };
        let mut forward = Request::post("/")
            .header("host", &host)
            .header("content-type", "application/json");
        if let Some(tp) = headers.get("traceparent") {
            forward = forward.header("traceparent", tp);
        }
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let response = sender
            .send_request(forward.body(Full::new(body)).unwrap())
            .await
            .unwrap();
        let code = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        if let Some(pod) = self.state.lock().unwrap().pods.get_mut(&name) {
            pod.last_used = Instant::now();
        }
        Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(Full::new(bytes))
            .unwrap()
    }

    /// The port of the running instance of `revision`, started if none runs.
    async fn instance(&self, name: &str, revision: &str, service: &Value) -> Result<u16, String> {
        if let Some(pod) = self.state.lock().unwrap().pods.get_mut(name) {
            pod.last_used = Instant::now();
            return Ok(pod.port);
        }
        let dir = self.image_context(name)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let tmp = dir.join(format!("tmp-{revision}-{port}"));
        std::fs::create_dir_all(&tmp).unwrap();
        let container = &service["spec"]["template"]["spec"]["containers"][0];
        let (program, server) = if dir.join("server.py").is_file() {
            ("python3", "server.py")
        } else {
            ("node", "server.js")
        };
        let mut command = tokio::process::Command::new(program);
        command
            .arg(dir.join(server))
            .current_dir(dir.join("code"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &tmp)
            .env("TMPDIR", &tmp)
            .env("PORT", port.to_string())
            .env("SEBS_BIND", "127.0.0.1")
            .env("SEBS_FUNCTION_DIR", dir.join("code"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .kill_on_drop(true)
            .stdout(std::process::Stdio::null());
        for e in container["env"].as_array().into_iter().flatten() {
            command.env(
                e["name"].as_str().unwrap(),
                e["value"].as_str().unwrap_or(""),
            );
        }
        if let Some(v) = std::env::var_os("PYENV_VERSION") {
            command.env("PYENV_VERSION", v);
        }
        let child = command.spawn().map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                return Err(format!(
                    "the instance of {revision} did not listen on {port}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.state.lock().unwrap().pods.insert(
            name.to_owned(),
            Pod {
                revision: revision.to_owned(),
                child,
                port,
                last_used: Instant::now(),
            },
        );
        Ok(port)
    }
}

/// Whether `labels` match a `k=v[,k=v]` selector.
fn matches(labels: &Value, selector: Option<&str>) -> bool {
    selector.is_none_or(|s| {
        s.split(',')
            .filter(|t| !t.is_empty())
            .all(|term| match term.split_once('=') {
                Some((k, v)) => labels[k] == v,
                None => false,
            })
    })
}

fn reply(code: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// A Kubernetes `Status` object.
fn status(code: u16, reason: &str, message: &str) -> Response<Full<Bytes>> {
    reply(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code}),
    )
}
