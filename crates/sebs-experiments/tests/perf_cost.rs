//! perf-cost on the deterministic fake platform: exact samples per type, the warm-up batches,
//! surplus and failed invocations, the give-up bound, `--resume`, and the processed outputs
//! (`result.csv`, `*-processed.json` and their statistics) computed by hand from the script.

mod common;

use common::{Run, ids, journal, read_json, sample_ids};
use sebs_experiments::ExperimentKind;
use sebs_experiments::perf_cost::PerfCost;
use sebs_platforms::fake::FakeScript;
use sebs_report::OutputFormat;
use serde_json::{Value, json};

fn config(kinds: &[&str], repetitions: u64) -> Value {
    json!({"perf-cost": {"benchmark": "010.sleep", "experiments": kinds, "input-size": "test",
           "repetitions": repetitions, "concurrent-invocations": 2, "memory-sizes": [128]}})
}

/// `(type, batch, status, request id)` of every journal line.
fn journaled(run: &Run) -> Vec<(String, u64, String, String)> {
    journal(&run.out.join("perf-cost/journal.jsonl"))
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().to_owned(),
                r["batch"].as_u64().unwrap(),
                r["status"].as_str().unwrap().to_owned(),
                r["result"]["request_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// The script, invocation by invocation (2 per batch, 1 ms each on tokio's clock, so batch k of
// the run starts at k ms):
//   cold:       warm-up 1,2 (discarded), cold starts enforced; 3,4 kept; 5 kept, 6 surplus
//   warm:       warm-up 7,8 (warm: the cold batch left 2 idle instances); 9,10; 11, 12 surplus
//   burst:      warm-up 13,14; 15,16; 17, 18 surplus (all cold: enforced)
//   sequential: warm-up 19,20 (two at once); then one at a time: 21; 22; 23
#[tokio::test(start_paused = true)]
async fn every_type_gets_exactly_its_samples_and_processes_to_exact_values() {
    let run = Run::new(config(&["cold", "warm", "burst", "sequential"], 3));
    let fake = run.fake(FakeScript::default());
    let outcome = run.run::<PerfCost>(&fake, false).await.unwrap();
    let dir = run.out.join("perf-cost");
    assert!(outcome.interrupted.is_none());
    assert_eq!(outcome.exit_code(), 0);
    assert_eq!(outcome.results, dir);
    assert_eq!(outcome.journal, dir.join("journal.jsonl"));
    assert_eq!(fake.invocations(), 23);
    for (kind, samples) in [
        ("cold", [3, 4, 5]),
        ("warm", [9, 10, 11]),
        ("burst", [15, 16, 17]),
        ("sequential", [21, 22, 23]),
    ] {
        let file = dir.join(format!("{kind}_results_128.json"));
        assert_eq!(sample_ids(&file), ids(&samples), "{kind}");
    }
    let journaled = journaled(&run);
    assert_eq!(journaled.len(), 15, "warm-ups are not journaled");
    let surplus: Vec<&str> = journaled
        .iter()
        .filter(|r| r.2 == "surplus")
        .map(|r| r.3.as_str())
        .collect();
    assert_eq!(surplus, ids(&[6, 12, 18]));
    let sequential: Vec<u64> = journaled
        .iter()
        .filter(|r| r.0 == "sequential")
        .map(|r| r.1)
        .collect();
    assert_eq!(sequential, [0, 1, 2], "one invocation per sequential batch");

    let cold = read_json(&dir.join("cold_results_128.json"));
    let expected_statistics = json!({
        "samples_generated": 3, "failures": [], "failures_count": 0, "incorrect": [],
        "incorrect_count": 0, "cold_count": 3,
        "first_sample": "2026-01-01 00:00:00.001000", "last_sample": "2026-01-01 00:00:00.002000",
    });
    assert_eq!(cold["statistics"], expected_statistics);
    assert_eq!(cold["config"]["deployment"]["name"], "fake");
    assert_eq!(
        cold["config"]["experiments"]["runtime"]["language"],
        "python"
    );
    let sequential = read_json(&dir.join("sequential_results_128.json"));
    assert_eq!(sequential["statistics"]["cold_count"], 0);
    assert_eq!(
        sequential["statistics"]["first_sample"],
        "2026-01-01 00:00:00.010000"
    );
    assert_eq!(
        sequential["statistics"]["last_sample"],
        "2026-01-01 00:00:00.012000"
    );

    // What the CLI prints: client-time statistics per configuration, in the order they ran.
    let firsts: Vec<&str> = outcome
        .summary
        .lines()
        .filter(|l| l.contains("(client time)"))
        .collect();
    assert_eq!(
        firsts,
        [
            "cold 128 MB (client time): n=3 mean 100.000 ms, median 100.000 ms, std 0.000 ms, CV 0.0%",
            "warm 128 MB (client time): n=3 mean 10.000 ms, median 10.000 ms, std 0.000 ms, CV 0.0%",
            "burst 128 MB (client time): n=3 mean 100.000 ms, median 100.000 ms, std 0.000 ms, CV 0.0%",
            "sequential 128 MB (client time): n=3 mean 10.000 ms, median 10.000 ms, std 0.000 ms, CV 0.0%",
        ]
    );

    let processed = sebs_experiments::process(ExperimentKind::PerfCost, &run.process_context())
        .await
        .unwrap();
    assert_eq!(processed.path, dir.join("result.csv"));
    assert_eq!(processed.exit_code, 0);
    assert_eq!(
        processed.summary,
        format!("{}\n", dir.join("result.csv").display())
    );
    // Files in name order; cold: 50 ms in the function + 0.5 ms of runtime, 100 ms at the
    // client; warm: 5 + 0.5 ms and 10 ms; 64 MB used.
    let cold_row = |kind: &str| format!("128,{kind},true,50000,0,100000,50500,64\n");
    let warm_row = |kind: &str| format!("128,{kind},false,5000,0,10000,5500,64\n");
    let expected_csv = [
        "memory,type,is_cold,exec_time,connection_time,client_time,provider_time,mem_used\n"
            .to_owned(),
        cold_row("burst").repeat(3),
        cold_row("cold").repeat(3),
        warm_row("sequential").repeat(3),
        warm_row("warm").repeat(3),
    ]
    .concat();
    assert_eq!(
        std::fs::read_to_string(dir.join("result.csv")).unwrap(),
        expected_csv
    );

    let cold = read_json(&dir.join("cold_results_128-processed.json"));
    assert_eq!(
        cold["statistics"], expected_statistics,
        "statistics are kept"
    );
    let invocations = cold["_invocations"].as_object().unwrap();
    assert_eq!(invocations.len(), 1, "one function");
    let first = &invocations.values().next().unwrap()["fake-000003"];
    assert_eq!(
        first["provider_times"],
        json!({"execution": 50500, "initialization": 40000})
    );
    // 51 ms billed at 128 MB.
    assert_eq!(
        first["billing"],
        json!({"_billed_time": 51, "_memory": 128, "_gb_seconds": 0.051 * 0.125})
    );
    assert_eq!(first["stats"]["memory_used"], 64.0);
    assert_eq!(
        first["output"]["result"],
        json!({}),
        "payloads are stripped"
    );
    let warm = read_json(&dir.join("warm_results_128-processed.json"));
    let warm_first = &warm["_invocations"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["fake-000009"];
    assert_eq!(
        warm_first["provider_times"],
        json!({"execution": 5500, "initialization": 0})
    );
    assert_eq!(warm_first["billing"]["_billed_time"], 6);

    let report: Value = serde_json::from_str(
        &sebs_report::experiment_statistics(&dir, OutputFormat::Json).unwrap(),
    )
    .unwrap();
    let cold = &report["cold_results_128-processed.json"];
    assert_eq!(cold["client"]["n"], 3);
    assert_eq!(cold["client"]["mean_ms"], 100.0);
    assert_eq!(cold["client"]["std_ms"], 0.0);
    assert_eq!(cold["function_exec"]["mean_ms"], 50.0);
    assert_eq!(cold["provider_exec"]["mean_ms"], 50.5);
    let warm = &report["warm_results_128-processed.json"];
    assert_eq!(warm["client"]["median_ms"], 10.0);
    assert_eq!(warm["provider_exec"]["mean_ms"], 5.5);

    // Processing again reads the processed files instead of asking the platform again.
    std::fs::remove_file(run.tmp.path().join("fake-metrics.jsonl")).unwrap();
    sebs_experiments::process(ExperimentKind::PerfCost, &run.process_context())
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("result.csv")).unwrap(),
        expected_csv
    );
}

// Every 4th invocation fails: warm-up 1,2; batch 0: 3 kept, 4 failed; batch 1: 5, 6 kept.
#[tokio::test(start_paused = true)]
async fn failures_are_counted_and_replaced() {
    let run = Run::new(config(&["warm"], 3));
    let fake = run.fake(FakeScript {
        fail_every: Some(4),
        ..FakeScript::default()
    });
    run.run::<PerfCost>(&fake, false).await.unwrap();
    let dir = run.out.join("perf-cost");
    let file = dir.join("warm_results_128.json");
    assert_eq!(sample_ids(&file), ids(&[3, 5, 6]));
    let statistics = &read_json(&file)["statistics"];
    assert_eq!(statistics["failures"], json!(ids(&[4])));
    assert_eq!(statistics["failures_count"], 1);
    assert_eq!(statistics["samples_generated"], 3);
    assert_eq!(statistics["cold_count"], 0);
    assert_eq!(fake.invocations(), 6);
}

// A function that always fails: 20 × ⌈3 / 2⌉ + 20 = 60 batches are allowed, so the run gives up
// after the 61st (122 invocations journaled, plus the 2 of the warm-up).
#[tokio::test(start_paused = true)]
async fn a_function_that_always_fails_is_given_up_after_the_bound() {
    let run = Run::new(config(&["warm"], 3));
    let fake = run.fake(FakeScript {
        fail_every: Some(1),
        ..FakeScript::default()
    });
    let err = run.run::<PerfCost>(&fake, false).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "warm 128 MB: 0 of 3 samples after 61 batches (122 failed, 0 incorrect); the function keeps failing or the platform cannot give warm invocations"
    );
    assert_eq!(fake.invocations(), 124);
    let journaled = journaled(&run);
    assert_eq!(journaled.len(), 122);
    assert!(journaled.iter().all(|r| r.2 == "failed"));
    assert!(
        !run.out.join("perf-cost/warm_results_128.json").exists(),
        "no result file for an incomplete configuration"
    );
}

