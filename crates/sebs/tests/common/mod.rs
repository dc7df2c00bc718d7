//! Set-up shared by the end-to-end tests of the `sebs` binary: the repository, the caches kept
//! between tests, the command, its output, result documents and experiment configs.
// Each test binary uses part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::{Value, json};

/// The repository root (its `benchmarks/` is the catalogue).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A directory under the tests' target directory, kept between tests and runs.
pub fn kept_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// A cache shared by the tests that do not test caching, so pip installs and the data tree
/// are made once.
pub fn shared_cache() -> PathBuf {
    kept_dir("shared-cache")
}

/// The `sebs` binary, run in `dir`, without `RUST_LOG` and without colours.
pub fn sebs(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("sebs").unwrap();
    cmd.current_dir(dir)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

/// What a command printed: stdout, then stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A result file (experiments.json, results.json, `<type>_results_<memory>.json`).
pub fn document(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every invocation of every function of a result document, in call order.
pub fn invocations(doc: &Value) -> Vec<Value> {
    let mut all: Vec<Value> = doc["_invocations"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|f| f.as_object().unwrap().values().cloned())
        .collect();
    all.sort_by(|a, b| {
        a["times"]["client_begin"]
            .as_str()
            .cmp(&b["times"]["client_begin"].as_str())
    });
    all
}

/// The invocations of a result document of exactly one function, in call order.
pub fn one_function_invocations(doc: &Value) -> Vec<Value> {
    assert_eq!(
        doc["_invocations"].as_object().unwrap().len(),
        1,
        "one function"
    );
    invocations(doc)
}

/// Copy a directory tree.
pub fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if entry.path().is_dir() {
            copy(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// `dir/config.json`: Python on the local platform with `local` as `deployment.local`, and the
/// sections of `experiments` in `experiments`.
pub fn write_config(dir: &Path, experiments: Value, local: Value) -> PathBuf {
    let mut config = json!({"experiments": {"runtime": {"language": "python"}}, "deployment": {"name": "local", "local": local}});
    for (k, v) in experiments.as_object().unwrap() {
        config["experiments"][k] = v.clone();
    }
    let path = dir.join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// `sebs experiment invoke EXPERIMENT` with `config`, results in `out` and the shared cache, from
/// the repository; more flags can be added before it runs.
pub fn experiment_invoke(experiment: &str, config: &Path, out: &Path) -> Command {
    let mut cmd = sebs(&repo());
    cmd.args(["experiment", "invoke", experiment, "--config"])
        .arg(config)
        .arg("--output-dir")
        .arg(out)
        .arg("--cache")
        .arg(shared_cache());
    cmd
}

/// `sebs experiment process EXPERIMENT --output-dir OUT`, which must succeed; returns stdout.
pub fn experiment_process(experiment: &str, out: &Path) -> String {
    let assert = sebs(&repo())
        .args(["experiment", "process", experiment, "--output-dir"])
        .arg(out)
        .assert()
        .success();
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// `sebs benchmark invoke BENCHMARK test` with results in `out` and the shared cache, from the
/// repository; more flags (`--repetitions`, `--trigger`, ...) can be added before it runs.
pub fn benchmark_invoke(benchmark: &str, out: &Path) -> Command {
    let mut cmd = sebs(&repo());
    cmd.args(["benchmark", "invoke", benchmark, "test", "--output-dir"])
        .arg(out)
        .arg("--cache")
        .arg(shared_cache());
    cmd
}
