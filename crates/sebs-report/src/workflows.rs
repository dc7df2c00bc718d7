//! Workflow requests in `sebs report` (docs/workflows.md): a table of each request's total,
//! critical path and overhead, and its timeline drawn by [`crate::trace::timeline`]: per state
//! execution the engine's round trip (orange) over the function's own run (blue; failed:
//! vermillion), critical-path executions marked `●`.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use sebs_workflows::summary::Request;
use serde_json::Value;

use crate::html::esc;
use crate::trace::{Attr, Span, SpanKind, Trace};

/// The workflow requests in result files, in the order they started.
pub fn requests_in_files(files: &[PathBuf]) -> Result<Vec<Request>> {
    let mut all = Vec::new();
    for file in files {
        if !crate::trace::mentions(file, b"\"orchestrator\"")
            .with_context(|| format!("failed to read {}", file.display()))?
        {
            continue;
        }
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("failed to read {}", file.display()))?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        all.extend(requests_of(&value));
    }
    all.sort_by(|a, b| a.run.begin.total_cmp(&b.run.begin));
    Ok(all)
}

/// The workflow requests of one result document (`_invocations` → name → id → invocation).
pub fn requests_of(results: &Value) -> Vec<Request> {
    results
        .get("_invocations")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(Value::as_object)
        .flat_map(|m| m.values())
        .filter_map(|inv| Request::from_output(inv.get("output")?))
        .collect()
}

fn span(
    id: u64,
    parent: Option<u64>,
    name: String,
    kind: SpanKind,
    service: &str,
    times: (f64, f64),
) -> Span {
    Span {
        trace_id: String::new(),
        span_id: format!("{id:016x}"),
        parent_span_id: parent.map(|p| format!("{p:016x}")),
        name,
        kind,
        service: service.to_string(),
        start: times.0,
        end: times.1,
        error: false,
        attributes: Vec::new(),
        events: Vec::new(),
    }
}

/// One request as a trace: the request, and per execution its round trip with the function's
/// run inside.
pub fn trace_of(request: &Request) -> Trace {
    let run = &request.run;
    let name = &run.workflow;
    let mut root = span(
        1,
        None,
        format!("workflow {name}"),
        SpanKind::Server,
        name,
        (run.begin, run.end),
    );
    root.error = run.failure.is_some();
    let mut spans = vec![root];
    for e in &run.executions {
        let critical = request.metrics.critical_states.contains(&e.id);
        let mark = if critical { "● " } else { "" };
        let id = 2 * e.id as u64 + 2;
        let Some(f) = &e.function else {
            let label = format!("{mark}{} ({})", e.instance, e.kind);
            spans.push(span(
                id,
                Some(1),
                label,
                SpanKind::Client,
                name,
                (e.begin, e.end),
            ));
            continue;
        };
        let trip = (e.dispatched, e.returned);
        spans.push(span(
            id,
            Some(1),
            format!("{} → {}", e.instance, f.func_name),
            SpanKind::Client,
            name,
            trip,
        ));
        let mut inner = span(
            id + 1,
            Some(id),
            format!("{mark}{}", f.func_name),
            SpanKind::Server,
            &f.func_name,
            (e.begin, e.end),
        );
        inner.error = f.failed;
        inner
            .attributes
            .push(("faas.coldstart".into(), Attr::Bool(f.cold)));
        let bytes = f.storage_read_bytes.unwrap_or(0) + f.storage_written_bytes.unwrap_or(0);
        if bytes > 0 {
            inner
                .attributes
                .push(("sebs.bytes".into(), Attr::Int(bytes as i64)));
        }
        spans.push(inner);
    }
    Trace {
        trace_id: run.request_id.replace('-', ""),
        spans,
    }
}

fn ms(seconds: f64) -> String {
    format!("{:.2}", seconds * 1000.0)
}

