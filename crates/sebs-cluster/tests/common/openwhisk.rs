//! A fake OpenWhisk controller for the tests: every request to `/api/v1` is checked against the
//! committed subset of OpenWhisk's published API description (`data/openwhisk-apiv1-subset.json`:
//! method, path, query parameters, body schema) and every answer against the documented response
//! of its status. Deviations are recorded (`violations`) and answered 400, so a test sees both.
//!
//! Actions really run: a zip action is extracted into a "container" per action version and its
//! entry point (`__main__.py`'s `main`, or the export `main` of package.json's `main`) is called
//! with the parameters, in a process with a scrubbed environment and the container's own
//! temporary directory, so warm and cold containers behave as on OpenWhisk (a new version gets
//! new containers). Outcomes follow the controller: a result with `error` is an application
//! error (HTTP 502 on a blocking invocation), an exception an action developer error; a
//! non-blocking invocation, or a blocking one past the wait limit, answers 202 with the id.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::schema;

const SPEC: &str = include_str!("../data/openwhisk-apiv1-subset.json");
const MARKER: &str = "__SEBS_FAKE_RESULT__";

struct Action {
    doc: Value,
    zip: Vec<u8>,
    version: u64,
}

#[derive(Default)]
struct State {
    actions: BTreeMap<String, Action>,
    activations: HashMap<String, Value>,
    violations: Vec<String>,
    log: Vec<String>,
    /// Blocking invocations still to answer 202 (the controller stopped waiting).
    accept_next: u32,
    counter: u64,
}

