//! Traces of profiled invocations: the profiles that `faas_profiler_python` / `faas_profiler.js`
//! return with each invocation (`output.profile`) become spans, assembled into one trace per
//! application request ([`traces_of`]); [`otlp`] writes them as OpenTelemetry OTLP JSON and
//! [`timeline`] draws them for `sebs report`.
//!
//! A profile is one function invocation (a SERVER span); each of its captures (a storage or NoSQL
//! operation, an HTTP call, an invocation of another function) is a CLIENT span under it, and the
//! profile of an invoked function, returned with the call, hangs under that call's span. Spans
//! are grouped by trace id across every invocation of the results, so profiles collected apart
//! (a function started by a queue or a workflow, once sebs collects them) join their trace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

pub mod otlp;
pub mod timeline;

#[cfg(test)]
mod tests;

/// What a span stands for (OpenTelemetry's span kinds that occur here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// A function invocation (a profile).
    Server,
    /// An operation the function made: storage, NoSQL, HTTP, another function.
    Client,
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// A boolean.
    Bool(bool),
}

/// A point in a span's life: a CPU/RSS sample of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Epoch seconds.
    pub time: f64,
    /// Name (`sample`).
    pub name: String,
    /// Attributes.
    pub attributes: Vec<(String, Attr)>,
}

/// One span of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// The caller's span, if any.
    pub parent_span_id: Option<String>,
    /// Name: the function, or `<kind> <operation>` of a capture.
    pub name: String,
    /// Server (an invocation) or client (an operation).
    pub kind: SpanKind,
    /// The function it belongs to (the OpenTelemetry `service.name`).
    pub service: String,
    /// Start, epoch seconds.
    pub start: f64,
    /// End, epoch seconds.
    pub end: f64,
    /// Whether it failed.
    pub error: bool,
    /// Attributes (OpenTelemetry semantic conventions where one fits, `sebs.*` otherwise).
    pub attributes: Vec<(String, Attr)>,
    /// Events (the profile's samples).
    pub events: Vec<Event>,
}

impl Span {
    /// Duration in seconds.
    pub fn duration(&self) -> f64 {
        self.end - self.start
    }

    /// An attribute's value.
    pub fn attribute(&self, key: &str) -> Option<&Attr> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// The spans of one application request.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// 32 hex digits.
    pub trace_id: String,
    /// Spans sorted by start (parents before children at equal starts).
    pub spans: Vec<Span>,
}

impl Trace {
    /// First start and last end (epoch seconds).
    pub fn bounds(&self) -> (f64, f64) {
        let start = self
            .spans
            .iter()
            .map(|s| s.start)
            .fold(f64::INFINITY, f64::min);
        let end = self
            .spans
            .iter()
            .map(|s| s.end)
            .fold(f64::NEG_INFINITY, f64::max);
        (start, end)
    }

    /// Spans whose parent is not in the trace (normally the one entry invocation).
    pub fn roots(&self) -> Vec<&Span> {
        self.spans
            .iter()
            .filter(|s| {
                s.parent_span_id
                    .as_deref()
                    .is_none_or(|p| !self.spans.iter().any(|o| o.span_id == p))
            })
            .collect()
    }

    /// Spans whose parent is `span_id`.
    pub fn children(&self, span_id: &str) -> Vec<&Span> {
        self.spans
            .iter()
            .filter(|s| s.parent_span_id.as_deref() == Some(span_id))
            .collect()
    }

    /// Every function invoked in the trace (server spans), in order of start.
    pub fn functions(&self) -> Vec<&str> {
        self.spans
            .iter()
            .filter(|s| s.kind == SpanKind::Server)
            .map(|s| s.service.as_str())
            .collect()
    }
}

