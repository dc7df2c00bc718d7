//! Experiments end to end on the local platform: perf-cost sample kinds and counts, kill and
//! resume without lost or duplicated samples, processing, and eviction-model against the
//! platform's keep-alive.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{
    document, experiment_invoke, experiment_process, invocations, repo, sebs, shared_cache,
    write_config,
};
use serde_json::{Value, json};

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
    experiment_invoke("perf-cost", &config, &out)
        .assert()
        .success();
    let dir = out.join("perf-cost");
    let cold = invocations(&document(&dir.join("cold_results_128.json")));
    assert_eq!(cold.len(), 12);
    assert!(
        cold.iter().all(|s| s["stats"]["cold_start"] == true),
        "cold run has only cold samples"
    );
    let warm = invocations(&document(&dir.join("warm_results_128.json")));
    assert_eq!(warm.len(), 12);
    assert!(
        warm.iter().all(|s| s["stats"]["cold_start"] == false),
        "warm run has only warm samples"
    );
    let stats = document(&dir.join("cold_results_128.json"));
    assert_eq!(stats["statistics"]["samples_generated"], 12);
    assert_eq!(stats["statistics"]["cold_count"], 12);

    sebs(&repo())
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
    let stats = sebs(&repo())
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
    experiment_invoke("perf-cost", &config, &out)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("--resume"));
    experiment_invoke("perf-cost", &config, &out)
        .arg("--resume")
        .assert()
        .success();
    let results = invocations(&document(&out.join("perf-cost/burst_results_128.json")));
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
    experiment_invoke("eviction-model", &config, &out)
        .assert()
        .success();
    let stdout = experiment_process("eviction-model", &out);
    assert!(stdout.contains("consistent"), "{stdout}");
    let processed = document(&out.join("eviction-model/result-processed.json"));
    let threshold = processed["threshold_s"].as_f64().unwrap();
    assert!(
        (threshold - 1.0).abs() <= 0.5 + 1e-9,
        "threshold {threshold} s for a keep-alive of 1 s"
    );
    assert_eq!(processed["consistent_with_platform"], true);
    assert!(out.join("eviction-model/result.csv").is_file());
}
