//! eviction-model on the deterministic fake platform: idle times pass instantly on tokio's
//! paused clock, the fake evicts instances idle for longer than its keep-alive, and the process
//! step estimates exactly that keep-alive (or reports the contradiction).

mod common;

use std::time::Duration;

use common::{Run, journal, read_json, script};
use sebs_experiments::ExperimentKind;
use sebs_experiments::eviction_model::EvictionModel;
use serde_json::json;

// Keep-alive 2 s: a second invocation after 1 or 2 s of idleness is warm, after 3 or 4 s cold.
#[tokio::test(start_paused = true)]
async fn the_estimated_threshold_is_the_fakes_keep_alive() {
    let run = Run::new(json!({"eviction-model": {
        "invocations": 1, "repetitions": 2, "times": [1, 2, 3, 4], "sleep": 10}}));
    let fake = run.fake(script(Duration::from_secs(2)));
    let started = tokio::time::Instant::now();
    let outcome = run.run::<EvictionModel>(&fake, false).await.unwrap();
    let dir = run.out.join("eviction-model");
    let file = dir.join("results_1_2_10.json");
    assert_eq!(outcome.results, file);
    assert_eq!(outcome.summary, "");
    // Two repetitions of the longest probe (4 s idle + 2 invocations of 1 ms) and a 10 s pause
    // after each repetition.
    assert_eq!(
        started.elapsed(),
        2 * (Duration::from_secs(4) + Duration::from_millis(2) + Duration::from_secs(10))
    );
    assert_eq!(
        fake.invocations(),
        16,
        "2 per probe, 4 probes, 2 repetitions"
    );

    let doc = read_json(&file);
    assert_eq!(doc["times"], json!([1.0, 2.0, 3.0, 4.0]));
    assert_eq!(doc["config"]["deployment"]["resources"]["keep-alive"], 2.0);
    for (time, evicted) in [("1", false), ("2", false), ("3", true), ("4", true)] {
        let repetitions = doc["results"][time].as_array().unwrap();
        assert_eq!(repetitions.len(), 2, "{time}");
        for (r, probes) in repetitions.iter().enumerate() {
            let probes = probes.as_array().unwrap();
            assert_eq!(probes.len(), 1, "one copy");
            let probe = &probes[0];
            assert_eq!(probe["repetition"], r as u64);
            assert_eq!(probe["first"], true, "each repetition starts cold");
            assert_eq!(probe["second"], evicted, "idle {time} s");
            assert!(probe.get("error").is_none());
        }
    }
    assert_eq!(journal(&dir.join("journal.jsonl")).len(), 8);

    let processed =
        sebs_experiments::process(ExperimentKind::EvictionModel, &run.process_context())
            .await
            .unwrap();
    assert_eq!(processed.exit_code, 0);
    assert_eq!(processed.path, dir.join("result.csv"));
    assert_eq!(
        processed.summary,
        format!(
            "idle        1 s: 0/2 evicted (0%)\n\
             idle        2 s: 0/2 evicted (0%)\n\
             idle        3 s: 2/2 evicted (100%)\n\
             idle        4 s: 2/2 evicted (100%)\n\
             estimated eviction after 3 s of idleness; the platform's keep-alive is 2 s: consistent (within one probe step)\n\
             {}\n",
            dir.join("result.csv").display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("result.csv")).unwrap(),
        "time,samples,evicted,evicted_fraction\n1,2,0,0\n2,2,0,0\n3,2,2,1\n4,2,2,1\n"
    );
    assert_eq!(
        read_json(&dir.join("result-processed.json")),
        json!({
            "rows": [
                {"time": 1.0, "samples": 2, "evicted": 0, "evicted_fraction": 0.0},
                {"time": 2.0, "samples": 2, "evicted": 0, "evicted_fraction": 0.0},
                {"time": 3.0, "samples": 2, "evicted": 2, "evicted_fraction": 1.0},
                {"time": 4.0, "samples": 2, "evicted": 2, "evicted_fraction": 1.0},
            ],
            "threshold_s": 3.0,
            "configured_keep_alive_s": 2.0,
            "probe_step_s": 1.0,
            "consistent_with_platform": true,
        })
    );
}

// Keep-alive 0.5 s probed at 3 and 4 s: every probe is evicted, the estimate (3 s) is further
// from 0.5 s than one probe step (1 s), and the process step says so with exit status 3.
#[tokio::test(start_paused = true)]
async fn a_threshold_far_from_the_keep_alive_is_reported_inconsistent() {
    let run = Run::new(json!({"eviction-model": {
        "invocations": 2, "repetitions": 1, "times": [3, 4]}}));
    let fake = run.fake(script(Duration::from_millis(500)));
    let outcome = run.run::<EvictionModel>(&fake, false).await.unwrap();
    assert_eq!(
        outcome.results,
        run.out.join("eviction-model/results_2_1_0.json")
    );
    assert_eq!(fake.invocations(), 8, "2 copies × 2 times × 2 invocations");
    let processed =
        sebs_experiments::process(ExperimentKind::EvictionModel, &run.process_context())
            .await
            .unwrap();
    assert_eq!(processed.exit_code, 3);
    assert_eq!(
        processed.summary,
        "idle        3 s: 2/2 evicted (100%)\n\
         idle        4 s: 2/2 evicted (100%)\n\
         estimated eviction after 3 s of idleness; the platform's keep-alive is 0.5 s: INCONSISTENT\n"
    );
    let processed = read_json(&run.out.join("eviction-model/result-processed.json"));
    assert_eq!(processed["consistent_with_platform"], false);
    assert_eq!(processed["threshold_s"], 3.0);
}

// Resuming after the first repetition runs only the second one.
#[tokio::test(start_paused = true)]
async fn resume_runs_only_the_missing_repetitions() {
    let mut run = Run::new(json!({"eviction-model": {
        "invocations": 1, "repetitions": 1, "times": [1, 3]}}));
    let fake = run.fake(script(Duration::from_secs(2)));
    run.run::<EvictionModel>(&fake, false).await.unwrap();
    assert_eq!(fake.invocations(), 4);
    run.set_experiments(json!({"eviction-model": {
        "invocations": 1, "repetitions": 2, "times": [1, 3]}}));
    let outcome = run.run::<EvictionModel>(&fake, true).await.unwrap();
    assert_eq!(fake.invocations(), 8);
    let lines = journal(&run.out.join("eviction-model/journal.jsonl"));
    let keys: Vec<(f64, u64)> = lines
        .iter()
        .map(|p| {
            (
                p["time"].as_f64().unwrap(),
                p["repetition"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(keys, [(1.0, 0), (3.0, 0), (1.0, 1), (3.0, 1)]);
    let doc = read_json(&outcome.results);
    assert_eq!(doc["results"]["1"].as_array().unwrap().len(), 2);
    assert_eq!(doc["results"]["3"][1][0]["second"], true);
}
