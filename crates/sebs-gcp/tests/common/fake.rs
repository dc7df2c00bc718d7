//! A fake Google control plane on 127.0.0.1: Cloud Functions v1/v2 (under `/functions`),
//! Cloud Run v2 (`/run`), Cloud Logging (`/logging`), Artifact Registry (`/artifacts`) and the OAuth token endpoint (`/token`).
//! Every API request is checked against Google's discovery document (method, path, query,
//! body) and every answer against the method's response schema; violations are kept and the
//! request refused with Google's error shape. Operations finish on their first poll. Deployed
//! code really runs: the uploaded zip (or the Run source fetched from the Cloud Storage
//! emulator) is unpacked per revision and `main.handler(request)` runs in a fresh Python
//! process with a scrubbed environment and the revision's own TMPDIR, so SeBS's cold-start
//! marker behaves as on Google (a new revision, new instances).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::discovery::Discovery;

pub const TOKEN: &str = "fake-access-token-7f3a";

pub struct Revision {
    pub dir: tempfile::TempDir,
    pub tmp: tempfile::TempDir,
    pub env: HashMap<String, String>,
}

#[derive(Default)]
pub struct State {
    pub resources: HashMap<String, Value>,
    pub revisions: HashMap<String, Revision>,
    pub kinds: HashMap<String, &'static str>,
    pub ops: HashMap<String, Value>,
    pub uploads: HashMap<String, Vec<u8>>,
    pub logs: Vec<Value>,
    pub calls: Vec<String>,
    pub violations: Vec<String>,
    pub iam: Vec<String>,
    pub tokens_issued: usize,
    /// The service account's public key (PEM): token requests must be signed with its key.
    pub public_key: Option<PathBuf>,
    counter: u64,
}

pub struct Fake {
    pub base: String,
    pub state: Arc<Mutex<State>>,
    pub gcs: String,
    apis: Arc<HashMap<&'static str, Discovery>>,
    pub python: PathBuf,
    pub node: PathBuf,
}

type Shared = Arc<Fake>;

