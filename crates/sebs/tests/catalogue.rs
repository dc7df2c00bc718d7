//! The catalogue end to end: 220, 411, 501 and 504 invoked at size `small` with `--validate`
//! (the same input gives the same result on every invocation), and `benchmark regression` over
//! a subset, passing and failing.

mod common;

use std::path::Path;

use common::{document, invocations, repo, sebs, shared_cache, text};
use serde_json::Value;

/// `benchmark invoke BENCH small --validate --repetitions 2`; returns the two results.
fn invoke_small(dir: &Path, benchmark: &str) -> Vec<Value> {
    let out_dir = dir.join(benchmark);
    let out = sebs(dir)
        .args(["benchmark", "invoke", benchmark, "small", "--validate"])
        .args(["--repetitions", "2", "--cache"])
        .arg(shared_cache())
        .arg("--output-dir")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{benchmark}: {}", text(&out));
    let all = invocations(&document(&out_dir.join("experiments.json")));
    assert_eq!(all.len(), 2, "{benchmark}");
    for r in &all {
        assert_eq!(
            r["validation"]["passed"], true,
            "{benchmark}: {}",
            r["validation"]
        );
    }
    all.iter()
        .map(|r| r["output"]["result"]["result"].clone())
        .collect()
}

#[test]
fn graph_pagerank_small_validates_and_repeats() {
    let tmp = tempfile::tempdir().unwrap();
    let results = invoke_small(tmp.path(), "501.graph-pagerank");
    // Seed 42 on every invocation: the same rank (PageRank's sums may differ in the last bits).
    let (a, b) = (results[0].as_f64().unwrap(), results[1].as_f64().unwrap());
    assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    assert!((a - 0.001_212_248_093_153).abs() < 1e-9, "{a}");
}

#[test]
fn storage_benchmarks_small_validate_and_repeat() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let video = invoke_small(dir, "220.video-processing");
    for r in &video {
        let key = r["key"].as_str().unwrap();
        assert!(key.ends_with(".mp4"), "{key}");
    }

    let inference = invoke_small(dir, "411.image-recognition");
    assert_eq!(inference[0]["top5"].as_array().unwrap().len(), 5);
    assert_eq!(inference[0]["classes"], 1000);
    // Cold then warm (model kept in the instance): the same classes.
    let classes = |r: &Value| -> Vec<u64> {
        r["top5"]
            .as_array()
            .unwrap()
            .iter()
            .take(3)
            .map(|p| p[0].as_u64().unwrap())
            .collect()
    };
    assert_eq!(classes(&inference[0]), classes(&inference[1]));

    let dna = invoke_small(dir, "504.dna-visualisation");
    assert_eq!(dna[0]["bases"], 4_215_606);
    assert_eq!(dna[0]["bases"], dna[1]["bases"]);
}

#[test]
fn regression_passes_a_subset_and_writes_one_json_per_test() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = sebs(dir)
        .args([
            "benchmark",
            "regression",
            "test",
            "--benchmark-name",
            "graph",
            "--output-dir",
            "results",
            "--cache",
        ])
        .arg(shared_cache())
        .output()
        .unwrap();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for id in ["501.graph-pagerank", "502.graph-mst", "503.graph-bfs"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(id) && l.contains("python") && l.contains("PASS")),
            "{id} not passed:\n{stdout}"
        );
        let path = dir.join(format!("results/regression_local_{id}_python_x64.json"));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(doc["passed"], true, "{doc}");
        assert_eq!(doc["size"], "test");
        assert_eq!(doc["input"]["size"], 10);
        assert_eq!(doc["invocations"][0]["validation"]["passed"], true);
    }
    assert!(stdout.contains("3 passed, 0 failed"), "{stdout}");
    // Only the filtered benchmarks ran.
    assert_eq!(std::fs::read_dir(dir.join("results")).unwrap().count(), 3);
}

#[test]
fn regression_reports_each_failure_with_its_reason_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let root = dir.join("benchmarks/000.microbenchmarks");
    // A benchmark whose output never validates, listed for Python and Node.js.
    let broken = root.join("901.broken");
    std::fs::create_dir_all(broken.join("python")).unwrap();
    std::fs::write(
        broken.join("config.json"),
        r#"{"timeout": 10, "memory": 128, "languages": ["python", "nodejs"], "modules": []}"#,
    )
    .unwrap();
    std::fs::write(
        broken.join("input.py"),
        "def generate_input(data_dir, size, bucket, ip, op, upload, nosql):\n    return {'n': 2}\n\n\
         def validate_output(data_dir, input_config, output, language, storage):\n    \
         r = output['result']\n    \
         return None if r == 4 else 'expected 4, got %r' % (r,)\n",
    )
    .unwrap();
    std::fs::write(
        broken.join("python/function.py"),
        "def handler(event):\n    return {'result': event['n'] + 1}\n",
    )
    .unwrap();
    // And a good one, which still passes.
    let sleep = root.join("010.sleep");
    std::fs::create_dir_all(sleep.join("python")).unwrap();
    std::fs::create_dir_all(sleep.join("nodejs")).unwrap();
    for f in [
        "config.json",
        "input.py",
        "python/function.py",
        "nodejs/function.js",
        "nodejs/package.json",
    ] {
        std::fs::copy(
            repo()
                .join("benchmarks/000.microbenchmarks/010.sleep")
                .join(f),
            sleep.join(f),
        )
        .unwrap();
    }
    let out = sebs(dir)
        .args(["benchmark", "regression", "test", "--benchmarks-dir"])
        .arg(dir.join("benchmarks"))
        .args(["--output-dir", "results", "--cache"])
        .arg(shared_cache())
        .output()
        .unwrap();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = |id: &str, lang: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(id) && l.contains(lang))
            .unwrap_or_else(|| panic!("no {id} {lang} row:\n{stdout}"))
            .to_owned()
    };
    assert!(line("010.sleep", "python").contains("PASS"), "{stdout}");
    let python = line("901.broken", "python");
    assert!(
        python.contains("FAIL") && python.contains("validation failed: expected 4, got 3"),
        "{stdout}"
    );
    // 901.broken lists nodejs without Node.js sources: a failure that says so.
    let node = line("901.broken", "nodejs");
    assert!(
        node.contains("FAIL") && node.contains("has no nodejs sources"),
        "{stdout}"
    );
    assert!(line("010.sleep", "nodejs").contains("PASS"), "{stdout}");
    assert!(stdout.contains("2 passed, 2 failed"), "{stdout}");
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("results/regression_local_901.broken_python_x64.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(doc["passed"], false);
    assert_eq!(
        doc["reason"], "validation failed: expected 4, got 3",
        "{doc}"
    );
    assert_eq!(doc["invocations"][0]["output"]["result"]["result"], 3);
    assert!(
        dir.join("results/regression_local_901.broken_nodejs_x64.json")
            .is_file()
    );
}
