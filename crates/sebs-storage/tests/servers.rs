//! The embedded servers against the stdlib Python shims (the clients functions and the harness
//! use): object round trips, presigned URLs, wrong credentials, path traversal, NoSQL CRUD, and
//! data surviving a restart.

mod common;

use sebs_storage::{Credentials, EmbeddedOptions, EmbeddedStorage, Services};

/// Run `script` with the Python shims importable and the storage environment of `storage`.
fn python(storage: &EmbeddedStorage, script: &str, extra_env: &[(&str, &str)]) -> (bool, String) {
    common::run("python3", storage, script, extra_env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_storage_round_trip_auth_and_traversal() {
    let dir = tempfile::tempdir().unwrap();
    let options = EmbeddedOptions::under(dir.path());
    let storage = EmbeddedStorage::start(Services::OBJECT, &options)
        .await
        .unwrap();
    let script = r#"
import os, tempfile, urllib.request, urllib.error
import storage
s = storage.storage.get_instance()
s.create_bucket("sebs-benchmarks-test")
s.create_bucket("sebs-benchmarks-test")  # idempotent
src = os.path.join(tempfile.mkdtemp(), "photo.jpg")
data = os.urandom(3 * 1024 * 1024 + 17)
open(src, "wb").write(data)
key = s.upload("sebs-benchmarks-test", "bench-0-input/photo.jpg", src)
assert key.startswith("bench-0-input/photo.") and key.endswith(".jpg") and len(key) == len("bench-0-input/photo.jpg") + 9, key
s.upload_file("sebs-benchmarks-test", "bench-0-input/dir/a b+c.txt", src)
k2 = s.upload_stream("sebs-benchmarks-test", "bench-0-input/dir/x.bin", b"hello")
assert s.download_stream("sebs-benchmarks-test", k2) == b"hello"
assert s.exists("sebs-benchmarks-test", key) and not s.exists("sebs-benchmarks-test", "nope")
keys = s.list("sebs-benchmarks-test", "bench-0-input/")
assert sorted(keys) == sorted([key, "bench-0-input/dir/a b+c.txt", k2]), keys
out = tempfile.mkdtemp()
s.download_directory("sebs-benchmarks-test", "bench-0-input/dir", out)
assert open(os.path.join(out, "bench-0-input/dir/a b+c.txt"), "rb").read() == data
url = s.presigned_url("sebs-benchmarks-test", key)
assert urllib.request.urlopen(url).read() == data
# No signature at all.
try:
    urllib.request.urlopen("http://%s/sebs-benchmarks-test/%s" % (s.host, key))
    raise SystemExit("anonymous GET succeeded")
except urllib.error.HTTPError as e:
    assert e.code == 403, e.code
print("ok")
"#;
    let (ok, out) = python(&storage, script, &[]);
    assert!(ok, "{out}");

    // Wrong secret and unknown access key: 403.
    let wrong = r#"
import storage
for env in ("MINIO_SECRET_KEY", "MINIO_ACCESS_KEY"):
    pass
s = storage.storage.get_instance()
try:
    s.download_stream("sebs-benchmarks-test", "anything")
    raise SystemExit("wrong credentials accepted")
except storage.StorageError as e:
    assert e.status == 403, e
    print(e.code)
"#;
    let (ok, out) = python(&storage, wrong, &[("MINIO_SECRET_KEY", "not-the-secret")]);
    assert!(ok, "{out}");
    assert!(out.contains("SignatureDoesNotMatch"), "{out}");
    let (ok, out) = python(&storage, wrong, &[("MINIO_ACCESS_KEY", "AKIAWRONG")]);
    assert!(ok, "{out}");

    // Traversal: keys and bucket names with `..` never touch files outside the data directory.
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, b"secret").unwrap();
    let traversal = r#"
import http.client, storage, _sigv4
s = storage.storage.get_instance()
def raw(method, path, body=b""):
    # http.client sends the path verbatim (no dot-segment normalisation).
    h = {}
    _sigv4.sign_headers(s.creds, "s3", method, s.host, path, [], h, _sigv4.hashlib.sha256(body).hexdigest())
    c = http.client.HTTPConnection(s.host)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    return r.status, r.read()
results = []
for method, path in [
    ("GET", "/sebs-benchmarks-test/../../outside.txt"),
    ("GET", "/sebs-benchmarks-test/..%2F..%2Foutside.txt"),
    ("GET", "/sebs-benchmarks-test/a/../../../outside.txt"),
    ("PUT", "/sebs-benchmarks-test/../../escaped.txt"),
    ("PUT", "/sebs-benchmarks-test/x/../../other-bucket/k"),
    ("GET", "/../outside.txt"),
]:
    status, body = raw(method, path, b"pwned" if method == "PUT" else b"")
    assert status >= 400 and b"secret" not in body, (method, path, status, body)
    results.append(status)
print(results)
"#;
    let (ok, out) = python(&storage, traversal, &[]);
    assert!(ok, "{out}");
    assert_eq!(std::fs::read(&outside).unwrap(), b"secret");
    assert!(!dir.path().join("escaped.txt").exists());
    assert!(!dir.path().join("minio-volume/other-bucket").exists());
    storage.shutdown().await;

    // A restart on the same directory with new credentials keeps the objects.
    let mut options2 = EmbeddedOptions::under(dir.path());
    options2.credentials = Credentials::generate();
    assert_ne!(options2.credentials, options.credentials);
    let storage = EmbeddedStorage::start(Services::OBJECT, &options2)
        .await
        .unwrap();
    let (ok, out) = python(
        &storage,
        "import storage\ns = storage.get_instance()\nprint(len(s.list('sebs-benchmarks-test', 'bench-0-input/')))",
        &[],
    );
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "3");
    storage.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nosql_crud_and_persistence() {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::NOSQL;
    let storage = EmbeddedStorage::start(services, &EmbeddedOptions::under(dir.path()))
        .await
        .unwrap();
    let script = r#"
import nosql
db = nosql.nosql.get_instance()
db.create_table("sebs-benchmarks-t-130.crud-api-shopping_cart", "cart_id", "product_id")
db.create_table("sebs-benchmarks-t-130.crud-api-shopping_cart", "cart_id", "product_id")
db.insert("cart", ("cart_id", "c1"), ("product_id", "p2"), {"name": "b", "price": 2.5, "quantity": 4})
db.insert("cart", ("cart_id", "c1"), ("product_id", "p1"), {"name": "a", "price": 10, "quantity": 1, "tags": ["x"], "meta": {"ok": True}})
db.insert("cart", ("cart_id", "c2"), ("product_id", "p1"), {"name": "c", "price": 1, "quantity": 1})
item = db.get("cart", ("cart_id", "c1"), ("product_id", "p1"))
assert item == {"cart_id": "c1", "product_id": "p1", "name": "a", "price": 10, "quantity": 1, "tags": ["x"], "meta": {"ok": True}}, item
assert db.get("cart", ("cart_id", "c1"), ("product_id", "nope")) is None
db.update("cart", ("cart_id", "c1"), ("product_id", "p2"), {"quantity": 5, "name": "bb"})
items = db.query("cart", ("cart_id", "c1"), "product_id")
assert [i["product_id"] for i in items] == ["p1", "p2"], items
assert items[1]["quantity"] == 5 and items[1]["name"] == "bb" and items[1]["price"] == 2.5
db.delete("cart", ("cart_id", "c1"), ("product_id", "p1"))
assert len(db.query("cart", ("cart_id", "c1"), "product_id")) == 1
try:
    db.get("missing", ("a", "b"), ("c", "d"))
    raise SystemExit("a table without NOSQL_STORAGE_TABLE_ was accepted")
except KeyError:
    pass
print("ok")
"#;
    let env = [(
        "NOSQL_STORAGE_TABLE_cart",
        "sebs-benchmarks-t-130.crud-api-shopping_cart",
    )];
    let (ok, out) = python(&storage, script, &env);
    assert!(ok, "{out}");
    storage.shutdown().await;

    let storage = EmbeddedStorage::start(services, &EmbeddedOptions::under(dir.path()))
        .await
        .unwrap();
    let (ok, out) = python(
        &storage,
        "import nosql\nprint(len(nosql.get_instance().query('cart', ('cart_id', 'c1'), 'product_id')))",
        &env,
    );
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "1");
    storage.shutdown().await;
}

