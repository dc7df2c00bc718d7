//! The packaged storage shims on AWS honour the SDKs' endpoint variables
//! (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`), so one package runs against AWS and
//! against an emulator; requests stay path-style (`/<bucket>/<key>`) at that endpoint.

use std::path::Path;
use std::process::Command;

use sebs_build::{NODE_SHIMS, PYTHON_SHIMS};

/// What both scripts print: the endpoint chosen in each case, and the request a HEAD of
/// `bucket/dir/key.txt` sent to a local server given as `AWS_ENDPOINT_URL_S3`.
fn check(printed: &[u8]) {
    let out: serde_json::Value = serde_json::from_slice(printed)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(printed)));
    assert_eq!(out["default"], "https://s3.eu-west-1.amazonaws.com");
    assert_eq!(out["general_s3"], "http://emulator:4566");
    assert_eq!(out["general_dynamodb"], "http://emulator:4566");
    let port = out["port"].as_u64().unwrap();
    let local = format!("http://127.0.0.1:{port}");
    assert_eq!(out["s3"], local.as_str(), "the service's own variable wins");
    assert_eq!(out["dynamodb"], "http://emulator:4566");
    assert_eq!(out["ignored"], "https://s3.eu-west-1.amazonaws.com");
    assert_eq!(out["exists"], true);
    let seen = out["seen"].as_array().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["path"], "/bucket/dir/key.txt", "path-style");
    assert_eq!(seen[0]["host"], format!("127.0.0.1:{port}").as_str());
    let auth = seen[0]["auth"].as_str().unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
            && auth.contains("/eu-west-1/s3/aws4_request"),
        "{auth}"
    );
}

fn write_shims(dir: &Path, shims: &[(&str, &str)]) {
    for (name, source) in shims {
        std::fs::write(dir.join(name), source).unwrap();
    }
}

const PYTHON: &str = r#"
import http.server, json, os, threading
import _sigv4, storage

seen = []

class Handler(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        seen.append({"path": self.path, "host": self.headers["Host"],
                     "auth": self.headers.get("Authorization", "")})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
port = server.server_address[1]
env = os.environ
env.update({"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDTEST",
            "AWS_SECRET_ACCESS_KEY": "secret"})
endpoint = lambda service: _sigv4.aws_from_environment(service)[1]
out = {"port": port, "default": endpoint("s3")}
env["AWS_ENDPOINT_URL"] = "http://emulator:4566"
out["general_s3"], out["general_dynamodb"] = endpoint("s3"), endpoint("dynamodb")
env["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:%d" % port
out["s3"], out["dynamodb"] = endpoint("s3"), endpoint("dynamodb")
env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
out["ignored"] = endpoint("s3")
del env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]
out["exists"] = storage.storage.get_instance().exists("bucket", "dir/key.txt")
out["seen"] = seen
print(json.dumps(out))
"#;

#[test]
fn python_shims_use_the_configured_endpoint() {
    let tmp = tempfile::tempdir().unwrap();
    write_shims(tmp.path(), &PYTHON_SHIMS);
    let python = sebs_core::python::find(None).unwrap();
    let out = Command::new(&python.path)
        .args(["-I", "-c"])
        .arg(format!(
            "import sys; sys.path.insert(0, {:?})\n{PYTHON}",
            tmp.path().to_str().unwrap()
        ))
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check(&out.stdout);
}

const NODE: &str = r#"
const http = require('http');
const sigv4 = require('./_sigv4');
const storage = require('./storage');

const seen = [];
const server = http.createServer((req, res) => {
  seen.push({ path: req.url, host: req.headers.host, auth: req.headers.authorization || '' });
  res.writeHead(200, { 'Content-Length': '0' });
  res.end();
});
server.listen(0, '127.0.0.1', async () => {
  const port = server.address().port;
  const env = process.env;
  Object.assign(env, { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret' });
  const endpoint = (service) => sigv4.awsFromEnvironment(service)[1];
  const out = { port, default: endpoint('s3') };
  env.AWS_ENDPOINT_URL = 'http://emulator:4566';
  [out.general_s3, out.general_dynamodb] = [endpoint('s3'), endpoint('dynamodb')];
  env.AWS_ENDPOINT_URL_S3 = 'http://127.0.0.1:' + port;
  [out.s3, out.dynamodb] = [endpoint('s3'), endpoint('dynamodb')];
  env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = 'true';
  out.ignored = endpoint('s3');
  delete env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS;
  out.exists = await storage.get_instance().exists('bucket', 'dir/key.txt');
  out.seen = seen;
  console.log(JSON.stringify(out));
  process.exit(0);
});
"#;

#[test]
fn node_shims_use_the_configured_endpoint() {
    let node = sebs_core::node::find(None).expect("Node.js is needed for this test");
    let tmp = tempfile::tempdir().unwrap();
    write_shims(tmp.path(), &NODE_SHIMS);
    std::fs::write(tmp.path().join("check.js"), NODE).unwrap();
    let out = Command::new(&node.path)
        .arg("check.js")
        .current_dir(tmp.path())
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check(&out.stdout);
}
