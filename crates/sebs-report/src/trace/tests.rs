use serde_json::{Value, json};

use super::*;

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

/// A front function that uploads 3 bytes and invokes `back`, whose profile came back with the
/// call; `back` downloaded 5 bytes.
fn chain() -> Value {
    let back = json!({
        "function": "back", "request_id": "r2", "trace_id": TRACE,
        "span_id": "dddddddddddddddd", "parent_span_id": "cccccccccccccccc",
        "start": 100.15, "end": 100.35, "error": null,
        "instance": {"cold": false},
        "captures": [{"kind": "storage", "operation": "download_stream",
            "start": 100.2, "duration_s": 0.05, "span_id": "eeeeeeeeeeeeeeee",
            "bucket": "b", "key": "k2", "bytes": 5}]
    });
    let captures = json!([
        {"kind": "storage", "operation": "upload_stream", "start": 100.05,
         "duration_s": 0.01, "span_id": "bbbbbbbbbbbbbbbb", "bucket": "b", "key": "k", "bytes": 3},
        {"kind": "invoke", "operation": "Invoke", "start": 100.1, "duration_s": 0.3,
         "span_id": "cccccccccccccccc", "function": "back", "status": 200,
         "request_bytes": 40, "response_bytes": 900, "profile": back}
    ]);
    let front = json!({
        "function": "front", "request_id": "r1", "trace_id": TRACE,
        "span_id": "aaaaaaaaaaaaaaaa", "parent_span_id": null,
        "start": 100.0, "end": 100.5, "wall_s": 0.5, "cpu_s": 0.1, "cpu_utilisation": 0.2,
        "memory": {"peak_bytes": 52428800, "rss_start_bytes": 1000, "rss_end_bytes": 2000},
        "instance": {"cold": true, "pid": 7, "invocation": 1},
        "samples": [[0.1, 0.9, 3000], [0.2, 0.5, 4000]],
        "error": null,
        "captures": captures
    });
    json!({
        "_invocations": {"front": {"r1": {"output": {"result": {}, "profile": front}}}},
        "begin_time": 99.0
    })
}

#[test]
fn a_chain_becomes_one_trace_with_parents_and_children() {
    let traces = traces_of(&chain());
    assert_eq!(traces.len(), 1);
    let t = &traces[0];
    assert_eq!(t.trace_id, TRACE);
    assert_eq!(t.spans.len(), 5);
    let roots = t.roots();
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].name, "front");
    assert_eq!(roots[0].kind, SpanKind::Server);
    let calls: Vec<_> = t
        .children("aaaaaaaaaaaaaaaa")
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(calls, ["storage upload_stream", "invoke back"]);
    let back = t.children("cccccccccccccccc");
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].service, "back");
    assert_eq!(back[0].kind, SpanKind::Server);
    assert_eq!(t.functions(), ["front", "back"]);
    let download = &t.children("dddddddddddddddd")[0];
    assert_eq!(download.attribute("sebs.bytes"), Some(&Attr::Int(5)));
    assert_eq!(download.service, "back");
    // The spans are in order of start, and each child lies within its parent.
    assert!(t.spans.windows(2).all(|w| w[0].start <= w[1].start));
    for s in &t.spans {
        if let Some(p) = t
            .spans
            .iter()
            .find(|p| Some(&p.span_id) == s.parent_span_id.as_ref())
        {
            assert!(
                p.start <= s.start && s.end <= p.end,
                "{} in {}",
                s.name,
                p.name
            );
        }
    }
    assert_eq!(roots[0].events.len(), 2);
    assert_eq!(
        roots[0].attribute("faas.coldstart"),
        Some(&Attr::Bool(true))
    );
}

#[test]
fn profiles_of_one_trace_in_separate_invocations_are_joined() {
    let mut doc = chain();
    // The callee's profile collected on its own (as a queue-triggered function's would be).
    let back = doc["_invocations"]["front"]["r1"]["output"]["profile"]["captures"][1]
        .as_object_mut()
        .unwrap()
        .remove("profile")
        .unwrap();
    doc["_invocations"]["back"] = json!({"r2": {"output": {"profile": back}}});
    let traces = traces_of(&doc);
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].spans.len(), 5);
    assert_eq!(traces[0].roots().len(), 1);
}