/// The "Workflow requests" section of a run: the table, then the first timelines.
pub fn section(page: &mut String, files: &[PathBuf]) -> Result<()> {
    let requests = requests_in_files(files)?;
    if requests.is_empty() {
        return Ok(());
    }
    let drawn = crate::html::TRACES_DRAWN;
    let _ = writeln!(
        page,
        "<h3>Workflow requests</h3>\n<p class=\"note\">{} request(s){}. Overhead = total − critical \
         path (the longest chain of function executions); ● marks the critical path.</p>\n\
         <table><tr><th>request</th><th>orchestrator</th><th>status</th><th>total (ms)</th>\
         <th>critical path (ms)</th><th>overhead (ms)</th><th>invocations (cold)</th>\
         <th>transitions</th><th>cost (USD)</th></tr>",
        requests.len(),
        if requests.len() > drawn {
            format!(", the first {drawn} drawn")
        } else {
            String::new()
        }
    );
    for r in &requests {
        let m = &r.metrics;
        let status = match &r.run.failure {
            None => "ok".to_string(),
            Some(f) => format!("{} in {}", f.error, f.state),
        };
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{:.9}</td></tr>",
            esc(&r.run.request_id),
            esc(&r.orchestrator),
            esc(&status),
            ms(m.total),
            ms(m.critical_path),
            ms(m.overhead),
            m.invocations,
            m.cold_starts,
            r.run.transitions,
            m.cost.total_usd
        );
    }
    page.push_str("</table>\n");
    for r in requests.iter().take(drawn) {
        let trace = trace_of(r);
        let _ = writeln!(
            page,
            "<figure class=\"trace\" id=\"workflow-{}\">\n{}\n<figcaption>request {}: total {} ms, \
             critical path {} ms, overhead {} ms</figcaption>\n</figure>",
            esc(&trace.trace_id),
            crate::trace::timeline::svg(&trace),
            esc(&r.run.request_id),
            ms(r.metrics.total),
            ms(r.metrics.critical_path),
            ms(r.metrics.overhead)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sebs_workflows::{Prices, StateExecution, WorkflowRun, analyse};

    fn execution(
        id: usize,
        after: Vec<usize>,
        times: (f64, f64, f64, f64),
        function: Option<&str>,
    ) -> StateExecution {
        StateExecution {
            id,
            state: format!("s{id}"),
            instance: format!("s{id}"),
            kind: if function.is_some() { "task" } else { "switch" }.into(),
            after,
            begin: times.1,
            end: times.2,
            function_time: times.2 - times.1,
            dispatched: times.0,
            returned: times.3,
            function: function.map(|f| sebs_workflows::FunctionExecution {
                func_name: f.into(),
                cold: id == 0,
                failed: id == 2,
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_request_becomes_a_trace_and_a_section() {
        let run = WorkflowRun {
            workflow: "wf".into(),
            request_id: "0a83ca41-14e0-4809-bd11-724e4034d1d2".into(),
            begin: 10.0,
            end: 10.5,
            executions: vec![
                execution(0, vec![], (10.0, 10.1, 10.2, 10.25), Some("a")),
                execution(1, vec![0], (10.26, 10.26, 10.26, 10.26), None),
                execution(2, vec![1], (10.3, 10.35, 10.4, 10.5), Some("b")),
            ],
            transitions: 3,
            ..Default::default()
        };
        let metrics = analyse(&run, &Prices::aws("us-east-1"));
        let request = Request {
            orchestrator: "sebs-engine".into(),
            run,
            metrics,
        };
        let trace = trace_of(&request);
        assert_eq!(trace.trace_id, "0a83ca4114e04809bd11724e4034d1d2");
        // The request, a round trip and a function run per invocation, the switch.
        assert_eq!(trace.spans.len(), 1 + 2 + 1 + 2);
        let names: Vec<_> = trace.spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "workflow wf",
                "s0 → a",
                "● a",
                "● s1 (switch)",
                "s2 → b",
                "● b"
            ]
        );
        assert!(trace.spans[5].error, "b failed");
        assert_eq!(
            trace.spans[2].parent_span_id.as_deref(),
            Some(trace.spans[1].span_id.as_str())
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("experiments.json");
        let output = serde_json::json!({"result": null, "workflow": request});
        let doc = serde_json::json!({"_invocations": {"wf": {"r1": {"output": output}}}});
        std::fs::write(&file, doc.to_string()).unwrap();
        let mut page = String::new();
        section(&mut page, &[file]).unwrap();
        assert!(page.contains("<h3>Workflow requests</h3>"), "{page}");
        assert!(
            page.contains("<td>500.00</td><td>150.00</td><td>350.00</td>"),
            "{page}"
        );
        assert_eq!(page.matches("<svg").count(), 1);
    }
}