/// The fake controller.
#[derive(Clone)]
pub struct FakeOpenWhisk {
    state: Arc<Mutex<State>>,
    spec: Arc<Value>,
    auth: String,
    root: PathBuf,
    /// One activation runs at a time (the tests invoke sequentially).
    exec: Arc<tokio::sync::Mutex<()>>,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl FakeOpenWhisk {
    /// Start on 127.0.0.1 (a free port); `auth` is the `uuid:key` it accepts; containers live
    /// under `root`.
    pub async fn start(auth: &str, root: &Path) -> FakeOpenWhisk {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeOpenWhisk {
            state: Arc::default(),
            spec: Arc::new(serde_json::from_str(SPEC).unwrap()),
            auth: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(auth)
            ),
            root: root.to_owned(),
            exec: Arc::default(),
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

    /// Requests that deviated from the API description, and answers that did.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// `METHOD path?query` of every request so far.
    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    /// Answer the next `n` blocking invocations with 202, as the controller does past its wait.
    pub fn accept_next(&self, n: u32) {
        self.state.lock().unwrap().accept_next = n;
    }

    /// The names of the actions that exist.
    pub fn actions(&self) -> Vec<String> {
        self.state.lock().unwrap().actions.keys().cloned().collect()
    }

    /// The stored document of an action.
    pub fn action(&self, name: &str) -> Option<Value> {
        self.state
            .lock()
            .unwrap()
            .actions
            .get(name)
            .map(|a| a.doc.clone())
    }

    async fn handle(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().as_str().to_owned();
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or("").to_owned();
        let headers = req.headers().clone();
        let bytes = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        self.state
            .lock()
            .unwrap()
            .log
            .push(format!("{method} {path}?{query}"));
        let body: Option<Value> = if bytes.is_empty() {
            None
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(v) => Some(v),
                Err(e) => {
                    return self.reject(format!("{method} {path}: the body is not JSON: {e}"));
                }
            }
        };
        if let Some(rest) = path.strip_prefix("/api/v1/web/") {
            return self.web(&method, rest, &headers, body).await;
        }
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(self.auth.as_str()) {
            return reply(
                401,
                &json!({"error": "The supplied authentication is invalid."}),
            );
        }
        if body.is_some()
            && headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json")
        {
            return self.reject(format!(
                "{method} {path}: a JSON body without content-type application/json"
            ));
        }
        let spec = self.spec.clone();
        let op = match schema::operation(&spec, &method, &path) {
            Ok(op) => op,
            Err(e) => return self.reject(e),
        };
        let pairs = schema::query_pairs(&query);
        if let Err(e) = schema::check_request(&spec, &op, &pairs, body.as_ref()) {
            return self.reject(format!("{method} {path}: {e}"));
        }
        let segments: Vec<String> = path.split('/').map(schema::decode).collect();
        let q = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let (status, answer) = match op.op["operationId"].as_str().unwrap_or("") {
            "getAllNamespaces" => (200, json!(["guest"])),
            "getAllActions" => (200, self.list()),
            "getActionByName" => self.get(&segments[6]),
            "updateAction" => self.put(&segments[6], q("overwrite") == Some("true"), body.unwrap()),
            "deleteAction" => self.delete(&segments[6]),
            "invokeAction" => {
                self.invoke(
                    &segments[6],
                    q("blocking") == Some("true"),
                    q("result") == Some("true"),
                    body.unwrap(),
                )
                .await
            }
            "getActivationById" => match self.state.lock().unwrap().activations.get(&segments[6]) {
                Some(a) => (200, a.clone()),
                None => (
                    404,
                    json!({"error": "The requested resource does not exist."}),
                ),
            },
            other => return self.reject(format!("the fake does not serve {other}")),
        };
        if let Err(e) = schema::check_response(&spec, &op, status, &answer) {
            self.state
                .lock()
                .unwrap()
                .violations
                .push(format!("answer to {method} {path}: {e}"));
        }
        reply(status, &answer)
    }

    fn reject(&self, why: String) -> Response<Full<Bytes>> {
        self.state.lock().unwrap().violations.push(why.clone());
        reply(400, &json!({"error": why}))
    }

    fn list(&self) -> Value {
        let state = self.state.lock().unwrap();
        Value::Array(
            state
                .actions
                .values()
                .map(|a| json!({"namespace": "guest", "name": a.doc["name"], "version": a.doc["version"], "publish": false}))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> (u16, Value) {
        match self.state.lock().unwrap().actions.get(name) {
            Some(a) => (200, a.doc.clone()),
            None => (
                404,
                json!({"error": "The requested resource does not exist."}),
            ),
        }
    }

    fn delete(&self, name: &str) -> (u16, Value) {
        match self.state.lock().unwrap().actions.remove(name) {
            Some(a) => (200, a.doc),
            None => (
                404,
                json!({"error": "The requested resource does not exist."}),
            ),
        }
    }

    /// Create, or (with overwrite) update: fields the body leaves out keep their values.
    fn put(&self, name: &str, overwrite: bool, body: Value) -> (u16, Value) {
        let mut state = self.state.lock().unwrap();
        let existing = state.actions.get(name);
        if existing.is_some() && !overwrite {
            return (409, json!({"error": "resource already exists"}));
        }
        let (mut doc, mut zip, version) = match existing {
            Some(a) => (a.doc.clone(), a.zip.clone(), a.version + 1),
            None => {
                if body.get("exec").is_none() {
                    return (400, json!({"error": "exec undefined"}));
                }
                (
                    json!({"namespace": "guest", "name": name, "publish": false, "parameters": [], "annotations": [],
                        "limits": {"timeout": 60000, "memory": 256}}),
                    Vec::new(),
                    1,
                )
            }
        };
        if let Some(exec) = body.get("exec") {
            let code = exec["code"].as_str().unwrap_or("");
            match base64::engine::general_purpose::STANDARD.decode(code) {
                Ok(bytes) if zip::ZipArchive::new(std::io::Cursor::new(&bytes)).is_ok() => {
                    zip = bytes
                }
                _ => return (400, json!({"error": "the action code is not a base64 zip"})),
            }
            let mut stored = exec.clone();
            stored.as_object_mut().unwrap().remove("code");
            doc["exec"] = stored;
        }
        for key in ["parameters", "annotations", "publish"] {
            if let Some(v) = body.get(key) {
                doc[key] = v.clone();
            }
        }
        if let Some(limits) = body["limits"].as_object() {
            for (k, v) in limits {
                doc["limits"][k] = v.clone();
            }
        }
        doc["version"] = json!(format!("0.0.{version}"));
        state.actions.insert(
            name.to_owned(),
            Action {
                doc: doc.clone(),
                zip,
                version,
            },
        );
        // The controller answers with the action; the description documents an `ItemId`.
        doc["id"] = json!(format!("guest/{name}"));
        (200, doc)
    }

    async fn invoke(
        &self,
        name: &str,
        blocking: bool,
        result_only: bool,
        payload: Value,
    ) -> (u16, Value) {
        let accepted = {
            let mut state = self.state.lock().unwrap();
            if !state.actions.contains_key(name) {
                return (
                    404,
                    json!({"error": "The requested resource does not exist."}),
                );
            }
            state.counter += 1;
            let past_wait = blocking && state.accept_next > 0;
            if past_wait {
                state.accept_next -= 1;
            }
            !blocking || past_wait
        };
        let id = self.new_id();
        if accepted {
            let fake = self.clone();
            let (name, id2) = (name.to_owned(), id.clone());
            tokio::spawn(async move { fake.activate(&name, &id2, payload, None).await });
            return (202, json!({"activationId": id, "id": id}));
        }
        let record = self.activate(name, &id, payload, None).await;
        let status = if record["response"]["success"] == true {
            200
        } else {
            502
        };
        if result_only {
            return (status, record["response"]["result"].clone());
        }
        (status, record)
    }

    fn new_id(&self) -> String {
        let mut state = self.state.lock().unwrap();
        state.counter += 1;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("{:016x}{:016x}", state.counter, nanos as u64)
    }

    /// Run the action once and store its activation record.
    async fn activate(&self, name: &str, id: &str, payload: Value, web: Option<Value>) -> Value {
        let queued = std::time::Instant::now();
        let _one = self.exec.lock().await;
        let wait_ms = queued.elapsed().as_millis() as u64;
        let (doc, zip, version) = {
            let state = self.state.lock().unwrap();
            let a = &state.actions[name];
            (a.doc.clone(), a.zip.clone(), a.version)
        };
        let mut args = payload.as_object().cloned().unwrap_or_default();
        if let Some(Value::Object(extra)) = web {
            args.extend(extra);
        }
        // Bound parameters; `final` ones cannot be overridden by the request.
        for p in doc["parameters"].as_array().into_iter().flatten() {
            let key = p["key"].as_str().unwrap().to_owned();
            if !args.contains_key(&key) || annotated(&doc, "final") {
                args.insert(key, p["value"].clone());
            }
        }
        let container = self.root.join(format!("{name}-{version}"));
        let start_ms = now_ms();
        let cold = !container.exists();
        if cold {
            extract(&zip, &container.join("code"));
            std::fs::create_dir_all(container.join("tmp")).unwrap();
        }
        let init_ms = now_ms() - start_ms;
        let (status, result) = run(&container, &doc, id, &Value::Object(args)).await;
        let end_ms = now_ms();
        let mut annotations = vec![
            json!({"key": "path", "value": format!("guest/{name}")}),
            json!({"key": "waitTime", "value": wait_ms}),
            json!({"key": "kind", "value": doc["exec"]["kind"]}),
            json!({"key": "limits", "value": doc["limits"]}),
        ];
        if cold {
            annotations.push(json!({"key": "initTime", "value": init_ms}));
        }
        let success = status == "success";
        let record = json!({
            "namespace": "guest", "name": name, "version": doc["version"], "publish": false,
            "subject": "guest", "activationId": id,
            "start": start_ms.to_string(), "end": end_ms.to_string(), "duration": end_ms - start_ms,
            "result": {"status": status, "value": result},
            "response": {"status": status, "statusCode": if success { 0 } else { 1 }, "success": success, "result": result},
            "logs": "", "annotations": annotations,
        });
        self.state
            .lock()
            .unwrap()
            .activations
            .insert(id.to_owned(), record.clone());
        record
    }

    /// A web action: `POST /api/v1/web/{namespace}/{package}/{action}.json`.
    async fn web(
        &self,
        method: &str,
        rest: &str,
        headers: &hyper::HeaderMap,
        body: Option<Value>,
    ) -> Response<Full<Bytes>> {
        let parts: Vec<String> = rest.split('/').map(schema::decode).collect();
        let [ns, package, action] = parts.as_slice() else {
            return self.reject(format!("web path {rest} is not namespace/package/action"));
        };
        let Some(name) = action.strip_suffix(".json") else {
            return self.reject(format!("web action {action} without the .json extension"));
        };
        if ns != "guest" || package != "default" {
            return self.reject(format!(
                "web action path {rest}: namespace must be named (guest) and the package `default`"
            ));
        }
        let exported = self
            .state
            .lock()
            .unwrap()
            .actions
            .get(name)
            .map(|a| annotated(&a.doc, "web-export"));
        if exported != Some(true) {
            return reply(
                404,
                &json!({"error": "The requested resource does not exist."}),
            );
        }
        let ow_headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or(""))))
            .collect();
        let extra = json!({"__ow_method": method.to_ascii_lowercase(), "__ow_headers": ow_headers, "__ow_path": ""});
        let id = self.new_id();
        let record = self
            .activate(name, &id, body.unwrap_or(json!({})), Some(extra))
            .await;
        let result = &record["response"]["result"];
        let mut response = if record["response"]["success"] == true {
            reply(200, result)
        } else {
            reply(502, &json!({"error": result["error"], "code": id}))
        };
        response
            .headers_mut()
            .insert("x-openwhisk-activation-id", id.parse().unwrap());
        response
    }
}

