use super::*;
use crate::synthetic;

#[test]
fn every_kind_of_results_directory_is_recognised() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::all_runs(dir.path()).unwrap();
    let runs = load_runs(dir.path()).unwrap();
    let kinds: Vec<RunKind> = runs.iter().map(|r| r.kind).collect();
    // Subdirectories in name order: eviction-model, invocation-overhead, invoke,
    // network-ping-pong, perf-cost, regression.
    assert_eq!(
        kinds,
        [
            RunKind::EvictionModel,
            RunKind::InvocationOverhead,
            RunKind::Benchmark,
            RunKind::NetworkPingPong,
            RunKind::PerfCost,
            RunKind::Regression
        ]
    );
    let eviction = runs[0].eviction.as_ref().unwrap();
    assert_eq!(eviction.rows.len(), 7);
    assert_eq!(
        (eviction.threshold, eviction.keep_alive),
        (Some(2.5), Some(2.0))
    );
    assert_eq!(runs[0].config["deployment"]["name"], "local");
    let (sweep, rows) = runs[1].overhead.as_ref().unwrap();
    assert_eq!((sweep.as_str(), rows.len()), ("payload", 50));
    assert_eq!(rows.iter().filter(|r| r.cold).count(), 25);
    assert_eq!(runs[2].groups.len(), 1);
    assert_eq!(runs[2].groups[0].samples.len(), 200);
    assert_eq!(runs[2].groups[0].failure_kinds["Timeout"].0, 2);
    assert!(runs[2].notes.is_empty(), "{:?}", runs[2].notes);
    assert_eq!(runs[3].rtts.len(), 1000);
    let labels: Vec<&str> = runs[4]
        .groups
        .iter()
        .map(|g| g.configuration.as_str())
        .collect();
    assert_eq!(
        labels,
        [
            "cold, 128 MB",
            "warm, 128 MB",
            "cold, 256 MB",
            "warm, 256 MB",
            "cold, 512 MB",
            "warm, 512 MB"
        ]
    );
    assert_eq!(runs[4].groups[1].memory_mb, Some(128));
    let tests: Vec<(&str, bool)> = runs[5]
        .tests
        .iter()
        .map(|t| (t.test.as_str(), t.passed))
        .collect();
    assert_eq!(
        tests,
        [
            ("110.dynamic-html-python", true),
            ("120.uploader-python", true),
            ("210.thumbnailer-python", false)
        ]
    );
    assert_eq!(runs[5].groups[2].failures[0].kind, "validation");
    // One directory alone is one run.
    let one = load_runs(&dir.path().join("perf-cost")).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].files.len(), 6);
}

#[test]
fn unprocessed_results_are_noted_and_processed_ones_preferred() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::perf_cost_run(dir.path()).unwrap();
    // An unprocessed twin of a processed file is not read twice; a lone one is read.
    std::fs::copy(
        dir.path().join("warm_results_128-processed.json"),
        dir.path().join("warm_results_128.json"),
    )
    .unwrap();
    std::fs::copy(
        dir.path().join("warm_results_512-processed.json"),
        dir.path().join("burst_results_512.json"),
    )
    .unwrap();
    let run = load_runs(dir.path()).unwrap().remove(0);
    assert_eq!(run.groups.len(), 7);
    assert_eq!(run.groups.last().unwrap().configuration, "burst, 512 MB");
    assert_eq!(run.notes.len(), 1, "{:?}", run.notes);
    assert!(run.notes[0].contains("sebs experiment process perf-cost"));
}

#[test]
fn directories_without_results_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "").unwrap();
    let err = load_runs(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("no sebs results in") && err.contains("experiments.json"),
        "{err}"
    );
    let err = load_runs(&dir.path().join("missing"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("does not exist; pass the --output-dir"),
        "{err}"
    );
    let bad = dir.path().join("ping");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("server-x.csv"), "id\n1\n").unwrap();
    std::fs::write(bad.join("result-processed.csv"), "rtt\n0.1\nfast\n").unwrap();
    let err = load_runs(&bad).unwrap_err().to_string();
    assert!(
        err.contains("line 3: `fast` in column `rtt` is not a number"),
        "{err}"
    );
}

#[test]
fn perf_cost_names_are_parsed() {
    assert_eq!(perf_cost_name("cold_results_128.json"), Some(("cold", 128)));
    assert_eq!(
        perf_cost_name("warm_results_256-processed.json"),
        Some(("warm", 256))
    );
    assert_eq!(perf_cost_name("results_4_1_3.json"), None);
    assert_eq!(perf_cost_name("warm_results_x.json"), None);
}
