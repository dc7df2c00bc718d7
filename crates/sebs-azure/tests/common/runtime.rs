//! The fake's data planes: Kudu's zip deploy, the function apps (their code runs in worker
//! processes, tests/common/azure_worker.py with the real `azure.functions` library, or
//! azure_worker.js), and Application Insights' query API over the executions they served.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::fake::{Execution, FakeAzure, arm_error, reply, with_headers};

const PYTHON_WORKER: &str = include_str!("azure_worker.py");
const NODE_WORKER: &str = include_str!("azure_worker.js");
/// Prefix of a worker's answer lines (record separator, then a tag).
const MARKER: &str = "\x1esebs-azure-worker ";

/// One running instance of an app (killed when dropped).
pub struct Worker {
    _child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: BufReader<tokio::process::ChildStdout>,
}

/// Instances by app, each app's deployed code, deployments in progress.
#[derive(Default)]
pub struct Workers {
    running: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Worker>>>>,
    code: std::sync::Mutex<HashMap<String, PathBuf>>,
    deployments: std::sync::Mutex<HashMap<String, u32>>,
    started: std::sync::atomic::AtomicU64,
}

impl Workers {
    /// Restart `app`: its instance goes (once a request in flight ends).
    pub fn restart(&self, app: &str) {
        self.running.lock().unwrap().remove(app);
    }

    /// Instances started so far.
    pub fn started(&self) -> u64 {
        self.started.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn code(&self, app: &str) -> Option<PathBuf> {
        self.code.lock().unwrap().get(app).cloned()
    }
}

/// Functions the host of `app` loads: deployed code whose entry point fits the app's
/// `FUNCTIONS_WORKER_RUNTIME`.
pub fn loaded_functions(fake: &FakeAzure, app: &str) -> Vec<String> {
    let Some(dir) = fake.workers.code(app) else {
        return vec![];
    };
    let runtime = fake.settings(app).get("FUNCTIONS_WORKER_RUNTIME").cloned();
    let entry = match runtime.as_deref() {
        Some("python") => "__init__.py",
        Some("node") => "index.js",
        _ => return vec![],
    };
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        if e.path().join("function.json").is_file() && e.path().join(entry).is_file() {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

/// Kudu: `POST {app}/api/zipdeploy` and `GET {app}/api/deployments/{id}`.
pub fn kudu(
    fake: &FakeAzure,
    method: &str,
    rest: &str,
    headers: &hyper::HeaderMap,
    query: &HashMap<String, String>,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let (app, route) = rest.split_once('/').unwrap_or((rest, ""));
    if !fake.state.lock().unwrap().keys.contains_key(app) {
        return reply(404, &json!({"Message": format!("no site {app}")}));
    }
    if let Some(id) = route.strip_prefix("api/deployments/") {
        let mut deployments = fake.workers.deployments.lock().unwrap();
        let Some(polls) = deployments.get_mut(id) else {
            return reply(404, &json!({"Message": "no such deployment"}));
        };
        if *polls > 0 {
            *polls -= 1;
            return reply(
                202,
                &json!({"id": id, "status": 1, "status_text": "Building", "complete": false}),
            );
        }
        return reply(
            200,
            &json!({"id": id, "status": 4, "status_text": "", "complete": true}),
        );
    }
    let spec = &fake.spec["data-plane"]["zipdeploy"];
    if method != "POST" || route != "api/zipdeploy" {
        return fake.violation(format!("Kudu: {method} {route} is not zip deploy"));
    }
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    if content_type != spec["content-type"].as_str()
        || query.get("isAsync").map(String::as_str) != Some("true")
    {
        return fake.violation(format!("zip deploy with {content_type:?}, {query:?}"));
    }
    let dir = fake.root.join(format!("{app}-{}", fake.next_id()));
    if let Err(e) = extract(&body, &dir).and_then(|_| check_layout(&dir)) {
        return fake.violation(format!("zip deploy of {app}: {e}"));
    }
    fake.workers
        .code
        .lock()
        .unwrap()
        .insert(app.to_owned(), dir);
    fake.workers.restart(app);
    let id = fake.next_id();
    fake.workers
        .deployments
        .lock()
        .unwrap()
        .insert(id.clone(), 1);
    let location = format!("{}/scm/{app}/api/deployments/{id}", fake.url);
    with_headers(reply(202, &Value::Null), &[("location", &location)])
}

fn extract(zip: &[u8], to: &Path) -> Result<(), String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(|e| e.to_string())?;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| e.to_string())?;
        let path = to.join(file.enclosed_name().ok_or("an entry escapes the app")?);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        std::fs::write(path, bytes).unwrap();
    }
    Ok(())
}

