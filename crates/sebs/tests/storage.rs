//! Storage end to end: the four storage benchmarks validate with embedded storage and with
//! `sebs storage start` daemons; independent clients (boto3, minio) work with the keys from the
//! storage JSON; wrong keys get 403; data survives a restart; `--update-storage` uploads again;
//! `sebs data generate` is deterministic; no credential reaches results or the cache.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{document, invocations, sebs, text};
use serde_json::Value;

const BENCHMARKS: [&str; 4] = [
    "210.thumbnailer",
    "120.uploader",
    "130.crud-api",
    "311.compression",
];

fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(
                    path.strip_prefix(root).unwrap().to_owned(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Every file under `dir` as text (lossy), to search for leaked secrets.
fn all_text(dir: &Path) -> String {
    tree(dir)
        .into_values()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect()
}

fn invoke(dir: &Path, cache: &Path, data: &Path, benchmark: &str, extra: &[&str]) -> String {
    let out = sebs(dir)
        .args(["benchmark", "invoke", benchmark, "test", "--validate"])
        .args(["--repetitions", "2", "--cache"])
        .arg(cache)
        .arg("--data-dir")
        .arg(data)
        .arg("--output-dir")
        .arg(dir.join(format!("out-{benchmark}")))
        .args(extra)
        .output()
        .unwrap();
    let log = text(&out);
    assert!(out.status.success(), "{benchmark} {extra:?} failed:\n{log}");
    let doc = document(&dir.join(format!("out-{benchmark}/experiments.json")));
    for run in invocations(&doc) {
        assert_eq!(run["validation"]["passed"], true, "{benchmark}: {run}");
    }
    log
}

fn python(script: &str, env: &[(&str, &str)]) -> (bool, String) {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out.status.success(), text(&out))
}

#[test]
fn data_generate_is_deterministic_and_benchmarks_validate_with_embedded_storage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for name in ["a", "b"] {
        let out = sebs(dir)
            .args(["data", "generate", "--seed", "5", "--dir", name])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    let (a, b) = (tree(&dir.join("a")), tree(&dir.join("b")));
    assert!(a.len() >= 50, "{} files", a.len());
    assert!(a == b, "two `sebs data generate --seed 5` runs differ");
    // The inputs of 220, 411 and 504 are part of the deterministic tree.
    for (file, min_size) in [
        ("200.multimedia/220.video-processing/city.mp4", 4 << 20),
        (
            "400.inference/411.image-recognition/model/resnet50-random.onnx",
            100_000_000,
        ),
        (
            "400.inference/411.image-recognition/fake-resnet/val_map.txt",
            100,
        ),
        (
            "500.scientific/504.dna-visualisation/bacillus_subtilis.fasta",
            4 << 20,
        ),
    ] {
        let size = a.get(Path::new(file)).map(Vec::len);
        assert!(size.is_some_and(|s| s >= min_size), "{file}: {size:?}");
    }

    let cache = dir.join("cache");
    let data = dir.join("a");
    for benchmark in BENCHMARKS {
        let log = invoke(dir, &cache, &data, benchmark, &[]);
        assert!(
            log.contains("embedded"),
            "{benchmark} used embedded storage:\n{log}"
        );
    }
    // Inputs are uploaded once; --update-storage uploads them again.
    let log = invoke(dir, &cache, &data, "311.compression", &[]);
    assert!(log.contains("0 uploaded, 39 already present"), "{log}");
    let log = invoke(dir, &cache, &data, "311.compression", &["--update-storage"]);
    assert!(log.contains("39 uploaded, 0 already present"), "{log}");
    // The embedded store keeps its data in the cache.
    assert!(
        cache
            .join("storage/minio-volume/sebs-benchmarks-local")
            .is_dir()
    );
    assert!(cache.join("storage/scylladb-volume/dynoxide.db").is_file());
}

#[test]
fn storage_daemons_serve_benchmarks_and_independent_clients() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let out = sebs(dir)
        .args(["data", "generate", "--dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // SeBS's storage.json shape, with ports left to the system.
    std::fs::write(
        dir.join("storage.json"),
        r#"{"object": {"type": "minio", "minio": {"mapped_port": 0, "data_volume": "objects"}},
            "nosql": {"type": "scylladb", "scylladb": {"mapped_port": 0, "data_volume": "tables"}}}"#,
    )
    .unwrap();
    let start = |file: &str| {
        let out = sebs(dir)
            .args([
                "storage",
                "start",
                "all",
                "storage.json",
                "--output-json",
                file,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let s: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        s
    };
    let stop = |file: &str| {
        let out = sebs(dir)
            .args(["storage", "stop", "all", file])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    };
    let s = start("s.json");
    let minio = &s["object"]["minio"];
    let pid = minio["pid"].as_u64().unwrap();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    assert!(minio["address"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(s["nosql"]["type"], "scylladb");

    let cache = dir.join("cache");
    for benchmark in BENCHMARKS {
        let log = invoke(
            dir,
            &cache,
            &data,
            benchmark,
            &["--storage-configuration", "s.json"],
        );
        assert!(log.contains("(configured)"), "{log}");
        assert!(!log.contains("embedded"), "{log}");
    }
    // Credentials never reach results, the cache or logs.
    let secret = minio["secret_key"].as_str().unwrap();
    for d in BENCHMARKS.map(|b| dir.join(format!("out-{b}"))) {
        assert!(!all_text(&d).contains(secret), "secret in {}", d.display());
    }
    assert!(!all_text(&cache).contains(secret), "secret in the cache");

    // Independent clients with the keys from s.json.
    let address = minio["address"].as_str().unwrap();
    let access = minio["access_key"].as_str().unwrap();
    let env = [
        ("ENDPOINT", address),
        ("ACCESS", access),
        ("SECRET", secret),
    ];
    let script = r#"
import io, os
try:
    import boto3, botocore
    from minio import Minio
except ImportError as e:
    raise SystemExit("install the test clients: python3 -m pip install boto3 minio (%s)" % e)
ep, ak, sk = os.environ["ENDPOINT"], os.environ["ACCESS"], os.environ["SECRET"]
s3 = boto3.client("s3", endpoint_url="http://" + ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=botocore.config.Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket="independent")
s3.put_object(Bucket="independent", Key="a/b/c.txt", Body=b"hello")
s3.put_object(Bucket="independent", Key="a/d.txt", Body=b"world")
s3.put_object(Bucket="independent", Key="top.txt", Body=b"!")
assert s3.get_object(Bucket="independent", Key="a/b/c.txt")["Body"].read() == b"hello"
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="independent")["Contents"]]
assert keys == ["a/b/c.txt", "a/d.txt", "top.txt"], keys
listed = s3.list_objects_v2(Bucket="sebs-benchmarks-local", Prefix="311.compression-0-input/")
assert listed["KeyCount"] == 39, listed["KeyCount"]
m = Minio(ep, access_key=ak, secret_key=sk, secure=False)
assert sorted(o.object_name for o in m.list_objects("independent", recursive=True)) == ["a/b/c.txt", "a/d.txt", "top.txt"]
assert sorted(o.object_name for o in m.list_objects("independent")) == ["a/", "top.txt"]
assert sorted(o.object_name for o in m.list_objects("independent", prefix="a/", recursive=True)) == ["a/b/c.txt", "a/d.txt"]
m.put_object("independent", "via-minio.bin", io.BytesIO(b"x" * 1000), 1000)
assert m.get_object("independent", "via-minio.bin").read() == b"x" * 1000
bad = boto3.client("s3", endpoint_url="http://" + ep, aws_access_key_id=ak, aws_secret_access_key="wrong",
                   region_name="us-east-1", config=botocore.config.Config(s3={"addressing_style": "path"}))
try:
    bad.get_object(Bucket="independent", Key="top.txt")
    raise SystemExit("wrong credentials were accepted")
except botocore.exceptions.ClientError as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, e.response
print("clients ok")
"#;
    let (ok, out) = python(script, &env);
    assert!(ok, "{out}");

    // Restart: the objects and tables survive; new credentials are generated.
    stop("s.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let s2 = start("s2.json");
    assert_ne!(
        s2["object"]["minio"]["secret_key"],
        s["object"]["minio"]["secret_key"]
    );
    let log = invoke(
        dir,
        &cache,
        &data,
        "311.compression",
        &["--storage-configuration", "s2.json"],
    );
    assert!(log.contains("0 uploaded, 39 already present"), "{log}");
    let log = invoke(
        dir,
        &cache,
        &data,
        "130.crud-api",
        &["--storage-configuration", "s2.json"],
    );
    assert!(log.contains("valid"), "{log}");
    stop("s2.json");
}
