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
    let mut first = stability_run(&db, &suite, &out, "15s", "45s")
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
    let second = stability_run(&db, &suite, &out, "15s", "45s")
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
    // The config's `store` key names the store when neither --store nor SEBS_STORE does.
    let config = tmp.path().join("config.json");
    std::fs::write(&config, json!({"store": db}).to_string()).unwrap();
    let from_config = sebs(tmp.path())
        .env_remove("SEBS_STORE")
        .args(["db", "query", "--format", "json", "--config"])
        .arg(&config)
        .arg("SELECT COUNT(*) AS runs FROM runs")
        .assert()
        .success();
    let rows: serde_json::Value = serde_json::from_slice(&from_config.get_output().stdout).unwrap();
    assert_eq!(rows, json!([{"runs": 1}]));
    let migrate = sebs(tmp.path())
        .args(["--store", db.to_str().unwrap(), "db", "migrate"])
        .assert()
        .success();
    assert!(text(migrate.get_output()).contains("schema version 2 (was 2)"));
}

/// Whether the local platform can limit a function's CPU here (cgroups with the cpu controller,
/// writable: root on these machines).
fn cpu_limits_work() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let v1 = Path::new("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").is_file();
    let v2 = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
        .is_ok_and(|c| c.split_whitespace().any(|c| c == "cpu"));
    root && (v1 || v2)
}

/// The slot whose runs were made with the lowered CPU share: the first whose written config
/// has `cpu-share` on.
fn first_slot_with_cpu_share(out: &Path, study: &str) -> Option<u64> {
    let mut slots: Vec<PathBuf> = std::fs::read_dir(out.join(study))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    slots.sort();
    slots.iter().find_map(|slot| {
        let config = slot.join("local-110.dynamic-html-test/config.json");
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(config).ok()?).ok()?;
        (doc["deployment"]["local"]["cpu-share"] == true).then(|| {
            let name = slot.file_name().unwrap().to_string_lossy().into_owned();
            name.trim_start_matches("slot-").parse().unwrap()
        })
    })
}

#[test]
fn lowering_the_cpu_share_halfway_is_found_within_one_slot() {
    if !cpu_limits_work() {
        eprintln!(
            "SKIP lowering_the_cpu_share_halfway_is_found_within_one_slot: no writable cgroup cpu controller (run as root on a host with cgroups)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    benchmark_invoke("110.dynamic-html", &tmp.path().join("warm-up"))
        .args(["--repetitions", "1"])
        .assert()
        .success();
    let suite = write_suite(tmp.path(), "cpu-share");
    // Cold starts: starting Python and importing the benchmark take ~100 ms of CPU, several
    // times the 7.2 ms per 100 ms CFS period of 128 MB's share, so every sample is slowed (warm
    // invocations take ~1 ms of CPU and mostly fit within the quota).
    let suite_doc = json!({"name": "cpu-share", "benchmarks": ["110.dynamic-html"], "sizes": ["test"],
        "platforms": [{"name": "local", "config": "local.json"}], "repetitions": 3,
        "modes": ["cold"], "memory": [128]});
    std::fs::write(&suite, suite_doc.to_string()).unwrap();
    let db = tmp.path().join("study.db");
    let out = tmp.path().join("out");
    let mut runner = stability_run(&db, &suite, &out, "12s", "96s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Halfway (slot 3 done of 8): the CPU share is lowered from a whole CPU to 128 MB's share
    // (128/1769 of a vCPU); the next slot's runs read the changed config.
    while !slot_statuses(&db, "cpu-share").contains(&(3, "done".into())) {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "slot 3 did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let lowered = json!({"experiments": {"runtime": {"language": "python"}},
        "deployment": {"name": "local", "local": {"cpu-share": true}}});
    std::fs::write(tmp.path().join("local.json"), lowered.to_string()).unwrap();
    let status = runner.wait().unwrap();
    assert!(status.success());
    let truth = first_slot_with_cpu_share(&out, "cpu-share").expect("a slot ran with cpu-share");
    let json_path = tmp.path().join("analysis.json");
    let report = sebs(tmp.path())
        .args([
            "--store",
            db.to_str().unwrap(),
            "stability",
            "report",
            "--study",
            "cpu-share",
            "--include-cold",
            "-o",
        ])
        .arg(tmp.path().join("stability.html"))
        .arg("--json")
        .arg(&json_path)
        .assert()
        .success();
    let analyses: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let series = &analyses[0];
    let medians: Vec<String> = series["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}: {:.0} µs",
                s["index"],
                s["median"]["value"].as_f64().unwrap_or(f64::NAN)
            )
        })
        .collect();
    let report = format!(
        "{}slot medians: {}",
        text(report.get_output()),
        medians.join(", ")
    );
    eprintln!("truth {truth}; {report}");
    assert_eq!(series["key"]["benchmark"], "110.dynamic-html", "{analyses}");
    let changes = series["change_points"].as_array().unwrap();
    let largest = changes
        .iter()
        .max_by(|a, b| {
            a["relative_shift"]
                .as_f64()
                .unwrap()
                .abs()
                .total_cmp(&b["relative_shift"].as_f64().unwrap().abs())
        })
        .unwrap_or_else(|| panic!("no change point; truth slot {truth}: {report}"));
    let found = largest["slot_index"].as_u64().unwrap();
    assert!(
        found.abs_diff(truth) <= 1,
        "change point at slot {found}, truth {truth}: {report}"
    );
    assert!(
        largest["relative_shift"].as_f64().unwrap() > 0.0,
        "a slowdown: {largest}"
    );
    let html = std::fs::read_to_string(tmp.path().join("stability.html")).unwrap();
    assert!(html.contains("110.dynamic-html on local"));
}
