//! OpenTelemetry traces as OTLP JSON: the body of an OTLP/HTTP export
//! (`ExportTraceServiceRequest`), which Jaeger, Grafana Tempo and Zipkin ingest through an
//! OpenTelemetry collector (`POST /v1/traces`), and Jaeger's UI opens as a file.
//!
//! The encoding follows the OTLP specification's JSON rules: lowerCamelCase field names, trace
//! and span ids as hex strings, 64-bit integers (times in ns, `intValue`) as decimal strings,
//! enums as integers. Spans are grouped by resource: one `resourceSpans` per function
//! (`service.name`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::{Attr, Span, SpanKind, Trace};

/// OTLP's `SPAN_KIND_SERVER` and `SPAN_KIND_CLIENT`.
fn kind_code(kind: SpanKind) -> u8 {
    match kind {
        SpanKind::Server => 2,
        SpanKind::Client => 3,
    }
}

/// Epoch seconds as OTLP's `fixed64` nanoseconds (a JSON string).
fn nanos(epoch_s: f64) -> String {
    let ns = (epoch_s.max(0.0) * 1e9).round();
    format!("{}", ns as u64)
}

fn value(attr: &Attr) -> Value {
    match attr {
        Attr::Str(s) => json!({ "stringValue": s }),
        Attr::Int(i) => json!({ "intValue": i.to_string() }),
        Attr::Double(d) if d.is_finite() => json!({ "doubleValue": d }),
        Attr::Double(d) => json!({ "stringValue": d.to_string() }),
        Attr::Bool(b) => json!({ "boolValue": b }),
    }
}

fn attributes(attrs: &[(String, Attr)]) -> Value {
    Value::Array(
        attrs
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": value(v) }))
            .collect(),
    )
}

fn span(span: &Span) -> Value {
    let mut out = json!({
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": kind_code(span.kind),
        "startTimeUnixNano": nanos(span.start),
        "endTimeUnixNano": nanos(span.end),
        "attributes": attributes(&span.attributes),
        "status": if span.error { json!({ "code": 2 }) } else { json!({}) },
    });
    if let Some(parent) = &span.parent_span_id {
        out["parentSpanId"] = json!(parent);
    }
    if !span.events.is_empty() {
        out["events"] = Value::Array(
            span.events
                .iter()
                .map(|e| {
                    json!({
                        "timeUnixNano": nanos(e.time),
                        "name": e.name,
                        "attributes": attributes(&e.attributes),
                    })
                })
                .collect(),
        );
    }
    out
}

/// The traces as one `ExportTraceServiceRequest` in OTLP JSON.
pub fn export_request(traces: &[Trace]) -> Value {
    let mut by_service: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for trace in traces {
        for s in &trace.spans {
            by_service.entry(&s.service).or_default().push(span(s));
        }
    }
    let resource_spans: Vec<Value> = by_service
        .into_iter()
        .map(|(service, spans)| {
            json!({
                "resource": {
                    "attributes": attributes(&[
                        ("service.name".into(), Attr::Str(service.into())),
                    ]),
                },
                "scopeSpans": [{
                    "scope": { "name": "sebs", "version": env!("CARGO_PKG_VERSION") },
                    "spans": spans,
                }],
            })
        })
        .collect();
    json!({ "resourceSpans": resource_spans })
}

/// Write each trace as `<dir>/<trace id>.otlp.json`; returns the files written.
pub fn write_traces(traces: &[Trace], dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let mut files = Vec::new();
    for trace in traces {
        let path = dir.join(format!("{}.otlp.json", trace.trace_id));
        let text = serde_json::to_string(&export_request(std::slice::from_ref(trace)))?;
        sebs_core::fsutil::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("failed to write {}", path.display()))?;
        files.push(path);
    }
    Ok(files)
}
