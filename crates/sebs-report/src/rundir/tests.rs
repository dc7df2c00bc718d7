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

#[test]
fn a_scaling_run_is_read_with_its_series_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("scaling");
    std::fs::create_dir(&run_dir).unwrap();
    std::fs::write(
        run_dir.join("scaling.json"),
        r#"{"config": {"deployment": {"name": "local"}}, "begin_time": 10.0, "end_time": 14.0, "requests": []}"#,
    )
    .unwrap();
    let runs = load_runs(dir.path()).unwrap();
    assert_eq!(runs[0].kind, RunKind::Scaling);
    assert!(runs[0].scaling.is_none());
    assert!(runs[0].notes[0].contains("sebs experiment process scaling"));

    std::fs::write(
        run_dir.join("timeseries.csv"),
        "second,offered,completed,live_instances\n0,5,3,\n1,5,5,4\n",
    )
    .unwrap();
    std::fs::write(
        run_dir.join("summary.json"),
        r#"{"requests": {"ok": 9, "throttled": 1, "failed": 0}, "cold_starts": 4, "instances_seen": 4,
            "driver_lag_ms": {"p50": 0.1, "p99": 0.5, "max": 2.0},
            "time_to_scale": [{"at": 0.0, "target_rps": 5.0, "seconds": 1.5}]}"#,
    )
    .unwrap();
    let runs = load_runs(&run_dir).unwrap();
    let series = runs[0].scaling.as_ref().unwrap();
    assert_eq!(series.seconds["live_instances"], [None, Some(4.0)]);
    assert_eq!(series.seconds["offered"], [Some(5.0), Some(5.0)]);
    assert_eq!(runs[0].span, Some((10.0, 14.0)));
    assert_eq!(
        runs[0].notes,
        [
            "10 requests (9 ok, 1 throttled); 4 cold starts; 4 distinct instances",
            "driver lag p99 0.500 ms (max 2.000 ms): how late requests left, included in response times",
            "time to scale to 5.0 req/s (step at 0.0 s): 1.50 s"
        ]
    );
    let charts = crate::chart::build::charts(&runs[0], "r", &crate::table::Pricing::default());
    let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["r-scaling-throughput", "r-scaling-instances"]);
    std::fs::write(run_dir.join("timeseries.csv"), "second,offered\n0,x\n").unwrap();
    let err = load_runs(&run_dir).unwrap_err();
    assert!(err.to_string().contains("`x` in column `offered`"), "{err}");
}