/// Two harnesses preparing the same benchmark at once (two `sebs` processes, or parallel tests
/// sharing a cache) create the same tables concurrently; every one of them must succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_table_creation_succeeds_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let storage = EmbeddedStorage::start(Services::NOSQL, &EmbeddedOptions::under(dir.path()))
        .await
        .unwrap();
    // Processes, not threads: a shim instance holds one connection and is not shared.
    let script = r#"
import multiprocessing
def create(n):
    import nosql
    try:
        nosql.nosql.get_instance().create_table("sebs-benchmarks-t-race-%d" % n, "id", "sk")
        return None
    except Exception as e:
        return repr(e)
if __name__ == "__main__":
    errors = []
    with multiprocessing.get_context("fork").Pool(8) as pool:
        for n in range(10):
            errors += [e for e in pool.map(create, [n] * 8) if e]
    print(errors or "ok")
"#;
    let (ok, out) = python(&storage, script, &[]);
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "ok");
    storage.shutdown().await;
}

/// Keys S3 allows that a file system does not map one to one: `%`, `+`, spaces, `//`, a
/// trailing `/`, and a segment that looks like our escape. boto3 lists with `EncodingType=url`
/// (and decodes what it gets), pages with continuation tokens, and groups with delimiters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_lists_and_gets_unusual_keys_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let storage = EmbeddedStorage::start(
        Services {
            object: true,
            nosql: false,
        },
        &EmbeddedOptions::under(dir.path()),
    )
    .await
    .unwrap();
    let script = r#"
