//! Node.js end to end: the real `sebs` binary builds npm packages from the committed lockfiles,
//! runs real Node.js functions on the local platform and validates their outputs; cold and warm
//! starts are reported correctly; handler errors are recorded failures; a missing Node.js version
//! is a clear error.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{document, one_function_invocations, repo, sebs, text};
use serde_json::Value;

/// A cache shared by the tests of this file, so npm installs each package once.
fn shared_cache() -> PathBuf {
    common::kept_dir("node-shared-cache")
}

/// The shared cache holds the embedded storage's data: one storage benchmark at a time uses it.
static STORAGE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn storage_lock() -> std::sync::MutexGuard<'static, ()> {
    STORAGE.lock().unwrap_or_else(|e| e.into_inner())
}

fn node_major() -> String {
    let out = std::process::Command::new("node")
        .args(["-p", "process.versions.node.split('.')[0]"])
        .env_remove("NODE_OPTIONS")
        .output()
        .expect("node is installed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `sebs benchmark invoke BENCHMARK test --language nodejs --validate` with `n` repetitions.
fn invoke(dir: &Path, benchmark: &str, n: u32, extra: &[&str]) -> (Output, PathBuf) {
    let out_dir = dir.join(format!("out-{benchmark}"));
    let out = sebs(dir)
        .args([
            "benchmark",
            "invoke",
            benchmark,
            "test",
            "--language",
            "nodejs",
        ])
        .args(["--validate", "--repetitions", &n.to_string(), "--cache"])
        .arg(shared_cache())
        .arg("--output-dir")
        .arg(&out_dir)
        .args(extra)
        .output()
        .unwrap();
    (out, out_dir.join("experiments.json"))
}

/// The first invocation is cold, the rest warm on the same container, and all validate.
fn check_cold_then_warm(benchmark: &str, n: u32) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let (out, results) = invoke(tmp.path(), benchmark, n, &[]);
    assert!(out.status.success(), "{benchmark}:\n{}", text(&out));
    let doc = document(&results);
    let all = one_function_invocations(&doc);
    assert_eq!(all.len(), n as usize);
    let container = all[0]["output"]["container_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(container.len(), 8);
    for (i, inv) in all.iter().enumerate() {
        assert_eq!(inv["stats"]["failure"], false, "{inv}");
        assert_eq!(inv["validation"]["passed"], true, "{inv}");
        assert_eq!(
            inv["output"]["is_cold"],
            i == 0,
            "{benchmark}: only invocation 1 is cold (invocation {}): {inv}",
            i + 1
        );
        assert_eq!(inv["stats"]["cold_start"], i == 0, "{inv}");
        assert_eq!(
            inv["output"]["container_id"], container,
            "warm invocations reuse the container"
        );
        // Node's wrapper reports compute_time in µs, within the function's begin..end.
        let compute = inv["output"]["compute_time"].as_f64().unwrap();
        let function = inv["times"]["benchmark"].as_f64().unwrap();
        assert!(
            compute > 0.0 && compute <= function + 1000.0,
            "compute_time {compute} µs vs function time {function} µs"
        );
    }
    let runtime = &doc["config"]["experiments"]["runtime"];
    assert_eq!(runtime["language"], "nodejs");
    assert_eq!(runtime["version"], node_major());
    let interpreter = doc["config"]["deployment"]["resources"]["interpreter"]
        .as_str()
        .unwrap();
    assert!(interpreter.ends_with("/node"), "{interpreter}");
    doc
}

#[test]
fn dynamic_html_cold_then_warm() {
    let doc = check_cold_then_warm("110.dynamic-html", 4);
    let page = one_function_invocations(&doc)[1]["output"]["result"]["result"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(page.contains("Welcome testname!"), "{page}");
    assert_eq!(page.matches("<li>").count(), 10, "{page}");
}

#[test]
fn thumbnailer_cold_then_warm() {
    let _storage = storage_lock();
    let doc = check_cold_then_warm("210.thumbnailer", 3);
    let result = &one_function_invocations(&doc)[0]["output"]["result"];
    assert!(
        result["result"]["key"].as_str().unwrap().ends_with(".jpg"),
        "{result}"
    );
    assert!(result["measurement"]["upload_size"].as_u64().unwrap() > 1000);
}

#[test]
fn every_node_benchmark_validates() {
    let _storage = storage_lock();
    let tmp = tempfile::tempdir().unwrap();
    for benchmark in [
        "010.sleep",
        "120.uploader",
        "130.crud-api",
        "311.compression",
    ] {
        let (out, results) = invoke(tmp.path(), benchmark, 2, &[]);
        assert!(out.status.success(), "{benchmark}:\n{}", text(&out));
        for inv in one_function_invocations(&document(&results)) {
            assert_eq!(inv["validation"]["passed"], true, "{benchmark}: {inv}");
        }
    }
}

#[test]
fn package_has_the_lambda_node_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let package = || {
        sebs(tmp.path())
            .args([
                "benchmark",
                "package",
                "110.dynamic-html",
                "--language",
                "nodejs",
                "--cache",
            ])
            .arg(tmp.path().join("cache"))
            .output()
            .unwrap()
    };
    let out = package();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = PathBuf::from(stdout.split('\t').next().unwrap().trim());
    assert!(
        dir.to_string_lossy()
            .contains(&format!("/nodejs/code_package/default/{}/", node_major())),
        "{}",
        dir.display()
    );
    for file in [
        "handler.js",
        "package.json",
        "package-lock.json",
        "function/function.js",
        "function/templates/template.html",
        "node_modules/mustache/package.json",
    ] {
        assert!(
            dir.join(file).is_file(),
            "{file} missing in {}",
            dir.display()
        );
    }
    // Built once: the second run reuses the package.
    let again = package();
    assert!(
        text(&again).contains("reusing the cached code package"),
        "{}",
        text(&again)
    );
}

#[test]
fn a_throwing_handler_is_a_recorded_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("benchmarks/000.microbenchmarks/010.sleep");
    std::fs::create_dir_all(root.join("nodejs")).unwrap();
    let original = repo().join("benchmarks/000.microbenchmarks/010.sleep");
    for file in ["config.json", "input.py"] {
        std::fs::copy(original.join(file), root.join(file)).unwrap();
    }
    std::fs::write(
        root.join("nodejs/function.js"),
        "exports.handler = async (event) => { throw new RangeError('sleep ' + event.sleep + ' is out of range'); };\n",
    )
    .unwrap();
    let (out, results) = invoke(
        tmp.path(),
        "010.sleep",
        2,
        &[
            "--benchmarks-dir",
            root.parent().unwrap().parent().unwrap().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = one_function_invocations(&document(&results));
    assert_eq!(all.len(), 2, "both invocations ran and were recorded");
    for inv in &all {
        assert_eq!(inv["stats"]["failure"], true, "{inv}");
        assert_eq!(inv["error"]["type"], "RangeError", "{inv}");
        assert_eq!(inv["error"]["message"], "sleep 1 is out of range", "{inv}");
        let trace = inv["error"]["traceback"].to_string();
        assert!(trace.contains("function.js"), "{trace}");
        assert!(
            !trace.contains("bootstrap.js"),
            "runtime frames are cut: {trace}"
        );
    }
}

#[test]
fn a_missing_node_version_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sebs(tmp.path())
        .args([
            "benchmark",
            "invoke",
            "110.dynamic-html",
            "test",
            "--language",
            "nodejs",
        ])
        .args(["--language-version", "7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let major = node_major();
    assert!(
        stderr.contains("Node.js 7 is not installed")
            && stderr.contains(&format!("--language-version {major}")),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!tmp.path().join("cache").exists(), "nothing was built");
}

#[test]
fn fork_mode_is_recorded_as_exec_for_node() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, results) = invoke(tmp.path(), "110.dynamic-html", 2, &["--cold-start", "fork"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = document(&results);
    let resources = &doc["config"]["deployment"]["resources"];
    assert_eq!(resources["cold-start"], "exec", "{resources}");
    assert!(
        resources["cold-start-note"]
            .as_str()
            .unwrap()
            .contains("Python functions only"),
        "{resources}"
    );
    assert!(text(&out).contains("exec cold starts"), "{}", text(&out));
}