pub async fn start(docs: &std::path::Path, gcs: &str, python: PathBuf) -> Shared {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut apis = HashMap::new();
    apis.insert("v1", Discovery::load(docs, "cloudfunctions.v1.json"));
    apis.insert("v2", Discovery::load(docs, "cloudfunctions.v2.json"));
    apis.insert("run", Discovery::load(docs, "run.v2.json"));
    apis.insert("logging", Discovery::load(docs, "logging.v2.json"));
    apis.insert(
        "artifacts",
        Discovery::load(docs, "artifactregistry.v1.json"),
    );
    let fake = Arc::new(Fake {
        base: format!("http://127.0.0.1:{port}"),
        state: Arc::new(Mutex::new(State::default())),
        gcs: gcs.to_owned(),
        apis: Arc::new(apis),
        python,
        node: super::which("node"),
    });
    let shared = fake.clone();
    let app = axum::Router::new().fallback(move |m: Method, u: Uri, h: HeaderMap, b: Bytes| {
        let f = shared.clone();
        async move { f.handle(m, u, h, b).await }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    fake
}

fn error(status: u16, message: &str) -> Response {
    let code = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        _ => "INTERNAL",
    };
    let body = json!({"error": {"code": status, "message": message, "status": code}});
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

impl Fake {
    async fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let path = uri.path().to_owned();
        let query = uri.query().unwrap_or("").to_owned();
        if path == "/token" {
            return self.token(&body);
        }
        if let Some(id) = path.strip_prefix("/upload/") {
            return self.upload(id, &headers, body);
        }
        if let Some(name) = path.strip_prefix("/fn/") {
            let mut h = HashMap::new();
            let rid = format!("{:016x}", rand_u64());
            h.insert("X-Cloud-Trace-Context".to_string(), format!("{rid}/1;o=1"));
            let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            return match self.run_code(name, &input, h, &rid).await {
                Ok(out) => (StatusCode::OK, out).into_response(),
                Err(e) => error(500, &e),
            };
        }
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
        if bearer != Some(&format!("Bearer {TOKEN}")) {
            return error(401, "Request had invalid authentication credentials.");
        }
        let (api, rest) = match path.split_once('/').and_then(|(_, r)| r.split_once('/')) {
            Some(("functions", rest)) if rest.starts_with("v1/") => ("v1", rest.to_owned()),
            Some(("functions", rest)) => ("v2", rest.to_owned()),
            Some(("run", rest)) => ("run", rest.to_owned()),
            Some(("logging", rest)) => ("logging", rest.to_owned()),
            Some(("artifacts", rest)) => ("artifacts", rest.to_owned()),
            _ => return error(404, &format!("no API at {path}")),
        };
        let doc = &self.apis[api];
        let parsed: Option<Value> = if body.is_empty() {
            None
        } else {
            serde_json::from_slice(&body).ok()
        };
        let checked = doc
            .method(method.as_str(), &rest)
            .and_then(|m| doc.check_request(&m, &query, parsed.as_ref()).map(|_| m));
        let m = match checked {
            Ok(m) => m,
            Err(e) => {
                self.state.lock().unwrap().violations.push(e.clone());
                return error(400, &e);
            }
        };
        let id = m["id"].as_str().unwrap_or_default().to_owned();
        self.state.lock().unwrap().calls.push(id.clone());
        let (status, answer) = self
            .dispatch(api, &id, &rest, &query, parsed.unwrap_or(Value::Null))
            .await;
        if status == 200
            && let Err(e) = doc.check_response(&m, &answer)
        {
            self.state
                .lock()
                .unwrap()
                .violations
                .push(format!("fake answer: {e}"));
        }
        if status != 200 {
            return error(status, answer.as_str().unwrap_or("error"));
        }
        (StatusCode::OK, axum::Json(answer)).into_response()
    }

    fn token(&self, body: &[u8]) -> Response {
        let form = String::from_utf8_lossy(body);
        let assertion = form
            .split('&')
            .find_map(|p| p.strip_prefix("assertion="))
            .unwrap_or("");
        let grant =
            form.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
        let key = self.state.lock().unwrap().public_key.clone();
        let verified = key.is_some_and(|k| verify_rs256(assertion, &k));
        if !grant || !verified {
            let body =
                json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."});
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
        self.state.lock().unwrap().tokens_issued += 1;
        axum::Json(json!({"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"}))
            .into_response()
    }

    fn upload(&self, id: &str, headers: &HeaderMap, body: Bytes) -> Response {
        let ct = headers.get("content-type").and_then(|v| v.to_str().ok());
        if ct != Some("application/zip") {
            return error(400, "uploads must be application/zip");
        }
        let v1 = id.starts_with("v1-");
        if v1 && headers.get("x-goog-content-length-range").is_none() {
            return error(400, "the signed v1 URL needs x-goog-content-length-range");
        }
        self.state
            .lock()
            .unwrap()
            .uploads
            .insert(id.to_owned(), body.to_vec());
        StatusCode::OK.into_response()
    }

    pub fn operation(&self, api: &str, parent: &str, response: Value) -> Value {
        let mut s = self.state.lock().unwrap();
        s.counter += 1;
        // 1st gen's operations are `operations/<id>`; v2's live under the location.
        let name = if api == "v1" {
            format!("operations/op-{}", s.counter)
        } else {
            format!("{parent}/operations/op-{}", s.counter)
        };
        let mut op = json!({"name": name, "done": true, "response": response});
        if api == "v1" || api == "v2" {
            op["response"]["@type"] = json!("type.googleapis.com/google.cloud.functions.Function");
        }
        s.ops.insert(name.clone(), op);
        json!({"name": name, "done": false})
    }
}

/// Whether `jwt` is an RS256 JWT for Google's token endpoint signed by the key whose public half
/// is `public_key`: header, claims (iss, scope, aud, iat, exp) and signature (openssl).
fn verify_rs256(jwt: &str, public_key: &std::path::Path) -> bool {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return false;
    };
    let decode = |p: &str| {
        b64.decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    };
    let (Some(h), Some(c)) = (decode(header), decode(claims)) else {
        return false;
    };
    let claims_ok = c["iss"].as_str().is_some_and(|i| i.contains('@'))
        && c["scope"] == "https://www.googleapis.com/auth/cloud-platform"
        && c["aud"].as_str().is_some_and(|a| a.ends_with("/token"))
        && c["exp"]
            .as_i64()
            .zip(c["iat"].as_i64())
            .is_some_and(|(e, i)| e - i == 3600);
    let Ok(sig) = b64.decode(signature) else {
        return false;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input"), format!("{header}.{claims}")).unwrap();
    std::fs::write(dir.path().join("sig"), sig).unwrap();
    let checked = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(public_key)
        .arg("-signature")
        .arg(dir.path().join("sig"))
        .arg(dir.path().join("input"))
        .output()
        .is_ok_and(|o| o.status.success());
    h["alg"] == "RS256" && claims_ok && checked
}

pub fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    u64::from_le_bytes(b)
}

pub fn parent_of(name: &str) -> String {
    name.split('/').take(4).collect::<Vec<_>>().join("/")
}
