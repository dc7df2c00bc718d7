//! `sebs stability run` and `sebs db` end to end on the local platform: a study killed between
//! slots resumes at the next slot with no slot run twice or lost; runs recorded with `--store`;
//! `db import` and `db query`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{benchmark_invoke, repo, sebs, shared_cache, text};
use sebs_store::Store;
use serde_json::json;

/// A suite of 110.dynamic-html on the local platform (warm, two samples per slot).
fn write_suite(dir: &Path, name: &str) -> PathBuf {
    let local = json!({"experiments": {"runtime": {"language": "python"}}, "deployment": {"name": "local", "local": {}}});
    std::fs::write(dir.join("local.json"), local.to_string()).unwrap();
    let suite = json!({"name": name, "benchmarks": ["110.dynamic-html"], "sizes": ["test"],
        "platforms": [{"name": "local", "config": "local.json"}], "repetitions": 2,
        "modes": ["warm"], "memory": [128]});
    let path = dir.join("suite.json");
    std::fs::write(&path, suite.to_string()).unwrap();
    path
}

fn stability_run(db: &Path, suite: &Path, out: &Path, every: &str, length: &str) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("sebs"));
    cmd.current_dir(repo())
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .arg("--store")
        .arg(db)
        .args(["stability", "run"])
        .arg(suite)
        .args(["--every", every, "--for", length, "--output-dir"])
        .arg(out)
        .arg("--cache")
        .arg(shared_cache());
    cmd
}

fn slot_statuses(db: &Path, study: &str) -> Vec<(i64, String)> {
    let Ok(mut store) = Store::open(db.to_str().unwrap()) else {
        return Vec::new();
    };
    let Some(study) = store.study(study).unwrap() else {
        return Vec::new();
    };
    store
        .slots(study.id)
        .unwrap()
        .into_iter()
        .map(|s| (s.slot, s.status))
        .collect()
}

#[test]
fn a_study_killed_between_slots_resumes_at_the_next_slot() {
    let tmp = tempfile::tempdir().unwrap();
    // The package built once beforehand, so a slot takes seconds, well within the interval.
    benchmark_invoke("110.dynamic-html", &tmp.path().join("warm-up"))
        .args(["--repetitions", "1"])
        .assert()
        .success();
    let suite = write_suite(tmp.path(), "resume");
    let db = tmp.path().join("study.db");
    let out = tmp.path().join("out");
    let mut first = stability_run(&db, &suite, &out, "10s", "30s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !slot_statuses(&db, "resume").contains(&(0, "done".into())) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "slot 0 did not finish"
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "the runner exited early"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Killed between slots 0 and 1 (SIGKILL: nothing runs on the way out).
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(slot_statuses(&db, "resume"), [(0, "done".into())]);
    let second = stability_run(&db, &suite, &out, "10s", "30s")
        .output()
        .unwrap();
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains("done 3, failed 0, missed 0"),
        "{}",
        text(&second)
    );
    let done: Vec<(i64, String)> = (0..3).map(|k| (k, "done".to_owned())).collect();
    assert_eq!(slot_statuses(&db, "resume"), done);
    // One recorded run per slot, each with its two warm samples.
    let mut store = Store::open(db.to_str().unwrap()).unwrap();
    let per_slot = store
        .query("SELECT r.slot, COUNT(DISTINCT r.id), COUNT(i.id), SUM(i.cold) FROM runs r JOIN invocations i ON i.run_id = r.id GROUP BY r.slot ORDER BY r.slot")
        .unwrap();
    let rows: Vec<Vec<i64>> = per_slot
        .rows
        .iter()
        .map(|r| r.iter().map(|c| c.as_i64().unwrap()).collect())
        .collect();
    assert_eq!(rows, [[0, 1, 2, 0], [1, 1, 2, 0], [2, 1, 2, 0]]);
}

#[test]
fn runs_are_recorded_with_store_and_queried() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("runs.db");
    let out = tmp.path().join("invoke");
    let invoked = benchmark_invoke("110.dynamic-html", &out)
        .args(["--repetitions", "3", "--store"])
        .arg(&db)
        .assert()
        .success();
    assert!(text(invoked.get_output()).contains("recorded 1 run(s), 3 invocations"));
    // The same directory again through `db import`: already recorded.
    let again = sebs(tmp.path())
        .env("SEBS_STORE", &db)
        .args(["db", "import"])
        .arg(&out)
        .assert()
        .success();
    assert!(text(again.get_output()).contains("already recorded"));
    let query = sebs(tmp.path())
        .args(["--store", db.to_str().unwrap(), "db", "query", "--format", "csv"])
        .arg("SELECT c.benchmark, p.name, COUNT(*) AS n FROM invocations i JOIN configurations c ON c.id = i.configuration_id JOIN runs r ON r.id = i.run_id JOIN platforms p ON p.id = r.platform_id GROUP BY c.benchmark, p.name")
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&query.get_output().stdout),
        "benchmark,name,n\r\n110.dynamic-html,local,3\r\n"
    );
    let bad = sebs(tmp.path())
        .args([
            "--store",
            db.to_str().unwrap(),
            "db",
            "query",
            "SELECT * FROM nowhere",
        ])
        .assert()
        .failure();
    assert!(text(bad.get_output()).contains("nowhere"));
    let migrate = sebs(tmp.path())
        .args(["--store", db.to_str().unwrap(), "db", "migrate"])
        .assert()
        .success();
    assert!(text(migrate.get_output()).contains("schema version 2 (was 2)"));
}
