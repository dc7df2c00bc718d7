//! Storage and queue triggers on the local platform, end to end: the real `sebs` binary, the
//! embedded queue and object store, real Python functions. A failing function's message is
//! retried and dead-lettered (checked in the queue's SQLite file, which outlives the run), and
//! the trigger-latency experiment reports latencies for all four trigger kinds.

mod common;

use std::path::Path;

use common::{
    copy, document, experiment_process, one_function_invocations, repo, sebs, write_config,
};
use serde_json::{Value, json};

/// `sebs benchmark invoke` of `benchmark` in `language` through `trigger`, with a private cache
/// (each test's trigger queues are its own).
fn invoke_in(dir: &Path, config: &Path, benchmark: &str, trigger: &str, language: &str) -> Value {
    let out = dir.join(format!("out-{trigger}-{language}"));
    sebs(&repo())
        .args([
            "benchmark",
            "invoke",
            benchmark,
            "test",
            "--trigger",
            trigger,
            "--language",
            language,
        ])
        .args(["--repetitions", "3", "--config"])
        .arg(config)
        .arg("--output-dir")
        .arg(&out)
        .arg("--cache")
        .arg(dir.join("cache"))
        .timeout(std::time::Duration::from_secs(600))
        .assert()
        .success();
    document(&out.join("experiments.json"))
}

#[test]
fn queue_and_storage_triggers_invoke_and_return_through_the_result_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        json!({}),
        json!({"triggers": {"batching-window": 0}}),
    );
    for (trigger, language) in [
        ("queue", "python"),
        ("storage", "python"),
        ("queue", "nodejs"),
        ("storage", "nodejs"),
    ] {
        let doc = invoke_in(tmp.path(), &config, "010.sleep", trigger, language);
        let all = one_function_invocations(&doc);
        assert_eq!(all.len(), 3, "{trigger} {language}: {doc}");
        for inv in &all {
            assert_eq!(inv["stats"]["failure"], false, "{trigger}: {inv}");
            // The queue message or the uploaded object carries the input (`test`: sleep 1).
            assert_eq!(inv["output"]["result"]["result"], 1, "{trigger}: {inv}");
            assert!(inv["times"]["benchmark"].as_u64().is_some(), "{inv}");
        }
    }
}

/// A copy of 010.sleep whose function always raises.
fn failing_catalogue(tmp: &Path) -> std::path::PathBuf {
    let root = tmp.join("benchmarks");
    let dir = root.join("000.microbenchmarks/010.sleep");
    copy(
        &repo().join("benchmarks/000.microbenchmarks/010.sleep"),
        &dir,
    );
    std::fs::write(
        dir.join("python/function.py"),
        "def handler(event):\n    raise RuntimeError('always fails')\n",
    )
    .unwrap();
    root
}

#[test]
fn a_failing_functions_message_is_retried_then_dead_lettered() {
    let tmp = tempfile::tempdir().unwrap();
    let catalogue = failing_catalogue(tmp.path());
    let path = write_config(
        tmp.path(),
        json!({}),
        json!({"triggers": {"max-receive-count": 2, "visibility-timeout": 1, "result-timeout": 6}}),
    );
    let out = tmp.path().join("out");
    let cache = tmp.path().join("cache");
    sebs(&repo())
        .args([
            "benchmark",
            "invoke",
            "010.sleep",
            "test",
            "--trigger",
            "queue",
        ])
        .args(["--repetitions", "1", "--benchmarks-dir"])
        .arg(&catalogue)
        .arg("--config")
        .arg(&path)
        .arg("--output-dir")
        .arg(&out)
        .arg("--cache")
        .arg(&cache)
        .timeout(std::time::Duration::from_secs(600))
        .output()
        .unwrap();
    let doc = document(&out.join("experiments.json"));
    let inv = &one_function_invocations(&doc)[0];
    assert_eq!(inv["stats"]["failure"], true, "{inv}");
    assert!(
        inv["error"]["message"]
            .as_str()
            .unwrap()
            .contains("dead-lettered"),
        "{inv}"
    );
    // Delivered twice (two receives), then moved to the dead-letter queue on the next poll;
    // the SQLite file outlives the run, so another client reads it.
    let database = cache.join("local/triggers/queue-volume/queues.db");
    let script = r#"
import sqlite3, sys, json, time
for _ in range(20):
    rows = sqlite3.connect(sys.argv[1]).execute("SELECT queue, body FROM messages").fetchall()
    dead = [r for r in rows if r[0].endswith("-queue-dlq")]
    if dead:
        break
    time.sleep(0.5)
assert len(dead) == 1, rows
assert "sebs-trigger-request" in json.loads(dead[0][1]), dead
print("ok")
"#;
    let run = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&database)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", common::text(&run));
}

#[test]
fn trigger_latency_reports_all_four_trigger_kinds() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        json!({"trigger-latency": {"repetitions": 3, "burst": 4, "sync-repetitions": 3}}),
        json!({"triggers": {"batching-window": 0.05}}),
    );
    let out = tmp.path().join("out");
    sebs(&repo())
        .args(["experiment", "invoke", "trigger-latency", "--config"])
        .arg(&config)
        .arg("--output-dir")
        .arg(&out)
        .arg("--cache")
        .arg(tmp.path().join("cache"))
        .timeout(std::time::Duration::from_secs(900))
        .assert()
        .success();
    let text = experiment_process("trigger-latency", &out);
    let summary: Value = document(&out.join("trigger-latency/summary.json"));
    for kind in ["http", "library", "storage", "queue"] {
        let all = summary
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["trigger"] == kind && s["phase"] == "all")
            .unwrap_or_else(|| panic!("no {kind} in {summary}"));
        assert_eq!(all["samples"], 7, "{all}");
        assert_eq!(all["failures"], 0, "{all}");
        let p50 = all["p50_ms"].as_f64().unwrap();
        assert!(p50 > 0.0 && p50 < 10_000.0, "{all}");
        assert!(text.contains(kind), "{text}");
    }
    let csv = std::fs::read_to_string(out.join("trigger-latency/latencies.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4 * 7, "{csv}");
}
