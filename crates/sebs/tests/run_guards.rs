//! The real `sebs` binary against what goes wrong around a run: a second run on the same
//! output directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The package cache every test suite of the workspace shares (packages are built once).
fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("shared-cache")
}

fn sebs() -> Command {
    let mut cmd = Command::cargo_bin("sebs").unwrap();
    cmd.current_dir(repo())
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

/// Wait until `path` holds at least `lines` lines (or panic after two minutes).
fn wait_for_lines(path: &Path, lines: usize, what: &str) {
    let started = Instant::now();
    while std::fs::read_to_string(path).map_or(0, |t| t.lines().count()) < lines {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what} ({})",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn invocation_count(path: &Path) -> usize {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["_invocations"]
        .as_object()
        .unwrap()
        .values()
        .map(|f| f.as_object().unwrap().len())
        .sum()
}

#[test]
fn a_second_benchmark_invoke_on_one_directory_is_refused_and_the_first_is_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // 010.sleep sleeps a second per invocation: the first run holds the directory for seconds.
    let mut first = std::process::Command::new(assert_cmd::cargo::cargo_bin("sebs"))
        .current_dir(repo())
        .args([
            "-q",
            "benchmark",
            "invoke",
            "010.sleep",
            "test",
            "--repetitions",
            "3",
        ])
        .arg("--output-dir")
        .arg(&out)
        .arg("--cache")
        .arg(shared_cache())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_lines(&out.join(".sebs.lock"), 1, "the first run's lock");

    let second = sebs()
        .args([
            "benchmark",
            "invoke",
            "010.sleep",
            "test",
            "--repetitions",
            "1",
        ])
        .arg("--output-dir")
        .arg(&out)
        .arg("--cache")
        .arg(shared_cache())
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&second.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!("another sebs run (pid {})", first.id())),
        "{stderr}"
    );
    assert!(stderr.contains("--output-dir"), "{stderr}");

    assert!(first.wait().unwrap().success());
    assert_eq!(
        invocation_count(&out.join("experiments.json")),
        3,
        "the first run's results are all there"
    );
}