fn scalar(value: &Value) -> Option<Attr> {
    match value {
        Value::String(s) => Some(Attr::Str(s.clone())),
        Value::Bool(b) => Some(Attr::Bool(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(Attr::Int)
            .or_else(|| n.as_f64().map(Attr::Double)),
        Value::Object(_) | Value::Array(_) => Some(Attr::Str(value.to_string())),
        Value::Null => None,
    }
}

fn str_of(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn f64_of(value: &Value, key: &str) -> f64 {
    value.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn push(attrs: &mut Vec<(String, Attr)>, key: &str, value: Option<&Value>) {
    if let Some(a) = value.and_then(scalar) {
        attrs.push((key.to_owned(), a));
    }
}

/// The attributes of a profile's SERVER span.
fn profile_attributes(profile: &Value) -> Vec<(String, Attr)> {
    let mut attrs = Vec::new();
    let get = |path: &[&str]| path.iter().try_fold(profile, |v, k| v.get(*k));
    push(&mut attrs, "faas.invocation_id", get(&["request_id"]));
    push(&mut attrs, "faas.coldstart", get(&["instance", "cold"]));
    push(&mut attrs, "process.pid", get(&["instance", "pid"]));
    for (key, path) in [
        ("sebs.wall_s", &["wall_s"][..]),
        ("sebs.cpu_s", &["cpu_s"]),
        ("sebs.cpu_utilisation", &["cpu_utilisation"]),
        ("sebs.memory.peak_bytes", &["memory", "peak_bytes"]),
        (
            "sebs.memory.rss_start_bytes",
            &["memory", "rss_start_bytes"],
        ),
        ("sebs.memory.rss_end_bytes", &["memory", "rss_end_bytes"]),
        ("sebs.disk.read_bytes", &["disk_io", "read_bytes"]),
        ("sebs.disk.write_bytes", &["disk_io", "write_bytes"]),
        ("sebs.disk.rchar", &["disk_io", "rchar"]),
        ("sebs.disk.wchar", &["disk_io", "wchar"]),
        ("sebs.network.rx_bytes", &["network_io", "rx_bytes"]),
        ("sebs.network.tx_bytes", &["network_io", "tx_bytes"]),
        ("sebs.instance.invocation", &["instance", "invocation"]),
        ("sebs.instance.age_s", &["instance", "age_s"]),
        ("sebs.instance.warm_for_s", &["instance", "warm_for_s"]),
        ("sebs.profiler.overhead_s", &["overhead_s"]),
        ("exception.message", &["error"]),
    ] {
        push(&mut attrs, key, get(path));
    }
    attrs
}

/// The attributes of a capture's CLIENT span: its own fields, under semantic-convention names
/// where one fits.
fn capture_attributes(capture: &Value) -> Vec<(String, Attr)> {
    let mut attrs = Vec::new();
    let Some(fields) = capture.as_object() else {
        return attrs;
    };
    for (key, value) in fields {
        let name = match key.as_str() {
            "kind" | "operation" | "start" | "duration_s" | "span_id" | "profile" | "error" => {
                continue;
            }
            "function" => "faas.invoked_name".to_owned(),
            "status" => "http.response.status_code".to_owned(),
            "url" => "url.full".to_owned(),
            other => format!("sebs.{other}"),
        };
        push(&mut attrs, &name, Some(value));
    }
    attrs
}

fn samples(profile: &Value, start: f64) -> Vec<Event> {
    let Some(rows) = profile.get("samples").and_then(Value::as_array) else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(|row| {
            let row = row.as_array()?;
            let mut attributes = Vec::new();
            push(&mut attributes, "sebs.cpu_utilisation", row.get(1));
            push(&mut attributes, "sebs.memory.rss_bytes", row.get(2));
            Some(Event {
                time: start + row.first()?.as_f64()?,
                name: "sample".into(),
                attributes,
            })
        })
        .collect()
}

/// The spans of a profile and, recursively, of the profiles of the functions it invoked.
pub fn spans_of_profile(profile: &Value) -> Vec<Span> {
    let mut out = Vec::new();
    collect(profile, &mut out);
    out
}

fn collect(profile: &Value, out: &mut Vec<Span>) {
    let (Some(trace_id), Some(span_id)) = (str_of(profile, "trace_id"), str_of(profile, "span_id"))
    else {
        return;
    };
    let service = str_of(profile, "function").unwrap_or_else(|| "function".into());
    let start = f64_of(profile, "start");
    out.push(Span {
        trace_id: trace_id.clone(),
        span_id: span_id.clone(),
        parent_span_id: str_of(profile, "parent_span_id"),
        name: service.clone(),
        kind: SpanKind::Server,
        service: service.clone(),
        start,
        end: f64_of(profile, "end").max(start),
        error: profile.get("error").is_some_and(|e| !e.is_null()),
        attributes: profile_attributes(profile),
        events: samples(profile, start),
    });
    for capture in profile
        .get("captures")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = str_of(capture, "kind").unwrap_or_else(|| "call".into());
        let operation = str_of(capture, "operation").unwrap_or_default();
        let begin = f64_of(capture, "start");
        let name = match capture.get("function").and_then(Value::as_str) {
            Some(function) => format!("{kind} {function}"),
            None => format!("{kind} {operation}"),
        };
        let mut attributes = vec![
            ("sebs.capture.kind".to_owned(), Attr::Str(kind)),
            ("sebs.capture.operation".to_owned(), Attr::Str(operation)),
        ];
        attributes.extend(capture_attributes(capture));
        out.push(Span {
            trace_id: trace_id.clone(),
            span_id: str_of(capture, "span_id").unwrap_or_default(),
            parent_span_id: Some(span_id.clone()),
            name,
            kind: SpanKind::Client,
            service: service.clone(),
            start: begin,
            end: begin + f64_of(capture, "duration_s").max(0.0),
            error: capture.get("error").and_then(Value::as_bool) == Some(true),
            attributes,
            events: Vec::new(),
        });
        if let Some(child) = capture.get("profile") {
            collect(child, out);
        }
    }
}

/// Group spans into traces by trace id; traces are ordered by start, spans by start. A span seen
/// twice (the same invocation in `experiments.json` and in the processed `results.json`) is kept
/// once.
pub fn assemble(spans: Vec<Span>) -> Vec<Trace> {
    let mut by_id: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for span in spans {
        if !seen.insert((span.trace_id.clone(), span.span_id.clone())) {
            continue;
        }
        by_id.entry(span.trace_id.clone()).or_default().push(span);
    }
    let mut traces: Vec<Trace> = by_id
        .into_iter()
        .map(|(trace_id, mut spans)| {
            spans.sort_by(|a, b| {
                a.start
                    .total_cmp(&b.start)
                    .then((b.end - b.start).total_cmp(&(a.end - a.start)))
            });
            Trace { trace_id, spans }
        })
        .collect();
    traces.sort_by(|a, b| a.bounds().0.total_cmp(&b.bounds().0));
    traces
}

/// The traces in a result document (`experiments.json`-shaped: `_invocations` → function →
/// request id → invocation with `output.profile`).
pub fn traces_of(results: &Value) -> Vec<Trace> {
    let mut spans = Vec::new();
    for function in results
        .get("_invocations")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
    {
        for invocation in function.as_object().into_iter().flat_map(|m| m.values()) {
            if let Some(profile) = invocation.get("output").and_then(|o| o.get("profile")) {
                spans.extend(spans_of_profile(profile));
            }
        }
    }
    assemble(spans)
}

/// The traces in result files: every JSON file given, or every JSON file directly in a
/// directory. Files without profiles are skipped without being parsed.
pub fn load_traces(input: &Path) -> Result<Vec<Trace>> {
    let files: Vec<PathBuf> = if input.is_dir() {
        crate::files::result_files(input, "benchmark invoke", |n| n.ends_with(".json"))?
    } else {
        vec![input.to_owned()]
    };
    traces_in_files(&files)
}

/// The traces in these result files, assembled across them.
pub fn traces_in_files(files: &[PathBuf]) -> Result<Vec<Trace>> {
    let mut spans = Vec::new();
    for file in files {
        // Result files of large runs are streamed elsewhere (`dataset`): one without profiles is
        // only scanned, in chunks, never held in memory.
        if !mentions(file, b"\"profile\"")
            .with_context(|| format!("failed to read {}", file.display()))?
        {
            continue;
        }
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("failed to read {}", file.display()))?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        for trace in traces_of(&value) {
            spans.extend(trace.spans);
        }
    }
    Ok(assemble(spans))
}

/// Whether the file contains `needle`, read in 1 MiB chunks (overlapping by the needle's length).
pub(crate) fn mentions(path: &Path, needle: &[u8]) -> std::io::Result<bool> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; (1 << 20) + needle.len()];
    let mut kept = 0;
    loop {
        let n = file.read(&mut buf[kept..])?;
        if n == 0 {
            return Ok(false);
        }
        let filled = kept + n;
        if memchr::memmem::find(&buf[..filled], needle).is_some() {
            return Ok(true);
        }
        kept = needle.len().saturating_sub(1).min(filled);
        buf.copy_within(filled - kept..filled, 0);
    }
}

/// What `sebs benchmark traces` wrote.
#[derive(Debug, Clone)]
pub struct TraceExport {
    /// The directory of the OTLP JSON files.
    pub dir: PathBuf,
    /// One file per trace, in the order of the traces.
    pub files: Vec<PathBuf>,
    /// The traces written.
    pub traces: Vec<Trace>,
}

/// `sebs benchmark traces`: the traces of the results at `input` (a results directory or a
/// result file) as OTLP JSON files in `output` (default: `traces/` next to the results).
pub fn export(input: &Path, output: Option<&Path>) -> Result<TraceExport> {
    let traces = load_traces(input)?;
    if traces.is_empty() {
        anyhow::bail!(
            "no profiled invocations in {}: decorate the function with @fp.profile() \
             (docs/profiling.md)",
            input.display()
        );
    }
    let dir = match output {
        Some(dir) => dir.to_owned(),
        None if input.is_dir() => input.join("traces"),
        None => input
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("traces"),
    };
    let files = otlp::write_traces(&traces, &dir)?;
    Ok(TraceExport { dir, files, traces })
}
