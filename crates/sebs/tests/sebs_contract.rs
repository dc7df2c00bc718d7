//! SeBS's `input.py` contract from both sides.
//!
//! - Our catalogue's `input.py` files, called as SeBS calls them, by a harness that does not go
//!   through sebs's driver: loaded the way SeBS loads them, `generate_input` with SeBS's
//!   arguments, `validate_output(data_dir, input_config, output, language, storage)` with
//!   `output = response["result"]` of real invocations (and rejecting the whole response).
//! - A SeBS-style `input.py` whose `validate_output` opens the thumbnail with Pillow (as SeBS's
//!   newer 210.thumbnailer does): sebs prepares the input environment in the shared cache and
//!   validates with it; a module still missing is reported with the package and how to add it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Shared with the other end-to-end tests: packages, the data tree and the input environment are
/// made once.
fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("shared-cache")
}

fn sebs(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("sebs").unwrap();
    cmd.current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("SEBS_INPUT_REQUIREMENTS")
        .env("NO_COLOR", "1");
    cmd
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Calls `input.py` files the way SeBS's `Benchmark.prepare_input` and its validation do:
/// `SourceFileLoader("input", path)`, positional arguments, no sebs driver.
const HARNESS: &str = r#"
import importlib.machinery, importlib.util, inspect, json, os, sys

def load(directory):
    loader = importlib.machinery.SourceFileLoader("input", os.path.join(directory, "input.py"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module

request = json.load(sys.stdin)
report = {}
for case in request["benchmarks"]:
    module = load(case["dir"])
    line = {}
    params = inspect.signature(module.generate_input).parameters
    line["generate_params"] = len(params)
    sig = inspect.signature(module.validate_output)
    # SeBS's newest call: validate_output(data_dir, input_config, output, language, storage).
    sig.bind(None, {}, {}, "python", None)
    line["validate_binds"] = True
    if "response" in case:
        response = case["response"]
        args = (case["data_dir"], case["input"], response["result"], "python", None)
        line["with_result"] = module.validate_output(*args)
        try:
            whole = module.validate_output(case["data_dir"], case["input"], response, "python", None)
        except Exception as exc:  # a crash also rejects it
            whole = "%s: %s" % (type(exc).__name__, exc)
        line["with_whole_response"] = whole
    if case.get("generate"):
        uploads, writes = [], []
        has_buckets = hasattr(module, "buckets_count")
        counts = module.buckets_count() if has_buckets else (0, 0)
        inputs = ["%s-%d-input" % (case["id"], i) for i in range(counts[0])]
        outputs = ["%s-%d-output" % (case["id"], i) for i in range(counts[1])]
        generated = module.generate_input(
            case["data_dir"], "test",
            "sebs-benchmarks-harness" if has_buckets else None,
            inputs, outputs,
            (lambda idx, key, path: uploads.append(key)) if has_buckets else None,
            (lambda *a: writes.append(a[1])) if hasattr(module, "allocate_nosql") else None,
        )
        line["generated_keys"] = sorted(generated)
        line["uploads"] = len(uploads)
        line["nosql_writes"] = len(writes)
    report[case["id"]] = line
print(json.dumps(report))
"#;

/// Every benchmark of our catalogue: `(id, dir)`.
fn catalogue() -> Vec<(String, PathBuf)> {
    let mut all = Vec::new();
    for group in std::fs::read_dir(repo().join("benchmarks"))
        .unwrap()
        .flatten()
    {
        for entry in std::fs::read_dir(group.path()).unwrap().flatten() {
            if entry.path().join("input.py").is_file() {
                all.push((
                    entry.file_name().to_string_lossy().into_owned(),
                    entry.path(),
                ));
            }
        }
    }
    all.sort();
    all
}

/// `benchmark invoke ID test` once; returns the wrapper response of the invocation.
fn invoke(dir: &Path, id: &str) -> Value {
    let out_dir = dir.join(id);
    let out = sebs(dir)
        .args(["benchmark", "invoke", id, "test", "--repetitions", "1"])
        .arg("--cache")
        .arg(shared_cache())
        .arg("--output-dir")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{id}: {}", text(&out));
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("experiments.json")).unwrap())
            .unwrap();
    let invocation = doc["_invocations"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|f| f.as_object().unwrap().values())
        .next()
        .unwrap()
        .clone();
    assert_eq!(invocation["stats"]["failure"], false, "{invocation}");
    invocation["output"].clone()
}

#[test]
fn our_catalogue_follows_sebs_input_contract() {
    let tmp = tempfile::tempdir().unwrap();
    // Benchmarks whose validation needs no storage and whose test input is deterministic: their
    // real responses are validated the way SeBS does.
    let inputs: &[(&str, Value)] = &[
        ("010.sleep", serde_json::json!({"sleep": 1})),
        (
            "110.dynamic-html",
            serde_json::json!({"username": "testname", "random_len": 10}),
        ),
        (
            "501.graph-pagerank",
            serde_json::json!({"size": 10, "seed": 42}),
        ),
        ("502.graph-mst", serde_json::json!({"size": 10, "seed": 42})),
        ("503.graph-bfs", serde_json::json!({"size": 10, "seed": 42})),
    ];
    let mut cases = Vec::new();
    for (id, dir) in catalogue() {
        let mut case = serde_json::json!({"id": id, "dir": dir, "data_dir": Value::Null});
        if let Some((_, input)) = inputs.iter().find(|(b, _)| *b == id) {
            let response = invoke(tmp.path(), &id);
            case["input"] = input.clone();
            case["response"] = response;
            case["generate"] = true.into();
        }
        cases.push(case);
    }
    let mut harness = std::process::Command::new("python3")
        .args(["-c", HARNESS])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(
        harness.stdin.take().unwrap(),
        &serde_json::json!({ "benchmarks": cases }),
    )
    .unwrap();
    let out = harness.wait_with_output().unwrap();
    assert!(out.status.success(), "harness: {}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.as_object().unwrap().len(), catalogue().len());
    for (id, line) in report.as_object().unwrap() {
        assert_eq!(line["generate_params"], 7, "{id}: SeBS passes 7 arguments");
        assert_eq!(line["validate_binds"], true, "{id}");
        if line.get("with_result").is_some() {
            assert_eq!(
                line["with_result"],
                Value::Null,
                "{id}: response[\"result\"] validates"
            );
            assert!(
                !line["with_whole_response"].is_null(),
                "{id}: the whole wrapper response must not validate: {line}"
            );
            assert!(
                !line["generated_keys"].as_array().unwrap().is_empty(),
                "{id}: {line}"
            );
        }
    }
    assert!(
        inputs
            .iter()
            .all(|(id, _)| report[id].get("with_result").is_some()),
        "{report}"
    );
}

/// SeBS-style `validate_output` (the argument list SeBS's newer thumbnailer has) that checks the
/// thumbnail with Pillow, appended to a copy of our 210.thumbnailer.
const PIL_VALIDATE: &str = r#"

def validate_output(input_config, output, storage=None):
    import tempfile
    from PIL import Image

    bucket = input_config["bucket"]["bucket"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "thumbnail")
        storage.download(bucket, output["result"]["key"], path)
        with Image.open(path) as image:
            width, height = image.size
    limit = input_config["object"]
    if width > limit["width"] or height > limit["height"]:
        return False
    return image.format == "JPEG"
"#;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn sebs_style_input_py_gets_pillow_from_the_input_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let bench = tmp.path().join("benchmarks/200.multimedia/210.thumbnailer");
    copy_dir(
        &repo().join("benchmarks/200.multimedia/210.thumbnailer"),
        &bench,
    );
    let source = std::fs::read_to_string(bench.join("input.py")).unwrap();
    std::fs::write(bench.join("input.py"), format!("{source}{PIL_VALIDATE}")).unwrap();
    // A relative --cache, as CI passes it: input.py runs in the benchmark's directory.
    let out = sebs(shared_cache().parent().unwrap())
        .args([
            "benchmark",
            "invoke",
            "210.thumbnailer",
            "test",
            "--validate",
        ])
        .args(["--repetitions", "1", "--benchmarks-dir"])
        .arg(tmp.path().join("benchmarks"))
        .args(["--cache", "shared-cache", "--output-dir"])
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("invocation 1/1: cold") && log.contains(", valid"),
        "{log}"
    );
    let envs: Vec<_> = std::fs::read_dir(shared_cache().join("input-env"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("sebs-input-env.json").is_file())
        .collect();
    assert!(!envs.is_empty(), "the environment is in the cache");

    // A module the environment lacks (anywhere in input.py): stopped before anything runs, with
    // the package and how to add it.
    std::fs::write(
        bench.join("input.py"),
        format!("{source}{PIL_VALIDATE}\n\ndef _extra():\n    import sebs_absent_module\n"),
    )
    .unwrap();
    let out = sebs(tmp.path())
        .args([
            "benchmark",
            "invoke",
            "210.thumbnailer",
            "test",
            "--validate",
        ])
        .args(["--repetitions", "1", "--benchmarks-dir"])
        .arg(tmp.path().join("benchmarks"))
        .arg("--cache")
        .arg(shared_cache())
        .arg("--output-dir")
        .arg(tmp.path().join("out2"))
        .output()
        .unwrap();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("imports `sebs_absent_module`")
            && log.contains("SEBS_INPUT_REQUIREMENTS=\"sebs_absent_module\""),
        "{log}"
    );
}
