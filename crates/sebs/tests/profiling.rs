//! The profiler end to end (docs/profiling.md): the example benchmark `010.chain` decorated with
//! `@fp.profile()` runs on the local platform, writes and reads an object and a NoSQL item and
//! invokes itself once; every request must come back as one trace of two functions with the right parents,
//! timing order and sizes, which `sebs benchmark traces` writes as OTLP JSON that the
//! OpenTelemetry project's own protobuf definitions parse, and `sebs report` draws.

mod common;

use std::path::{Path, PathBuf};

use common::{document, invocations, repo, sebs, shared_cache, text};
use serde_json::Value;

const SIZE: u64 = 64 * 1024;

fn examples() -> PathBuf {
    repo().join("examples/profiling")
}

fn invoke_chain(language: &str, out: &Path) -> Vec<Value> {
    let run = sebs(&repo())
        .args([
            "benchmark",
            "invoke",
            "010.chain",
            "test",
            "--repetitions",
            "2",
        ])
        .args(["--language", language, "--validate", "--benchmarks-dir"])
        .arg(examples())
        .arg("--output-dir")
        .arg(out)
        .arg("--cache")
        .arg(shared_cache())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run));
    invocations(&document(&out.join("experiments.json")))
}

/// The profile of one request: its measurements, its captures and the callee's profile.
fn check_profile(profile: &Value, cold: bool) {
    assert_eq!(profile["parent_span_id"], Value::Null, "{profile}");
    assert_eq!(profile["instance"]["cold"], cold, "{profile}");
    assert!(profile["wall_s"].as_f64().unwrap() > 0.0);
    assert!(profile["memory"]["peak_bytes"].as_u64().unwrap() > 0);
    let captures = profile["captures"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = captures
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap(),
                c["operation"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("storage", "upload_stream"),
            ("storage", "download_stream"),
            ("nosql", "PutItem"),
            ("nosql", "GetItem"),
            ("invoke", "Invoke")
        ],
        "{profile}"
    );
    // The storage round trip: two captures of the object's size, under one key.
    assert_eq!(captures[0]["bytes"], SIZE);
    assert_eq!(captures[1]["bytes"], SIZE);
    assert_eq!(captures[0]["key"], captures[1]["key"]);
    // The NoSQL round trip: one table, one key, the item's bytes each way.
    assert_eq!(captures[2]["table"], captures[3]["table"]);
    assert_eq!(captures[3]["key"]["step"], serde_json::json!({"S": "1"}));
    assert!(captures[2]["request_bytes"].as_u64().unwrap() > 0);
    assert!(captures[3]["response_bytes"].as_u64().unwrap() > 0);
    let call = &captures[4];
    let child = &call["profile"];
    assert_eq!(child["trace_id"], profile["trace_id"]);
    assert_eq!(child["parent_span_id"], call["span_id"]);
    assert_eq!(child["function"], profile["function"]);
    // Timing order: the call starts after the caller, the callee after the call, and each ends
    // before what contains it.
    let f = |v: &Value| v.as_f64().unwrap();
    let call_end = f(&call["start"]) + f(&call["duration_s"]);
    assert!(f(&profile["start"]) <= f(&call["start"]));
    assert!(f(&call["start"]) <= f(&child["start"]));
    assert!(f(&child["end"]) <= call_end + 1e-3);
    assert!(call_end <= f(&profile["end"]) + 1e-3);
    // The callee allocated 8 MiB.
    assert!(
        child["memory"]["peak_bytes"].as_u64().unwrap() >= 8 << 20,
        "{child}"
    );
}

fn check_otlp(files: &[PathBuf]) {
    let out = std::process::Command::new("python3")
        .arg(repo().join("scripts/check-otlp.py"))
        .args(files)
        .output()
        .unwrap();
    let printed = text(&out);
    if out.status.code() == Some(77) {
        eprintln!("{}", printed.trim());
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs opentelemetry-proto"
        );
        return;
    }
    assert!(out.status.success(), "{printed}");
    // Per file: 7 spans (2 invocations, 2 storage and 2 NoSQL operations, 1 call) of one trace,
    // one root.
    for line in printed.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 4, "{line}");
        assert_eq!((fields[1], fields[2]), ("7", "1"), "{line}");
        assert!(!fields[3].contains(','), "{line}");
    }
    assert_eq!(printed.lines().count(), files.len());
}

fn chain_end_to_end(language: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let all = invoke_chain(language, &out);
    assert_eq!(all.len(), 2);
    for inv in &all {
        assert_eq!(inv["stats"]["failure"], false, "{inv}");
        assert_eq!(inv["validation"]["passed"], true, "{inv}");
        // The profiler's view of the instance agrees with the wrapper's.
        let cold = inv["output"]["is_cold"].as_bool().unwrap();
        check_profile(&inv["output"]["profile"], cold);
    }
    assert_ne!(
        all[0]["output"]["profile"]["trace_id"],
        all[1]["output"]["profile"]["trace_id"]
    );

    let traces = sebs(tmp.path())
        .args(["benchmark", "traces"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(traces.status.success(), "{}", text(&traces));
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.join("traces"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    check_otlp(&files);

    let html = tmp.path().join("report.html");
    let report = sebs(tmp.path())
        .arg("report")
        .arg(&out)
        .arg("-o")
        .arg(&html)
        .output()
        .unwrap();
    assert!(report.status.success(), "{}", text(&report));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h3>Traces</h3>"));
    assert_eq!(page.matches("class=\"timeline\"").count(), 2);
}

#[test]
fn python_chain_is_one_trace_per_request() {
    chain_end_to_end("python");
}

#[test]
fn nodejs_chain_is_one_trace_per_request() {
    chain_end_to_end("nodejs");
}