import os, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url="http://" + os.environ["MINIO_ADDRESS"],
                  aws_access_key_id=os.environ["MINIO_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["MINIO_SECRET_KEY"],
                  region_name=os.environ["MINIO_REGION"],
                  config=Config(s3={"addressing_style": "path"}))
bucket = "keys"
s3.create_bucket(Bucket=bucket)
keys = ["pct%41", "pct%2F", "a+b", "with space", "dir//double", "dir/single", "dir/",
        "dir///triple", "trailing//", ".%escape", "x/.%y", "plus+and space/%20"]
for k in keys:
    s3.put_object(Bucket=bucket, Key=k, Body=("body of " + k).encode())
for k in keys:
    got = s3.get_object(Bucket=bucket, Key=k)["Body"].read().decode()
    assert got == "body of " + k, (k, got)
    assert s3.head_object(Bucket=bucket, Key=k)["ContentLength"] == len("body of " + k), k

listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
assert listed == sorted(keys), listed
v1 = [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]]
assert v1 == sorted(keys), v1

# Pages of two, v2 (continuation tokens) and v1 (markers).
pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
paged = [o["Key"] for p in pages for o in p.get("Contents", [])]
assert paged == sorted(keys), paged
pages = s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
paged = [o["Key"] for p in pages for o in p.get("Contents", [])]
assert paged == sorted(keys), paged

# Prefixes and delimiters, with the empty segments kept.
r = s3.list_objects_v2(Bucket=bucket, Prefix="dir/", Delimiter="/")
assert [o["Key"] for o in r.get("Contents", [])] == ["dir/", "dir/single"], r
assert [p["Prefix"] for p in r.get("CommonPrefixes", [])] == ["dir//"], r
assert r["Prefix"] == "dir/" and r["Delimiter"] == "/", r
r = s3.list_objects_v2(Bucket=bucket, Prefix="pct%")
assert [o["Key"] for o in r["Contents"]] == ["pct%2F", "pct%41"], r
r = s3.list_objects_v2(Bucket=bucket, StartAfter="dir/single")
assert [o["Key"] for o in r["Contents"]] == sorted(k for k in keys if k > "dir/single"), r
r = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["dir/", "plus+and space/", "trailing/", "x/"], r

# Without EncodingType (as other clients list), keys come back as they are.
raw = s3.list_objects_v2(Bucket=bucket)
s3.meta.events.unregister("before-parameter-build.s3.ListObjectsV2", None)
import botocore.handlers as h
s3.meta.events.unregister("before-parameter-build.s3.ListObjectsV2", h.set_list_objects_encoding_type_url)
s3.meta.events.unregister("after-call.s3.ListObjectsV2", h.decode_list_object_v2)
plain = s3.list_objects_v2(Bucket=bucket)
assert "EncodingType" not in plain, plain.get("EncodingType")
assert [o["Key"] for o in plain["Contents"]] == sorted(keys), plain

for k in keys:
    s3.delete_object(Bucket=bucket, Key=k)
assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
print("ok")
"#;
    let (ok, out) = python(&storage, script, &[]);
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "ok");
    storage.shutdown().await;
}
