//! Every workflow benchmark of `benchmarks/600.workflows` runs its `test` size on the local
//! platform through the workflow engine and passes its `validate_output`, with the number of
//! function invocations its definition and input imply.

mod common;

use common::{sebs, shared_cache, text};
use serde_json::Value;

/// `(benchmark, function invocations of one test-size request, functions expected to fail)`.
const RUNS: [(&str, u64, usize); 8] = [
    // gen, then process 8 times (a repeat state).
    ("620.func-invo", 9, 0),
    // generate, then 4 sleepers.
    ("630.parallel-sleep", 5, 0),
    // generate, then 4 downloaders.
    ("631.parallel-download", 5, 0),
    // split, 3 mappers, shuffle, one reducer for each of the 8 words.
    ("660.map-reduce", 13, 0),
    // 3 requests: auth, then encrypt or deny (the switch runs no function).
    ("670.auth", 6, 0),
    // generate, then 2 classifiers trained.
    ("690.ml", 3, 0),
    // 2 chunks, merge + sifting, 5 populations in each of the two final maps.
    ("6100.1000-genome", 14, 0),
    // 3 reservations, the failing confirm, 3 compensations, abort.
    ("6200.trip-booking", 8, 1),
];

#[test]
fn every_workflow_benchmark_runs_and_validates() {
    let tmp = tempfile::tempdir().unwrap();
    for (id, invocations, failures) in RUNS {
        let out_dir = tmp.path().join(id);
        let out = sebs(tmp.path())
            .args([
                "benchmark",
                "invoke",
                id,
                "test",
                "--repetitions",
                "1",
                "--validate",
            ])
            .arg("--benchmarks-dir")
            .arg(common::repo().join("benchmarks"))
            .arg("--cache")
            .arg(shared_cache())
            .arg("--output-dir")
            .arg(&out_dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{id}:\n{}", text(&out));
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(out_dir.join("workflow.json")).unwrap())
                .unwrap();
        let request = &doc["requests"][0];
        assert_eq!(
            request["metrics"]["invocations"], invocations,
            "{id}: {request}"
        );
        let failed = request["run"]["executions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["function"]["failed"] == true)
            .count();
        assert_eq!(failed, failures, "{id}: failed functions");
        let experiments = common::document(&out_dir.join("experiments.json"));
        for inv in common::invocations(&experiments) {
            assert_eq!(inv["validation"]["passed"], true, "{id}: {inv}");
        }
    }
}
