//! Experiments end to end on the local platform: perf-cost sample kinds and counts, kill and
//! resume without lost or duplicated samples, processing, and eviction-model against the
//! platform's keep-alive.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

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

fn write_config(dir: &Path, experiments: Value, local: Value) -> PathBuf {
    let mut config = json!({"experiments": {"runtime": {"language": "python"}}, "deployment": {"name": "local", "local": local}});
    for (k, v) in experiments.as_object().unwrap() {
        config["experiments"][k] = v.clone();
    }
    let path = dir.join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
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
fn perf_cost_cold_and_warm_give_only_their_kind_and_process_writes_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        json!({"perf-cost": {"benchmark": "110.dynamic-html", "experiments": ["cold", "warm"], "input-size": "test",
               "repetitions": 12, "concurrent-invocations": 4, "memory-sizes": [128]}}),
        json!({}),
    );
    let out = tmp.path().join("out");
    sebs()
        .args(["experiment", "invoke", "perf-cost", "--config"])
        .arg(&config)
        .arg("--output-dir")
        .arg(&out)
        .arg("--cache")
        .arg(shared_cache())
        .assert()
        .success();
    let dir = out.join("perf-cost");
    let cold = samples(&dir.join("cold_results_128.json"));
    assert_eq!(cold.len(), 12);
    assert!(
        cold.iter().all(|s| s["stats"]["cold_start"] == true),
        "cold run has only cold samples"
    );
    let warm = samples(&dir.join("warm_results_128.json"));
    assert_eq!(warm.len(), 12);
    assert!(
        warm.iter().all(|s| s["stats"]["cold_start"] == false),
        "warm run has only warm samples"
    );
    let stats: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cold_results_128.json")).unwrap())
            .unwrap();
    assert_eq!(stats["statistics"]["samples_generated"], 12);
    assert_eq!(stats["statistics"]["cold_count"], 12);

    sebs()
        .args(["experiment", "process", "perf-cost", "--output-dir"])
        .arg(&out)
        .arg("--cache")
        .arg(shared_cache())
        .assert()
        .success();
    assert!(dir.join("cold_results_128-processed.json").is_file());
    let csv = std::fs::read_to_string(dir.join("result.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "memory,type,is_cold,exec_time,connection_time,client_time,provider_time,mem_used"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 24);
    assert!(
        rows.iter()
            .filter(|r| r.starts_with("128,cold,true,"))
            .count()
            == 12
    );
    // Provider times were filled from the platform's records.
    assert!(
        rows.iter()
            .all(|r| r.split(',').nth(6).unwrap().parse::<u64>().unwrap() > 0),
        "{csv}"
    );
    let stats = sebs()
        .args(["experiment", "statistics"])
        .arg(&dir)
        .args(["--output-format", "json"])
        .assert()
        .success();
    let report: Value = serde_json::from_slice(&stats.get_output().stdout).unwrap();
    assert_eq!(report["warm_results_128-processed.json"]["client"]["n"], 12);
    assert!(
        report["warm_results_128-processed.json"]["client"]["t_interval_95"]["low"].is_number()
    );
    assert!(
        report["warm_results_128-processed.json"]["client"]["median_interval_95"]["high"]
            .is_number()
    );
}

#[test]
fn killed_perf_cost_resumes_to_exactly_the_requested_samples() {
    let tmp = tempfile::tempdir().unwrap();
    // 010.sleep sleeps 1 s: each batch takes about a second, so the kill lands mid-run.
    let config = write_config(
        tmp.path(),
        json!({"perf-cost": {"benchmark": "010.sleep", "experiments": ["burst"], "input-size": "test",
               "repetitions": 8, "concurrent-invocations": 2, "memory-sizes": [128]}}),
        json!({}),
    );
    let out = tmp.path().join("out");
    let journal = out.join("perf-cost/journal.jsonl");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sebs"))
        .current_dir(repo())
        .args(["-q", "experiment", "invoke", "perf-cost", "--config"])
        .arg(&config)
        .arg("--output-dir")
        .arg(&out)
        .arg("--cache")
        .arg(shared_cache())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let lines = std::fs::read_to_string(&journal)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no batch was journaled"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = std::fs::read_to_string(&journal).unwrap().lines().count();
    assert!(before < 8, "killed before the end ({before} samples)");
    // Without --resume the finished part is protected.
    sebs()
        .args(["experiment", "invoke", "perf-cost", "--config"])
        .arg(&config)
        .arg("--output-dir")
        .arg(&out)
        .arg("--cache")
        .arg(shared_cache())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("--resume"));
    sebs()
        .args(["experiment", "invoke", "perf-cost", "--resume", "--config"])
        .arg(&config)
        .arg("--output-dir")
        .arg(&out)
        .arg("--cache")
        .arg(shared_cache())
        .assert()
        .success();
    let results = samples(&out.join("perf-cost/burst_results_128.json"));
    assert_eq!(results.len(), 8, "exactly the requested samples");
    let ids: HashSet<String> = results
        .iter()
        .map(|s| s["request_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 8, "no duplicated sample");
    let journaled: Vec<Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let all_ids: HashSet<&str> = journaled
        .iter()
        .map(|r| r["result"]["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        all_ids.len(),
        journaled.len(),
        "the journal holds every invocation once"
    );
    assert!(journaled.len() >= before);
}

#[test]
fn eviction_model_finds_the_keep_alive() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        json!({"eviction-model": {"invocations": 1, "repetitions": 2, "times": [0.5, 1.0, 1.5, 2.0, 2.5]}}),
        json!({"keep-alive": 1}),
    );
    let out = tmp.path().join("out");
    sebs()
        .args(["experiment", "invoke", "eviction-model", "--config"])
        .arg(&config)
        .arg("--output-dir")
        .arg(&out)
        .arg("--cache")
        .arg(shared_cache())
        .assert()
        .success();
    let process = sebs()
        .args(["experiment", "process", "eviction-model", "--output-dir"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&process.get_output().stdout).into_owned();
    assert!(stdout.contains("consistent"), "{stdout}");
    let processed: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("eviction-model/result-processed.json")).unwrap(),
    )
    .unwrap();
    let threshold = processed["threshold_s"].as_f64().unwrap();
    assert!(
        (threshold - 1.0).abs() <= 0.5 + 1e-9,
        "threshold {threshold} s for a keep-alive of 1 s"
    );
    assert_eq!(processed["consistent_with_platform"], true);
    assert!(out.join("eviction-model/result.csv").is_file());
}
