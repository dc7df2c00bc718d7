//! runtimes/azure's storage shims against Azurite (npm `azurite`): the Python and Node.js Blob
//! clients upload, list, check, download (files, bytes, directories, streams) and sign a SAS URL
//! that a plain HTTP GET can use; errors carry Blob storage's status and code. The Cosmos DB
//! shims of both languages sign requests identically.

mod common;

use base64::Engine;
use common::azurite::Azurite;
use common::repo;

const ACCOUNT: &str = "sebsshimtest";

fn connection_string(azurite: &Azurite, key: &str) -> String {
    format!(
        "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};BlobEndpoint={}/{ACCOUNT}",
        azurite.url
    )
}

const PYTHON: &str = r#"
import os, sys, urllib.request
sys.path.insert(0, sys.argv[1])
import storage
s = storage.get_instance()
s.create_bucket("py-bucket"); s.create_bucket("py-bucket")
src = os.path.join(sys.argv[2], "in.txt")
open(src, "w").write("hello blob")
key = s.upload("py-bucket", "in/a b.txt", src)
assert key.startswith("in/a b.") and key.endswith(".txt"), key
other = s.upload_stream("py-bucket", "out/x.bin", b"\x00\x01")
assert sorted(s.list("py-bucket")) == sorted([key, other]), s.list("py-bucket")
assert s.list("py-bucket", "out/") == [other]
assert s.download_stream("py-bucket", key) == b"hello blob"
assert s.exists("py-bucket", key) and not s.exists("py-bucket", "nope")
s.download_directory("py-bucket", "in/", os.path.join(sys.argv[2], "dl"))
assert open(os.path.join(sys.argv[2], "dl", key)).read() == "hello blob"
assert urllib.request.urlopen(s.presigned_url("py-bucket", key)).read() == b"hello blob"
try:
    s.download_stream("no-such-bucket", "x")
    raise SystemExit("no error")
except storage.StorageError as e:
    assert (e.status, e.code) == (404, "ContainerNotFound"), (e.status, e.code)
print("python ok")
"#;

const NODE: &str = r#"
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const s = require(path.join(process.argv[1], 'storage.js')).get_instance();
(async () => {
  await s.request('PUT', 'node-bucket', null, { query: [['restype', 'container']] }).then((r) => r.resume());
  const src = path.join(process.argv[2], 'n.txt');
  fs.writeFileSync(src, 'node blob');
  const [key, uploaded] = s.upload('node-bucket', 'in/x y.txt', src);
  assert.strictEqual(await uploaded, key);
  const [other, done] = s.upload_stream('node-bucket', 'out/z.bin', Buffer.from([1, 2]));
  await done;
  const [writable, streamed] = s.uploadStream('node-bucket', 'out/s.txt');
  writable.end('streamed');
  const third = await streamed;
  assert.deepStrictEqual((await s.list('node-bucket', '')).sort(), [key, other, third].sort());
  assert.strictEqual((await s.download_stream('node-bucket', key)).toString(), 'node blob');
  assert.ok(await s.exists('node-bucket', key));
  assert.ok(!(await s.exists('node-bucket', 'nope')));
  await s.download_directory('node-bucket', 'out/', path.join(process.argv[2], 'dl'));
  assert.strictEqual(fs.readFileSync(path.join(process.argv[2], 'dl', third), 'utf8'), 'streamed');
  await assert.rejects(s.download_stream('no-such-bucket', 'x'), (e) => e.status === 404 && e.code === 'ContainerNotFound');
  console.log('node ok');
})().catch((e) => { console.error(e); process.exit(1); });
"#;

fn run(program: &str, script: &str, args: &[&std::path::Path], conn: &str) -> String {
    let out = std::process::Command::new(program)
        .arg(if program == "node" { "-e" } else { "-c" })
        .arg(script)
        .args(args)
        .env("STORAGE_CONNECTION_STRING", conn)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program}: {text}");
    text
}

#[test]
fn blob_shims_against_azurite() {
    let tmp = tempfile::tempdir().unwrap();
    let key = base64::engine::general_purpose::STANDARD.encode("shim-test-account-key-0123456789");
    let azurite = Azurite::start(&format!("{ACCOUNT}:{key}"), &tmp.path().join("azurite"));
    let conn = connection_string(&azurite, &key);
    let runtimes = repo().join("runtimes/azure");
    let work = tmp.path().join("py");
    std::fs::create_dir_all(&work).unwrap();
    let py = run("python3", PYTHON, &[&runtimes.join("python"), &work], &conn);
    assert!(py.contains("python ok"), "{py}");
    let work = tmp.path().join("node");
    std::fs::create_dir_all(&work).unwrap();
    let node = run("node", NODE, &[&runtimes.join("nodejs"), &work], &conn);
    assert!(node.contains("node ok"), "{node}");
    // A wrong key is refused by Azurite: the signature is really checked.
    let wrong = connection_string(
        &azurite,
        &base64::engine::general_purpose::STANDARD.encode("another-key"),
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sys; sys.path.insert(0, sys.argv[1]); import storage; storage.get_instance().list('py-bucket')")
        .arg(runtimes.join("python"))
        .env("STORAGE_CONNECTION_STRING", wrong)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("403"), "{err}");
}

#[test]
fn cosmos_shims_sign_alike() {
    let runtimes = repo().join("runtimes/azure");
    let key = base64::engine::general_purpose::STANDARD.encode("cosmos-master-key");
    let date = "Tue, 01 Dec 2026 08:00:00 GMT";
    let py = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sys; sys.path.insert(0, sys.argv[1]); import nosql; print(nosql.authorization(sys.argv[2], 'POST', 'docs', 'dbs/benchmarks/colls/t', sys.argv[3]))")
        .arg(runtimes.join("python"))
        .arg(&key)
        .arg(date)
        .output()
        .unwrap();
    let node = std::process::Command::new("node")
        .arg("-e")
        .arg("const n = require(process.argv[1] + '/nosql.js'); console.log(n.authorization(process.argv[2], 'POST', 'docs', 'dbs/benchmarks/colls/t', process.argv[3]))")
        .arg(runtimes.join("nodejs"))
        .arg(&key)
        .arg(date)
        .output()
        .unwrap();
    let (py, node) = (
        String::from_utf8_lossy(&py.stdout).trim().to_owned(),
        String::from_utf8_lossy(&node.stdout).trim().to_owned(),
    );
    assert!(py.starts_with("type%3Dmaster%26ver%3D1.0%26sig%3D"), "{py}");
    assert_eq!(
        py.len(),
        "type%3Dmaster%26ver%3D1.0%26sig%3D".len() + 44 + 2,
        "{py}"
    );
    assert_eq!(py, node);
}