/// host.json (version 2.0) and an HTTP function with a function-level key, as the Functions
/// host needs them.
fn check_layout(dir: &Path) -> Result<(), String> {
    let read = |p: &str| -> Result<Value, String> {
        serde_json::from_slice(&std::fs::read(dir.join(p)).map_err(|e| format!("{p}: {e}"))?)
            .map_err(|e| format!("{p}: {e}"))
    };
    if read("host.json")?["version"] != "2.0" {
        return Err("host.json is not version 2.0".into());
    }
    let f = read("sebs_http/function.json")?;
    let bindings = f["bindings"]
        .as_array()
        .ok_or("function.json has no bindings")?;
    let trigger = bindings
        .iter()
        .find(|b| b["type"] == "httpTrigger")
        .ok_or("no httpTrigger")?;
    if trigger["authLevel"] != "function" || trigger["direction"] != "in" {
        return Err(format!("the HTTP trigger is {trigger}"));
    }
    if !bindings
        .iter()
        .any(|b| b["type"] == "http" && b["direction"] == "out")
    {
        return Err("no http output binding".into());
    }
    let script = f["scriptFile"].as_str().ok_or("no scriptFile")?;
    if !dir.join("sebs_http").join(script).is_file() {
        return Err(format!("scriptFile {script} is not in sebs_http/"));
    }
    Ok(())
}

/// `POST {app}/api/{function}` with the function key.
pub async fn invoke(
    fake: &FakeAzure,
    rest: &str,
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let (app, function) = rest.split_once("/api/").unwrap_or((rest, ""));
    if !loaded_functions(fake, app).iter().any(|f| f == function) {
        return reply(404, &Value::Null);
    }
    let key = fake.state.lock().unwrap().keys.get(app).cloned();
    let given = headers.get("x-functions-key").and_then(|v| v.to_str().ok());
    if key.is_none() || given != key.as_deref() {
        return reply(401, &Value::Null);
    }
    let worker = match instance(fake, app).await {
        Ok(w) => w,
        Err(e) => return arm_error(500, "WorkerStart", &e),
    };
    let id = fake.next_id();
    let mut forwarded = json!({"content-type": "application/json"});
    if let Some(t) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
        forwarded["traceparent"] = json!(t);
    }
    let request = json!({"url": format!("{}/sites/{rest}", fake.url), "headers": forwarded,
        "body": String::from_utf8_lossy(body), "id": id});
    let start = Instant::now();
    let answer = exchange(&worker, &request).await;
    let duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    let (status, body) = match answer {
        Ok(a) => (
            a["status"].as_u64().unwrap_or(500) as u16,
            a["body"].as_str().unwrap_or("").to_owned(),
        ),
        Err(e) => {
            fake.workers.restart(app);
            eprintln!("worker of {app} failed: {e}");
            (500, String::new())
        }
    };
    fake.state.lock().unwrap().executions.push(Execution {
        app: app.to_owned(),
        id,
        duration_ms,
        status,
    });
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

