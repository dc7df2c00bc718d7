//! The per-request timeline of a trace as inline SVG (`sebs report`): one row per span, callers
//! above the calls they made (indented by depth), bars on a shared time axis in milliseconds
//! from the trace's start, in the report's Okabe–Ito colours: invocations blue, storage and NoSQL
//! operations bluish green, calls to other functions and HTTP orange, failures vermillion.

use std::fmt::Write;

use super::{Attr, Span, SpanKind, Trace};
use crate::html::esc;

const WIDTH: f64 = 960.0;
const LABEL: f64 = 330.0;
const ROW: f64 = 22.0;
const TOP: f64 = 28.0;

/// Spans in depth-first order from the roots, with their depth.
pub fn rows(trace: &Trace) -> Vec<(usize, &Span)> {
    fn walk<'a>(trace: &'a Trace, span: &'a Span, depth: usize, out: &mut Vec<(usize, &'a Span)>) {
        out.push((depth, span));
        if out.len() > trace.spans.len() {
            return; // a cycle of span ids (malformed input): stop
        }
        for child in trace.children(&span.span_id) {
            walk(trace, child, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    for root in trace.roots() {
        walk(trace, root, 0, &mut out);
    }
    out
}

fn colour(span: &Span) -> &'static str {
    if span.error {
        return "#D55E00";
    }
    match (span.kind, span.attribute("sebs.capture.kind")) {
        (SpanKind::Server, _) => "#0072B2",
        (_, Some(Attr::Str(k))) if k == "storage" || k == "nosql" => "#009E73",
        _ => "#E69F00",
    }
}

fn detail(span: &Span) -> String {
    let bytes = ["sebs.bytes", "sebs.request_bytes", "sebs.response_bytes"]
        .iter()
        .filter_map(|k| match span.attribute(k) {
            Some(Attr::Int(n)) => Some(format!("{} {}", &k[5..], human_bytes(*n))),
            _ => None,
        })
        .collect::<Vec<_>>();
    let target = ["sebs.bucket", "sebs.table", "url.full"]
        .iter()
        .find_map(|k| match span.attribute(k) {
            Some(Attr::Str(s)) => Some(s.clone()),
            _ => None,
        });
    let key = match span.attribute("sebs.key") {
        Some(Attr::Str(s)) => format!("/{s}"),
        _ => String::new(),
    };
    let mut parts = Vec::new();
    if let Some(t) = target {
        parts.push(format!("{t}{key}"));
    }
    if span.kind == SpanKind::Server {
        if let Some(Attr::Bool(cold)) = span.attribute("faas.coldstart") {
            parts.push(if *cold { "cold" } else { "warm" }.into());
        }
        if let Some(Attr::Int(peak)) = span.attribute("sebs.memory.peak_bytes") {
            parts.push(format!("peak {}", human_bytes(*peak)));
        }
        if let Some(Attr::Double(u)) = span.attribute("sebs.cpu_utilisation") {
            parts.push(format!("CPU {:.0}%", u * 100.0));
        }
    }
    parts.extend(bytes);
    parts.join(", ")
}

/// Bytes as B, KiB or MiB.
pub fn human_bytes(n: i64) -> String {
    let x = n as f64;
    if x >= 1048576.0 {
        format!("{:.1} MiB", x / 1048576.0)
    } else if x >= 1024.0 {
        format!("{:.1} KiB", x / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// A step for about five ticks over `span_ms`: 1, 2 or 5 times a power of ten.
fn tick_step(span_ms: f64) -> f64 {
    let raw = (span_ms / 5.0).max(1e-3);
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power)
}

/// The trace's timeline as an SVG element.
pub fn svg(trace: &Trace) -> String {
    let rows = rows(trace);
    let (start, end) = trace.bounds();
    let total_ms = ((end - start) * 1000.0).max(1e-3);
    let plot = WIDTH - LABEL - 90.0;
    let x = |t: f64| LABEL + (t - start) * 1000.0 / total_ms * plot;
    let height = TOP + ROW * rows.len() as f64 + 10.0;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let step = tick_step(total_ms);
    let mut tick = 0.0;
    while tick <= total_ms + 1e-9 {
        let tx = LABEL + tick / total_ms * plot;
        let _ = write!(
            out,
            "<line x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{tx:.1}\" y=\"14\" text-anchor=\"middle\" fill=\"#555\">{} ms</text>",
            TOP - 6.0,
            height - 6.0,
            tick_label(tick, step)
        );
        tick += step;
    }
    for (i, (depth, span)) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let x0 = x(span.start);
        let w = (x(span.end) - x0).max(1.5);
        let label = format!("{}{}", "\u{a0}\u{a0}".repeat(*depth), span.name);
        let _ = write!(
            out,
            "<g><title>{}</title><text x=\"4\" y=\"{:.1}\">{}</text>\
             <rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#333\">{} ms</text></g>",
            esc(&format!("{} — {}", span.name, detail(span))),
            y + 14.0,
            esc(&truncate(&label, 52)),
            y + 3.0,
            ROW - 6.0,
            colour(span),
            x0 + w + 4.0,
            y + 14.0,
            trim(span.duration() * 1000.0),
        );
    }
    out.push_str("</svg>");
    out
}

/// A tick's value with as many decimals as the step needs (0, 0.5, 1 … or 0, 20, 40 …).
fn tick_label(ms: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{ms:.decimals$}")
}

fn trim(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let head: String = text.chars().take(max - 1).collect();
        format!("{head}…")
    }
}

/// A table of the trace's spans: name, function, start offset, duration, details.
pub fn table(trace: &Trace) -> String {
    let (start, _) = trace.bounds();
    let mut out = String::from(
        "<table class=\"spans\"><tr><th>span</th><th>function</th><th>start (ms)</th>\
         <th>duration (ms)</th><th>details</th></tr>",
    );
    for (depth, span) in rows(trace) {
        let _ = write!(
            out,
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            "\u{a0}\u{a0}".repeat(depth),
            esc(&span.name),
            esc(&span.service),
            trim((span.start - start) * 1000.0),
            trim(span.duration() * 1000.0),
            esc(&detail(span))
        );
    }
    out.push_str("</table>");
    out
}
