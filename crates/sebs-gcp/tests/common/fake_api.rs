//! The fake's methods: what each checked request does to its state, and running the code.

use std::collections::HashMap;
use std::io::Write;

use serde_json::{Value, json};

use super::fake::{Fake, Revision, parent_of, rand_u64};

const HARNESS: &str = r#"
import json, os, sys
sys.path.insert(0, os.getcwd())
req = json.load(sys.stdin)
class Request:
    def __init__(self, body, headers):
        self._body, self.headers = body, headers
    def get_json(self, silent=False):
        return self._body
import main
body, status, _ = main.handler(Request(req["body"], req["headers"]))
sys.stdout.write(body)
"#;

const NODE_HARNESS: &str = r#"
const m = require(process.cwd() + '/index.js');
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', async () => {
  const r = JSON.parse(input);
  const req = { body: r.body, get: (h) => r.headers[h] };
  const res = {
    status(code) { this.code = code; return this; },
    json(body) { process.stdout.write(JSON.stringify(body)); if (this.code !== 200) process.exitCode = 1; },
  };
  await m.handler(req, res);
});
"#;

fn short(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_owned()
}

fn env_of(kind: &str, r: &Value) -> HashMap<String, String> {
    let pairs: Vec<(String, String)> = match kind {
        "v1" => obj(&r["environmentVariables"]),
        "v2" => obj(&r["serviceConfig"]["environmentVariables"]),
        _ => r["template"]["containers"][0]["env"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_owned(),
                    e["value"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect(),
    };
    pairs.into_iter().collect()
}

fn obj(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
        .collect()
}

impl Fake {
    pub(crate) async fn dispatch(
        &self,
        api: &str,
        id: &str,
        rest: &str,
        query: &str,
        body: Value,
    ) -> (u16, Value) {
        let name = rest.split_once('/').map(|(_, n)| n).unwrap_or(rest);
        let name = name.split(':').next().unwrap().to_owned();
        let method = id.rsplit('.').next().unwrap();
        if api == "logging" {
            return (200, self.entries(&body));
        }
        if api == "artifacts" {
            return self.repositories(method, &name, query, body);
        }
        match method {
            "generateUploadUrl" => {
                let n = rand_u64();
                let key = format!("{api}-{n:x}");
                let mut answer = json!({"uploadUrl": format!("{}/upload/{key}?X-Goog-Signature=abc", self.base)});
                if api == "v2" {
                    answer["storageSource"] = json!({"bucket": "gcf-v2-uploads", "object": key});
                }
                (200, answer)
            }
            "create" => {
                let full = match api {
                    "v1" => body["name"].as_str().unwrap_or_default().to_owned(),
                    // `name` is the collection (`.../functions`, `.../services`).
                    "v2" => format!("{name}/{}", param(query, "functionId")),
                    _ => format!("{name}/{}", param(query, "serviceId")),
                };
                if self.state.lock().unwrap().resources.contains_key(&full) {
                    return (409, json!("already exists"));
                }
                self.store(api, &full, body).await
            }
            "patch" => self.patch(api, &name, query, body).await,
            "get" if id.contains("operations") => {
                let op = self.state.lock().unwrap().ops.get(&name).cloned();
                op.map(|o| (200, o)).unwrap_or((404, json!("no operation")))
            }
            "get" => {
                let r = self.state.lock().unwrap().resources.get(&name).cloned();
                r.map(|r| (200, r)).unwrap_or((404, json!("not found")))
            }
            "delete" => {
                let mut s = self.state.lock().unwrap();
                if s.resources.remove(&name).is_none() {
                    return (404, json!("not found"));
                }
                s.revisions.remove(&short(&name));
                drop(s);
                (200, self.operation(api, &parent_of(&name), json!({})))
            }
            "list" => {
                let key = if api == "run" {
                    "services"
                } else {
                    "functions"
                };
                let s = self.state.lock().unwrap();
                let items: Vec<Value> = s
                    .resources
                    .iter()
                    .filter(|(n, _)| n.starts_with(&format!("{name}/")) && s.kinds[*n] == api)
                    .map(|(_, r)| r.clone())
                    .collect();
                (200, json!({ key: items }))
            }
            "setIamPolicy" => {
                self.state.lock().unwrap().iam.push(format!("{api} {name}"));
                (200, body["policy"].clone())
            }
            "call" => {
                let exec = format!("exec-{:x}", rand_u64());
                let input: Value = serde_json::from_str(body["data"].as_str().unwrap_or("{}"))
                    .unwrap_or(Value::Null);
                let headers = HashMap::from([("Function-Execution-Id".to_string(), exec.clone())]);
                match self.run_code(&short(&name), &input, headers, &exec).await {
                    Ok(out) => (200, json!({"executionId": exec, "result": out})),
                    Err(e) => (200, json!({"executionId": exec, "error": e})),
                }
            }
            _ => (404, json!(format!("the fake does not serve {id}"))),
        }
    }

    /// Artifact Registry: repositories (created, read, deleted) and their operations.
    fn repositories(&self, method: &str, name: &str, query: &str, mut body: Value) -> (u16, Value) {
        let mut s = self.state.lock().unwrap();
        match method {
            "create" => {
                let full = format!("{name}/{}", param(query, "repositoryId"));
                if s.resources.contains_key(&full) {
                    return (409, json!("already exists"));
                }
                body["name"] = full.clone().into();
                s.resources.insert(full.clone(), body.clone());
                s.kinds.insert(full.clone(), "artifacts");
                drop(s);
                (200, self.operation("artifacts", &parent_of(&full), body))
            }
            "get" if name.contains("/operations/") => s
                .ops
                .get(name)
                .cloned()
                .map(|o| (200, o))
                .unwrap_or((404, json!("no operation"))),
            "get" => s
                .resources
                .get(name)
                .cloned()
                .map(|r| (200, r))
                .unwrap_or((404, json!("not found"))),
            "delete" => {
                if s.resources.remove(name).is_none() {
                    return (404, json!("not found"));
                }
                drop(s);
                (
                    200,
                    self.operation("artifacts", &parent_of(name), json!({})),
                )
            }
            _ => (
                404,
                json!(format!("the fake does not serve repositories.{method}")),
            ),
        }
    }

    /// A patch: the fields of `updateMask` (functions) or the whole resource (Run).
    async fn patch(&self, api: &str, name: &str, query: &str, body: Value) -> (u16, Value) {
        let Some(mut current) = self.state.lock().unwrap().resources.get(name).cloned() else {
            return (404, json!("not found"));
        };
        let mask = param(query, "updateMask");
        if api == "run" || mask.is_empty() {
            current = body;
        } else {
            for field in mask.split(',') {
                let path: Vec<&str> = field.split('.').collect();
                let mut src = &body;
                for p in &path {
                    src = &src[*p];
                }
                let mut dst = &mut current;
                for p in &path {
                    dst = &mut dst[*p];
                }
                *dst = src.clone();
            }
        }
        self.store(api, name, current).await
    }

    fn entries(&self, body: &Value) -> Value {
        let filter = body["filter"].as_str().unwrap_or("");
        let s = self.state.lock().unwrap();
        let entries: Vec<Value> = s
            .logs
            .iter()
            .filter(|e| {
                let labels = &e["resource"]["labels"];
                let n = labels["function_name"]
                    .as_str()
                    .or(labels["service_name"].as_str())
                    .unwrap_or("");
                filter.contains(&format!("\"{n}\""))
            })
            .cloned()
            .collect();
        json!({ "entries": entries })
    }

    /// Store `resource` with its output fields, make a new revision of its code, and answer
    /// with an operation.
    async fn store(&self, api: &str, full: &str, mut r: Value) -> (u16, Value) {
        let name = short(full);
        let url = format!("{}/fn/{name}", self.base);
        match api {
            "v1" => {
                r["name"] = full.into();
                r["status"] = "ACTIVE".into();
                r["httpsTrigger"]["url"] = url.into();
                r["versionId"] = (rand_u64() % 1000).to_string().into();
            }
            "v2" => {
                r["name"] = full.into();
                r["state"] = "ACTIVE".into();
                r["serviceConfig"]["uri"] = url.into();
                r["serviceConfig"]["service"] =
                    format!("{}/services/{name}", parent_of(full)).into();
                r["serviceConfig"]["revision"] = format!("{name}-{:x}", rand_u64()).into();
            }
            _ => {
                r["name"] = full.into();
                r["uri"] = url.into();
                r["latestReadyRevision"] =
                    format!("{full}/revisions/{name}-{:x}", rand_u64()).into();
            }
        }
        let zip = match self.source(api, &r).await {
            Ok(z) => z,
            Err(e) => return (400, json!(e)),
        };
        let dir = tempfile::tempdir().unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        archive.extract(dir.path()).unwrap();
        let revision = Revision {
            dir,
            tmp: tempfile::tempdir().unwrap(),
            env: env_of(api, &r),
        };
        let mut s = self.state.lock().unwrap();
        s.revisions.insert(name, revision);
        s.resources.insert(full.to_owned(), r.clone());
        s.kinds.insert(
            full.to_owned(),
            if api == "run" { "run" } else { api_static(api) },
        );
        drop(s);
        (200, self.operation(api, &parent_of(full), r))
    }

    async fn source(&self, api: &str, r: &Value) -> Result<Vec<u8>, String> {
        let key = match api {
            "v1" => r["sourceUploadUrl"]
                .as_str()
                .and_then(|u| u.split("/upload/").nth(1))
                .map(|k| k.split('?').next().unwrap().to_owned()),
            "v2" => r["buildConfig"]["source"]["storageSource"]["object"]
                .as_str()
                .map(str::to_owned),
            _ => None,
        };
        if let Some(key) = key {
            return self
                .state
                .lock()
                .unwrap()
                .uploads
                .get(&key)
                .cloned()
                .ok_or(format!("no upload {key}"));
        }
        let location = r["buildConfig"]["sourceLocation"]
            .as_str()
            .ok_or("no source")?;
        let (bucket, object) = location
            .strip_prefix("gs://")
            .and_then(|l| l.split_once('/'))
            .ok_or("bad gs:// URL")?;
        let url = format!(
            "{}/download/storage/v1/b/{bucket}/o/{}?alt=media",
            self.gcs,
            object.replace('/', "%2F")
        );
        let out = std::process::Command::new("curl")
            .args(["-sf", &url])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("cannot read {location} from the storage emulator"));
        }
        Ok(out.stdout)
    }

    /// Run the function's current revision once; its body, and a duration record in the logs.
    pub(crate) async fn run_code(
        &self,
        name: &str,
        input: &Value,
        headers: HashMap<String, String>,
        rid: &str,
    ) -> Result<String, String> {
        let (dir, env, kind) = {
            let s = self.state.lock().unwrap();
            let r = s.revisions.get(name).ok_or(format!("no function {name}"))?;
            let kind = s
                .kinds
                .iter()
                .find(|(n, _)| short(n) == name)
                .map(|(_, k)| *k)
                .unwrap_or("v1");
            let mut env = r.env.clone();
            env.insert("TMPDIR".into(), r.tmp.path().display().to_string());
            (r.dir.path().to_owned(), env, kind)
        };
        let started = std::time::Instant::now();
        let request = json!({"body": input, "headers": headers});
        // Python packages have `main.py`, Node.js ones `index.js` (runtimes/gcp).
        let (program, harness) = if dir.join("main.py").is_file() {
            (self.python.clone(), HARNESS)
        } else {
            (self.node.clone(), NODE_HARNESS)
        };
        let flag = if harness == HARNESS { "-c" } else { "-e" };
        let mut child = std::process::Command::new(program)
            .args([flag, harness])
            .current_dir(&dir)
            .env_clear()
            .envs(&env)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(request.to_string().as_bytes())
            .unwrap();
        let out = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .map_err(|e| e.to_string())?;
        let took = started.elapsed();
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        self.log(kind, name, rid, took);
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn log(&self, kind: &str, name: &str, rid: &str, took: std::time::Duration) {
        let entry = if kind == "v1" {
            json!({"logName": "projects/p/logs/cloudfunctions.googleapis.com%2Fcloud-functions",
                "resource": {"type": "cloud_function", "labels": {"function_name": name}},
                "labels": {"execution_id": rid},
                "textPayload": format!("Function execution took {} ms, finished with status code: 200", took.as_millis())})
        } else {
            json!({"logName": "projects/p/logs/run.googleapis.com%2Frequests",
                "resource": {"type": "cloud_run_revision", "labels": {"service_name": name}},
                "trace": format!("projects/p/traces/{rid}"),
                "httpRequest": {"latency": format!("{:.6}s", took.as_secs_f64()), "status": 200}})
        };
        self.state.lock().unwrap().logs.push(entry);
    }
}

fn api_static(api: &str) -> &'static str {
    match api {
        "v1" => "v1",
        _ => "v2",
    }
}

fn param(query: &str, key: &str) -> String {
    query
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{key}=")))
        .unwrap_or("")
        .replace("%2C", ",")
}
