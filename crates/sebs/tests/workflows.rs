//! Workflows end to end on the local platform (docs/workflows.md): the example workflow
//! `601.every-state` (every state type, an exception routed to a `failure` state) deployed as
//! eight functions, run through `benchmark invoke --validate` and perf-cost, its
//! `workflow.json` and the report's timelines; and a broken definition refused before anything
//! is built.

mod common;

use std::path::PathBuf;

use common::{
    benchmark_invoke, copy, document, experiment_invoke, invocations, repo, text, write_config,
};
use serde_json::{Value, json};

fn examples() -> PathBuf {
    repo().join("examples/workflows")
}

fn functions_of(request: &Value) -> Vec<&Value> {
    request["run"]["executions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["function"].is_null())
        .collect()
}

fn check_request(request: &Value, cold: bool) {
    let run = &request["run"];
    let m = &request["metrics"];
    assert_eq!(request["orchestrator"], "sebs-engine");
    assert!(run["failure"].is_null(), "{run}");
    assert_eq!(
        run["output"],
        json!({"recovered": "ValueError", "total": 24})
    );
    assert_eq!(run["transitions"], 17);
    assert_eq!(functions_of(request).len(), 13);
    assert_eq!(m["invocations"], 13);
    let (total, critical, overhead) = (
        m["total"].as_f64().unwrap(),
        m["critical_path"].as_f64().unwrap(),
        m["overhead"].as_f64().unwrap(),
    );
    assert!((total - critical - overhead).abs() < 1e-9, "{m}");
    // The functions sleep: prepare 5 ms, 3 loop elements 10 ms each (the map's 20 ms elements
    // run concurrently beside them), 3 steps 5 ms each.
    assert!(critical >= 0.005 + 0.030 + 0.015, "{m}");
    assert!(total >= critical, "{m}");
    let check = functions_of(request)
        .into_iter()
        .find(|e| e["state"] == "check")
        .unwrap();
    assert_eq!(check["function"]["failed"], true);
    assert!(
        check["function"]["error"]
            .as_str()
            .unwrap()
            .starts_with("ValueError: total 24")
    );
    let recover = run["executions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["state"] == "recover")
        .unwrap();
    assert_eq!(recover["after"], json!([check["id"]]));
    let colds = m["cold_starts"].as_u64().unwrap();
    // Cold: each of the 7 functions once, the map's concurrent elements each on an instance.
    if cold {
        assert!((7..=9).contains(&colds), "{m}");
    } else {
        assert_eq!(colds, 0, "{m}");
    }
    assert!(
        m["cost"]["total_usd"].as_f64().unwrap() > 17.0 * 0.000025,
        "{m}"
    );
}

#[test]
fn every_state_runs_validates_and_reports_its_breakdown() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = benchmark_invoke("601.every-state", &out)
        .args(["--repetitions", "2", "--validate", "--benchmarks-dir"])
        .arg(examples())
        .output()
        .unwrap();
    let printed = text(&run);
    assert!(run.status.success(), "{printed}");
    assert!(
        printed.contains("workflow 601.every-state (8 functions"),
        "{printed}"
    );
    assert!(printed.contains("critical path"), "{printed}");
    assert!(printed.contains("fan_out/scale/times"), "{printed}");
    let experiments = document(&out.join("experiments.json"));
    let all = invocations(&experiments);
    assert_eq!(all.len(), 2);
    for inv in &all {
        assert_eq!(inv["validation"]["passed"], true, "{inv}");
    }
    let deployment = &experiments["config"]["deployment"]["resources"]["workflow"];
    assert_eq!(
        deployment["functions"].as_object().unwrap().len(),
        8,
        "{deployment}"
    );
    let file = document(&out.join("workflow.json"));
    assert_eq!(file["format"], "sebs-workflow/1");
    assert_eq!(file["workflow"], "601.every-state");
    let requests = file["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    check_request(&requests[0], true);
    check_request(&requests[1], false);
    // The report draws each request's timeline.
    let report = tmp.path().join("report.html");
    let drawn = common::sebs(&repo())
        .arg("report")
        .arg(&out)
        .arg("-o")
        .arg(&report)
        .output()
        .unwrap();
    assert!(drawn.status.success(), "{}", text(&drawn));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("Workflow requests"));
    assert_eq!(html.matches("id=\"workflow-").count(), 2);
}

#[test]
fn perf_cost_runs_a_workflow_cold_and_warm() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        json!({"perf-cost": {"benchmark": "601.every-state", "experiments": ["cold", "warm", "burst"], "input-size": "test",
               "repetitions": 2, "concurrent-invocations": 2, "memory-sizes": [128]}}),
        json!({}),
    );
    let out = tmp.path().join("out");
    let run = experiment_invoke("perf-cost", &config, &out)
        .arg("--benchmarks-dir")
        .arg(examples())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run));
    let dir = out.join("perf-cost");
    for (kind, cold) in [("cold", true), ("warm", false)] {
        let samples = invocations(&document(&dir.join(format!("{kind}_results_128.json"))));
        assert_eq!(samples.len(), 2, "{kind}");
        for s in &samples {
            assert_eq!(s["stats"]["cold_start"], cold, "{kind}: {s}");
            let colds = s["output"]["workflow"]["metrics"]["cold_starts"]
                .as_u64()
                .unwrap();
            // Enforced cold starts reach every function of the workflow.
            assert_eq!(colds >= 7, cold, "{kind}: {colds} cold starts");
        }
    }
    assert_eq!(
        invocations(&document(&dir.join("burst_results_128.json"))).len(),
        2
    );
}

#[test]
fn a_broken_definition_is_refused_naming_the_state_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let catalogue = tmp.path().join("catalogue/600.workflows/601.every-state");
    copy(
        &examples().join("600.workflows/601.every-state"),
        &catalogue,
    );
    let path = catalogue.join("definition.json");
    let text_of = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text_of.replace("\"next\": \"check\"", "\"next\": \"chekc\""),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let run = benchmark_invoke("601.every-state", &out)
        .arg("--benchmarks-dir")
        .arg(tmp.path().join("catalogue"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    let printed = text(&run);
    assert!(
        printed.contains("states.add_steps.next: `chekc` is not a state"),
        "{printed}"
    );
    assert!(!out.join("experiments.json").exists());
}
