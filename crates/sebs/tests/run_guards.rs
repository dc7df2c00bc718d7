//! The real `sebs` binary against what goes wrong around a run: a second run on the same
//! output directory, SIGTERM in the middle of an experiment, and memory or timeout values out of
//! range in flags, config files and a benchmark's config.json.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::{Value, json};

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

fn samples(path: &Path) -> Vec<Value> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["_invocations"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|m| m.as_object().unwrap().values().cloned())
        .collect()
}

#[test]
fn a_sigtermed_experiment_stops_like_ctrl_c_with_143_and_resumes_to_exactly_the_requested_samples()
{
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config.json");
    // 010.sleep sleeps a second per invocation: the signal lands mid-run.
    let experiments = json!({"runtime": {"language": "python"},
        "perf-cost": {"benchmark": "010.sleep", "experiments": ["burst"], "input-size": "test",
                      "repetitions": 8, "concurrent-invocations": 2, "memory-sizes": [128]}});
    std::fs::write(
        &config,
        json!({"experiments": experiments, "deployment": {"name": "local"}}).to_string(),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let journal = out.join("perf-cost/journal.jsonl");
    let args = |resume: bool| {
        let mut args: Vec<std::ffi::OsString> = ["-q", "experiment", "invoke", "perf-cost"]
            .map(Into::into)
            .to_vec();
        if resume {
            args.push("--resume".into());
        }
        for (flag, value) in [
            ("--config", &config),
            ("--output-dir", &out),
            ("--cache", &shared_cache()),
        ] {
            args.push(flag.into());
            args.push(value.into());
        }
        args
    };
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sebs"))
        .current_dir(repo())
        .args(args(false))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_lines(&journal, 2, "the first batch");
    // SAFETY: signalling the child this test started.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let stopped = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("interrupted (SIGTERM)") && stderr.contains("--resume"),
        "{stderr}"
    );
    let before = std::fs::read_to_string(&journal).unwrap().lines().count();
    assert!(before < 8, "stopped before the end ({before} samples)");

    sebs().args(args(true)).assert().success();
    let results = samples(&out.join("perf-cost/burst_results_128.json"));
    assert_eq!(results.len(), 8, "exactly the requested samples");
    let mut ids: Vec<&str> = results
        .iter()
        .map(|s| s["request_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8, "no duplicated sample");
}

/// One range check for flags, config files and config.json: flags are argument errors (exit 2),
/// file values are errors naming their JSON path (exit 1).
#[test]
fn memory_and_timeout_are_range_checked_alike_in_flags_and_files() {
    let tmp = tempfile::tempdir().unwrap();
    for (flag, value, shown) in [
        ("--memory", "0", "0 MB is out of range"),
        ("--memory", "999999", "128 to 10240 MB"),
        ("--timeout", "0", "0 s is out of range"),
        ("--timeout", "999999", "1 to 900 seconds"),
    ] {
        sebs()
            .args(["benchmark", "invoke", "010.sleep", "test", flag, value])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(shown));
    }

    let config = tmp.path().join("config.json");
    std::fs::write(
        &config,
        json!({"experiments": {"perf-cost": {"benchmark": "010.sleep", "memory-sizes": [128, 999999]}}})
            .to_string(),
    )
    .unwrap();
    sebs()
        .args(["experiment", "invoke", "perf-cost", "--config"])
        .arg(&config)
        .arg("--output-dir")
        .arg(tmp.path().join("out"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "`experiments.perf-cost.memory-sizes[1]`: 999999 MB is out of range",
        ));

    let benchmark = tmp.path().join("benchmarks/000.g/001.zero");
    std::fs::create_dir_all(benchmark.join("python")).unwrap();
    std::fs::write(benchmark.join("input.py"), "").unwrap();
    std::fs::write(benchmark.join("python/function.py"), "").unwrap();
    for (config, shown) in [
        (
            r#"{"timeout": 10, "memory": 0, "languages": ["python"]}"#,
            "`memory`: 0 MB is out of range",
        ),
        (
            r#"{"timeout": 999999, "memory": 128, "languages": ["python"]}"#,
            "`timeout`: 999999 s is out of range",
        ),
    ] {
        std::fs::write(benchmark.join("config.json"), config).unwrap();
        sebs()
            .args([
                "benchmark",
                "invoke",
                "001.zero",
                "test",
                "--benchmarks-dir",
            ])
            .arg(tmp.path().join("benchmarks"))
            .arg("--output-dir")
            .arg(tmp.path().join("out"))
            .assert()
            .code(1)
            .stderr(predicates::str::contains("001.zero/config.json"))
            .stderr(predicates::str::contains(shown));
    }
}

/// Exit status 2 (argument errors, clap's) is documented wherever exit statuses are, and is what
/// an argument error gives.
#[test]
fn exit_status_2_is_documented_and_given_for_argument_errors() {
    for command in [
        vec!["--help"],
        vec!["benchmark", "invoke", "--help"],
        vec!["experiment", "invoke", "--help"],
        vec!["benchmark", "regression", "--help"],
    ] {
        let out = sebs().args(&command).assert().success();
        let help = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(help.contains("2 invalid arguments"), "{command:?}: {help}");
    }
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.contains("`2` invalid arguments"), "README");
    sebs()
        .args(["experiment", "invoke", "perf-cost", "--force"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--resume"));
}
