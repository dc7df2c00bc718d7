//! A workflow benchmark through perf-cost on the deterministic fake platform: every `func_name`
//! deployed as a function of its own, enforced cold starts reaching all of them, and each
//! request's critical path exact from the fake's function times.

mod common;

use common::{journal, read_json, shared_cache};
use sebs_experiments::perf_cost::PerfCost;
use sebs_experiments::{Plan, RunRequest, runner};
use sebs_platforms::fake::FakePlatform;
use sebs_platforms::{Platform, RunOptions, Settings};
use serde_json::{Value, json};

/// A catalogue with one workflow whose data flow suits the fake (each function returns
/// `{"output": <its input>}`): a task, a parallel of a map and a task, a switch, a task.
fn catalogue(root: &std::path::Path) -> std::path::PathBuf {
    let dir = root.join("catalogue/600.workflows/609.fake-flow");
    std::fs::create_dir_all(dir.join("python")).unwrap();
    let config = json!({"type": "workflow", "timeout": 10, "memory": 128, "languages": ["python"], "modules": []});
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let definition = json!({"root": "a", "states": {
        "a": {"type": "task", "func_name": "a", "next": "p"},
        "p": {"type": "parallel", "next": "s", "parallel_functions": [
            {"root": "m", "states": {"m": {"type": "map", "array": "output.xs", "root": "e",
                "states": {"e": {"type": "task", "func_name": "e"}}}}},
            {"root": "b", "states": {"b": {"type": "task", "func_name": "b"}}}]},
        "s": {"type": "switch", "cases": [{"var": "m.output.k", "op": "==", "val": 1, "next": "c"}], "default": "d"},
        "c": {"type": "task", "func_name": "c"},
        "d": {"type": "task", "func_name": "d"}}});
    std::fs::write(dir.join("definition.json"), definition.to_string()).unwrap();
    for f in ["a", "b", "c", "d", "e"] {
        std::fs::write(
            dir.join(format!("python/{f}.py")),
            "def handler(event):\n    return event\n",
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("input.py"),
        "def buckets_count():\n    return (0, 0)\n\n\ndef generate_input(data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func):\n    return {\"xs\": [1, 2, 3], \"k\": 1}\n",
    )
    .unwrap();
    root.join("catalogue")
}

fn settings(root: &std::path::Path) -> Settings {
    let config = json!({"experiments": {"runtime": {"language": "python"},
        "perf-cost": {"benchmark": "609.fake-flow", "experiments": ["cold", "warm"], "input-size": "test",
                      "repetitions": 2, "concurrent-invocations": 2, "memory-sizes": [128]}}});
    let path = root.join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    Settings::resolve(&RunOptions {
        config: Some(path),
        output_dir: root.join("out"),
        cache_dir: shared_cache(),
        benchmarks_dir: Some(catalogue(root)),
        ..RunOptions::default()
    })
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn perf_cost_runs_a_workflow_on_the_fake_with_exact_critical_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let settings = settings(tmp.path());
    let fake = FakePlatform::new(Default::default(), None);
    let experiment = PerfCost::plan(&settings.config).unwrap();
    let outcome = runner::run_on(
        experiment,
        settings,
        Box::new(fake.clone()),
        &RunRequest::default(),
    )
    .await
    .unwrap();
    assert_eq!(outcome.exit_code(), 0);
    // Five functions, named after the workflow (the 128 MB function's name) and func_name.
    let mut names: Vec<String> = fake
        .resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    names.sort();
    assert_eq!(names.len(), 5, "{names:?}");
    for (name, f) in names.iter().zip(["a", "b", "c", "d", "e"]) {
        assert!(
            name.starts_with("sebs-fake-609.fake-flow-python-"),
            "{name}"
        );
        assert!(name.ends_with(&format!("-128-{f}")), "{name}");
    }
    let dir = tmp.path().join("out/perf-cost");
    // Fake functions take 50 ms cold and 5 ms warm; the critical path is a, then the map's
    // element or b (in parallel), then c: 3 functions. d is never reached (k == 1).
    for (kind, cold, function_us) in [("cold", true, 150_000), ("warm", false, 15_000)] {
        let doc = read_json(&dir.join(format!("{kind}_results_128.json")));
        let samples: Vec<&Value> = doc["_invocations"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|m| m.as_object().unwrap().values())
            .collect();
        assert_eq!(samples.len(), 2, "{kind}");
        for s in samples {
            assert_eq!(s["stats"]["cold_start"], cold, "{kind}");
            assert_eq!(s["times"]["benchmark"], function_us, "{kind}");
            let m = &s["output"]["workflow"]["metrics"];
            assert_eq!(m["invocations"], 6, "{kind}");
            assert_eq!(m["cold_starts"], if cold { 6 } else { 0 }, "{kind}: {m}");
            assert_eq!(s["output"]["workflow"]["run"]["transitions"], 9, "{kind}");
            assert_eq!(
                s["output"]["result"]["output"]["m"]["output"]["xs"],
                json!([{"output": 1}, {"output": 2}, {"output": 3}])
            );
        }
    }
    assert!(!journal(&dir.join("journal.jsonl")).is_empty());
}