async fn exchange(worker: &tokio::sync::Mutex<Worker>, request: &Value) -> Result<Value, String> {
    let mut w = worker.lock().await;
    let line = format!("{request}\n");
    w.stdin
        .write_all(line.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    w.stdin.flush().await.map_err(|e| e.to_string())?;
    loop {
        let mut out = String::new();
        if w.stdout
            .read_line(&mut out)
            .await
            .map_err(|e| e.to_string())?
            == 0
        {
            return Err("the worker exited".into());
        }
        if let Some(json) = out.trim_end().strip_prefix(MARKER) {
            return serde_json::from_str(json).map_err(|e| e.to_string());
        }
    }
}

/// The running instance of `app`, started if there is none (a cold start: a fresh process
/// with a fresh temporary directory and only the app settings as its environment).
async fn instance(fake: &FakeAzure, app: &str) -> Result<Arc<tokio::sync::Mutex<Worker>>, String> {
    if let Some(w) = fake.workers.running.lock().unwrap().get(app) {
        return Ok(w.clone());
    }
    let dir = fake.workers.code(app).ok_or("no code deployed")?;
    let settings = fake.settings(app);
    let n = fake
        .workers
        .started
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let tmp = fake.root.join(format!("tmp-{app}-{n}"));
    std::fs::create_dir_all(&tmp).unwrap();
    let python = settings.get("FUNCTIONS_WORKER_RUNTIME").map(String::as_str) == Some("python");
    let (program, script, source) = if python {
        ("python3", "azure_worker.py", PYTHON_WORKER)
    } else {
        ("node", "azure_worker.js", NODE_WORKER)
    };
    let script_path = fake.root.join(script);
    std::fs::write(&script_path, source).unwrap();
    let log = std::fs::File::create(fake.root.join(format!("worker-{app}-{n}.log"))).unwrap();
    let mut child = tokio::process::Command::new(program)
        .arg(&script_path)
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &tmp)
        .env("TMPDIR", &tmp)
        .envs(&settings)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let worker = Worker {
        stdin: child.stdin.take().unwrap(),
        stdout: BufReader::new(child.stdout.take().unwrap()),
        _child: child,
    };
    let worker = Arc::new(tokio::sync::Mutex::new(worker));
    fake.workers
        .running
        .lock()
        .unwrap()
        .insert(app.to_owned(), worker.clone());
    Ok(worker)
}

/// `POST v1/apps/{appId}/query`: the `requests` rows of the executions the query names.
pub fn query(fake: &FakeAzure, rest: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let Some(app_id) = rest
        .strip_prefix("v1/apps/")
        .and_then(|r| r.strip_suffix("/query"))
    else {
        return fake.violation(format!("insights: {rest} is not the query API"));
    };
    let known = fake
        .state
        .lock()
        .unwrap()
        .resources
        .values()
        .any(|r| r["properties"]["AppId"] == app_id);
    if !known {
        return reply(
            404,
            &json!({"error": {"code": "PathNotFoundError", "message": "no such application"}}),
        );
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return fake.violation("insights: the body is not JSON".into());
    };
    let Some(q) = request["query"].as_str() else {
        return fake.violation("insights: no query".into());
    };
    let between = |start: &str, end: &str| -> Option<String> {
        let i = q.find(start)? + start.len();
        Some(q[i..i + q[i..].find(end)?].to_owned())
    };
    let (Some(app), Some(ids)) = (
        between("cloud_RoleName =~ '", "'"),
        between("where invocation in (", ")"),
    ) else {
        return fake.violation(format!(
            "insights: a query the fake does not understand: {q}"
        ));
    };
    if !q.starts_with("requests ") || !q.contains("customDimensions['InvocationId']") {
        return fake.violation(format!("insights: not a query of the requests table: {q}"));
    }
    let wanted: Vec<String> = ids
        .split(',')
        .map(|s| s.trim().trim_matches('\'').to_owned())
        .collect();
    let rows: Vec<Value> = fake
        .executions()
        .into_iter()
        .filter(|e| e.app == app && wanted.contains(&e.id))
        .map(|e| json!([e.id, e.duration_ms, e.status < 400, e.status.to_string()]))
        .collect();
    reply(
        200,
        &json!({"tables": [{"name": "PrimaryResult", "columns": [
        {"name": "invocation", "type": "string"}, {"name": "duration", "type": "real"},
        {"name": "success", "type": "bool"}, {"name": "resultCode", "type": "string"}], "rows": rows}]}),
    )
}