#[test]
fn the_same_invocation_in_two_result_files_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let doc = serde_json::to_string(&chain()).unwrap();
    std::fs::write(dir.path().join("experiments.json"), &doc).unwrap();
    std::fs::write(dir.path().join("results.json"), &doc).unwrap();
    let traces = load_traces(dir.path()).unwrap();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].spans.len(), 5);
}

#[test]
fn invocations_without_profiles_give_no_traces() {
    let doc = json!({"_invocations": {"f": {"r": {"output": {"result": 1}}}}});
    assert!(traces_of(&doc).is_empty());
}

#[test]
fn otlp_json_follows_the_protocols_encoding() {
    let traces = traces_of(&chain());
    let req = otlp::export_request(&traces);
    let resources = req["resourceSpans"].as_array().unwrap();
    let services: Vec<_> = resources
        .iter()
        .map(|r| r["resource"]["attributes"][0]["value"]["stringValue"].clone())
        .collect();
    assert_eq!(services, [json!("back"), json!("front")]);
    let spans: Vec<&Value> = resources
        .iter()
        .flat_map(|r| r["scopeSpans"][0]["spans"].as_array().unwrap())
        .collect();
    assert_eq!(spans.len(), 5);
    for s in &spans {
        assert_eq!(s["traceId"].as_str().unwrap().len(), 32);
        assert_eq!(s["spanId"].as_str().unwrap().len(), 16);
        assert!(
            s["startTimeUnixNano"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .is_ok()
        );
    }
    let front = spans.iter().find(|s| s["name"] == "front").unwrap();
    assert_eq!(front["kind"], 2);
    assert_eq!(front["startTimeUnixNano"], "100000000000");
    assert!(front.get("parentSpanId").is_none());
    assert_eq!(front["events"].as_array().unwrap().len(), 2);
    let back = spans.iter().find(|s| s["name"] == "back").unwrap();
    assert_eq!(back["parentSpanId"], "cccccccccccccccc");
    let invoke = spans.iter().find(|s| s["name"] == "invoke back").unwrap();
    assert_eq!(invoke["kind"], 3);
    let status = invoke["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "http.response.status_code")
        .unwrap();
    assert_eq!(status["value"], json!({"intValue": "200"}));
}

#[test]
fn the_timeline_lists_callers_above_their_calls() {
    let traces = traces_of(&chain());
    let rows: Vec<_> = timeline::rows(&traces[0])
        .into_iter()
        .map(|(d, s)| (d, s.name.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (0, "front"),
            (1, "storage upload_stream"),
            (1, "invoke back"),
            (2, "back"),
            (3, "storage download_stream"),
        ]
    );
    let svg = timeline::svg(&traces[0]);
    assert_eq!(svg.matches("<rect").count(), 5);
    assert!(svg.contains("500 ms"), "{svg}");
}

#[test]
fn write_traces_writes_one_file_per_trace() {
    let dir = tempfile::tempdir().unwrap();
    let files = otlp::write_traces(&traces_of(&chain()), dir.path()).unwrap();
    assert_eq!(files, [dir.path().join(format!("{TRACE}.otlp.json"))]);
    let back: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(back["resourceSpans"].as_array().unwrap().len(), 2);
}

#[test]
fn human_bytes_picks_a_unit() {
    assert_eq!(timeline::human_bytes(3), "3 B");
    assert_eq!(timeline::human_bytes(2048), "2.0 KiB");
    assert_eq!(timeline::human_bytes(52428800), "50.0 MiB");
}

#[test]
fn mentions_finds_a_needle_across_chunk_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    // The needle straddles the first 1 MiB boundary.
    let mut data = vec![b' '; (1 << 20) - 4];
    data.extend_from_slice(b"\"profile\"");
    data.extend(vec![b' '; 100]);
    std::fs::write(&path, &data).unwrap();
    assert!(mentions(&path, b"\"profile\"").unwrap());
    std::fs::write(&path, vec![b'x'; 3 << 20]).unwrap();
    assert!(!mentions(&path, b"\"profile\"").unwrap());
}