fn annotated(doc: &Value, key: &str) -> bool {
    doc["annotations"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x["key"] == key && x["value"] == true))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn reply(status: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn extract(zip: &[u8], to: &Path) {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let path = to.join(file.enclosed_name().unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

const PYTHON_RUNNER: &str = r#"
import json, runpy, sys, traceback
sys.path.insert(0, ".")
args = json.load(sys.stdin)
try:
    main = runpy.run_path("__main__.py", run_name="__openwhisk__")["main"]
    result = main(args)
    status = "application error" if isinstance(result, dict) and "error" in result else "success"
except Exception as e:
    traceback.print_exc()
    result, status = {"error": "An error has occurred: %s" % e}, "action developer error"
sys.stdout.write("\n" + MARKER + json.dumps({"status": status, "result": result}) + "\n")
"#;

const NODE_RUNNER: &str = r#"
const path = require('path');
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', async () => {
  let status = 'success', result;
  try {
    const main = require(path.resolve(require(path.resolve('package.json')).main)).main;
    result = await main(JSON.parse(input));
    if (result && result.error !== undefined) status = 'application error';
  } catch (e) {
    console.error(e);
    status = 'action developer error';
    result = { error: 'An error has occurred: ' + e };
  }
  process.stdout.write('\n' + MARKER + JSON.stringify({ status, result }) + '\n');
});
"#;

/// Run the container's entry point once with `args`: `(status, result)`.
async fn run(container: &Path, doc: &Value, id: &str, args: &Value) -> (String, Value) {
    let code = container.join("code");
    let kind = doc["exec"]["kind"].as_str().unwrap_or("");
    let python =
        kind.starts_with("python") || (kind == "blackbox" && code.join("__main__.py").exists());
    let mut command = if python {
        let mut c = tokio::process::Command::new("python3");
        c.arg("-c")
            .arg(PYTHON_RUNNER.replace("MARKER", &format!("{MARKER:?}")));
        c
    } else {
        let mut c = tokio::process::Command::new("node");
        c.arg("-e")
            .arg(NODE_RUNNER.replace("MARKER", &format!("{MARKER:?}")));
        c
    };
    let tmp = container.join("tmp");
    command
        .current_dir(&code)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &tmp)
        .env("TMPDIR", &tmp)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("__OW_ACTIVATION_ID", id)
        .env(
            "__OW_ACTION_NAME",
            format!("/guest/{}", doc["name"].as_str().unwrap_or("")),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(pyenv) = std::env::var_os("PYENV_VERSION") {
        command.env("PYENV_VERSION", pyenv);
    }
    let mut child = command.spawn().expect("the fake runs python3 and node");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(args.to_string().as_bytes()).await.unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().rev().find_map(|l| l.strip_prefix(MARKER)) {
        Some(line) => {
            let v: Value = serde_json::from_str(line).unwrap();
            (
                v["status"].as_str().unwrap().to_owned(),
                v["result"].clone(),
            )
        }
        None => (
            "action developer error".into(),
            json!({"error": format!("The action did not produce a valid response: {}", String::from_utf8_lossy(&out.stderr))}),
        ),
    }
}