// Run 1 (3 repetitions): invocations 1-12 as in the first test's cold and warm phases.
// Run 2 (--resume, 5 repetitions, same platform): cold warm-up 13,14; batch 2: 15,16;
// warm warm-up 17,18; batch 2: 19,20.
#[tokio::test(start_paused = true)]
async fn resume_completes_exactly_the_requested_samples_without_duplicates() {
    let mut run = Run::new(config(&["cold", "warm"], 3));
    let fake = run.fake(FakeScript::default());
    run.run::<PerfCost>(&fake, false).await.unwrap();
    assert_eq!(journaled(&run).len(), 8);
    let dir = run.out.join("perf-cost");
    assert_eq!(
        sample_ids(&dir.join("cold_results_128.json")),
        ids(&[3, 4, 5])
    );

    run.set_experiments(config(&["cold", "warm"], 5));
    let refused = run.run::<PerfCost>(&fake, false).await.unwrap_err();
    assert!(refused.to_string().contains("--resume"), "{refused}");
    assert_eq!(fake.invocations(), 12, "refused before invoking anything");

    let outcome = run.run::<PerfCost>(&fake, true).await.unwrap();
    assert!(outcome.interrupted.is_none());
    assert_eq!(fake.invocations(), 20);
    assert_eq!(
        sample_ids(&dir.join("cold_results_128.json")),
        ids(&[3, 4, 5, 15, 16])
    );
    assert_eq!(
        sample_ids(&dir.join("warm_results_128.json")),
        ids(&[9, 10, 11, 19, 20])
    );
    let journaled = journaled(&run);
    assert_eq!(journaled.len(), 12);
    let mut unique: Vec<&str> = journaled.iter().map(|r| r.3.as_str()).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 12, "no invocation journaled twice");
    let resumed: Vec<(&str, u64)> = journaled[8..].iter().map(|r| (r.0.as_str(), r.1)).collect();
    assert_eq!(
        resumed,
        [("cold", 2), ("cold", 2), ("warm", 2), ("warm", 2)],
        "batch numbers continue"
    );
    assert!(outcome.summary.contains("cold 128 MB (client time): n=5 "));
}
