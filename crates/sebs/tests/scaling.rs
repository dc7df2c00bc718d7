//! The scaling experiment on the local platform: the platform's instance counters against the
//! instance ids functions report, throttling under a concurrency limit recorded as data, and an
//! Azure-format trace replayed with its per-minute counts.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::{document, experiment_invoke, experiment_process, write_config};
use serde_json::{Value, json};

fn requests(doc: &Value) -> &Vec<Value> {
    doc["requests"].as_array().unwrap()
}

#[test]
fn a_step_loads_instance_count_equals_the_distinct_instance_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        json!({"scaling": {"benchmark": "010.sleep", "payload": {"sleep": 0.3}, "memory": 128,
            "load": {"type": "step", "from": 5, "to": 30, "at": 2, "duration": 4},
            "sample-interval": 0.5}}),
        json!({"keep-alive": 60, "cold-start": "fork"}),
    );
    let out = tmp.path().join("out");
    experiment_invoke("scaling", &config, &out)
        .assert()
        .success();
    let doc = document(&out.join("scaling/scaling.json"));
    let requests = requests(&doc);
    assert_eq!(requests.len(), 10 + 60);
    assert!(requests.iter().all(|r| r["status"] == "ok"), "{requests:?}");
    let ids: HashSet<&str> = requests
        .iter()
        .map(|r| r["instance"].as_str().unwrap())
        .collect();
    // Nothing is evicted within a minute: the platform's last count (taken after the last
    // response) is every instance the run started.
    let last = doc["instances"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["live"].as_u64().unwrap() as usize, ids.len(), "{last}");
    assert!(
        ids.len() >= 9,
        "30 req/s of 0.3 s need at least 9 instances: {}",
        ids.len()
    );
    let cold = requests.iter().filter(|r| r["cold"] == true).count();
    assert_eq!(cold, ids.len(), "one cold start per instance");

    let printed = experiment_process("scaling", &out);
    assert!(printed.contains("time to scale to 30 req/s"), "{printed}");
    let summary = document(&out.join("scaling/summary.json"));
    assert_eq!(summary["instances_seen"], ids.len());
    assert_eq!(summary["peak_live_instances"], ids.len());
    let csv = std::fs::read_to_string(out.join("scaling/timeseries.csv")).unwrap();
    assert_eq!(csv.lines().nth(1).unwrap().split(',').nth(1), Some("5"));
}

#[test]
fn over_the_concurrency_limit_requests_are_throttled_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        json!({"scaling": {"benchmark": "010.sleep", "payload": {"sleep": 0.5}, "memory": 128,
            "load": {"type": "constant", "rate": 10, "duration": 2}}}),
        json!({"keep-alive": 60, "concurrency-limit": 2, "queue-size": 1, "cold-start": "fork"}),
    );
    let out = tmp.path().join("out");
    experiment_invoke("scaling", &config, &out)
        .assert()
        .success();
    let doc = document(&out.join("scaling/scaling.json"));
    let requests = requests(&doc);
    assert_eq!(requests.len(), 20, "no request is lost");
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for r in requests {
        *by_status.entry(r["status"].as_str().unwrap()).or_default() += 1;
    }
    let ok = by_status.get("ok").copied().unwrap_or(0);
    let throttled = by_status.get("throttled").copied().unwrap_or(0);
    assert_eq!(ok + throttled, 20, "{by_status:?}");
    // Two instances of 0.5 s serve at most 4 req/s (plus what the queue of one absorbs).
    assert!((4..=12).contains(&ok), "{by_status:?}");
    for r in requests.iter().filter(|r| r["status"] == "throttled") {
        assert!(r["error"].as_str().unwrap().contains("429"), "{r}");
    }
    let peak = doc["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["live"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(peak <= 2, "the limit holds: {peak}");
    let printed = experiment_process("scaling", &out);
    assert!(
        printed.contains(&format!("{throttled} throttled")),
        "{printed}"
    );
}

#[test]
fn an_azure_trace_replays_with_its_per_minute_counts() {
    let tmp = tempfile::tempdir().unwrap();
    // Three functions over three minutes; `f-idle` has no invocation and is not deployed.
    let trace = tmp.path().join("invocations_per_function_md.anon.d01.csv");
    std::fs::write(
        &trace,
        "HashOwner,HashApp,HashFunction,Trigger,1,2,3\n\
         o1,a1,f-one,http,3,0,2\n\
         o1,a1,f-idle,timer,0,0,0\n\
         o2,a2,f-two,queue,1,4,0\n",
    )
    .unwrap();
    let config = write_config(
        tmp.path(),
        json!({"scaling": {"benchmark": "010.sleep", "payload": {"sleep": 0}, "memory": 128,
            "load": {"type": "trace", "path": trace, "minute-seconds": 1}}}),
        json!({"cold-start": "fork"}),
    );
    let out = tmp.path().join("out");
    experiment_invoke("scaling", &config, &out)
        .assert()
        .success();
    let doc = document(&out.join("scaling/scaling.json"));
    assert_eq!(doc["labels"], json!(["f-one", "f-two"]));
    assert_eq!(doc["functions"].as_array().unwrap().len(), 2);
    let mut counts: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for r in requests(&doc) {
        assert_eq!(r["status"], "ok", "{r}");
        let minute = r["intended"].as_f64().unwrap() as u64;
        *counts
            .entry((r["function"].as_u64().unwrap(), minute))
            .or_default() += 1;
    }
    let expected: BTreeMap<(u64, u64), u64> =
        [((0, 0), 3), ((0, 2), 2), ((1, 0), 1), ((1, 1), 4)].into();
    assert_eq!(counts, expected);
}
